import { describe, expect, it } from 'vitest';
import type { Inventory } from '../../src/check/inventory.ts';
import { readInventory } from '../../src/check/inventory.ts';
import { renderComment } from '../../src/report/prComment.ts';
import { diffImages } from '../../src/record/diff.ts';
import { recordArtifactName } from '../../src/record/record.ts';
import { renderSummary } from '../../src/report/summary.ts';
import { recordStoreTarget } from '../../src/record/store.ts';
import { sampleReport } from '../report/sampleReport.ts';

function inventory(overrides: Partial<Inventory> = {}): Inventory {
  return {
    currentBuild: 26200,
    ubr: 7171,
    programs: [],
    appx: [],
    updates: [],
    components: {
      edge: '141.0.3537.71',
      webView2: null,
      teams: null,
      m365Apps: null,
      m365AppsChannel: null,
      oneDrive: null,
      defenderPlatform: null,
      defenderEngine: null,
      webRtcRedirector: null,
      vcRedist: [],
    },
    ...overrides,
  };
}

describe('diffImages', () => {
  it('finds added, removed and updated programs per uninstall view', () => {
    const before = inventory({
      programs: [
        { name: 'Tool', version: '1.0', publisher: null, view: '64-bit' },
        { name: 'Tool', version: '1.0', publisher: null, view: '32-bit' },
        { name: 'Old', version: '2.0', publisher: null, view: '64-bit' },
      ],
    });
    const after = inventory({
      programs: [
        { name: 'Tool', version: '1.1', publisher: null, view: '64-bit' },
        { name: 'Tool', version: '1.0', publisher: null, view: '32-bit' },
        { name: 'New', version: '3.0', publisher: null, view: '64-bit' },
      ],
    });
    const diff = diffImages(
      { label: 'a', base: null, inventory: before },
      { label: 'b', base: null, inventory: after },
    );
    expect(diff.programs).toEqual({
      added: [{ name: 'New', version: '3.0' }],
      removed: [{ name: 'Old', version: '2.0' }],
      updated: [{ name: 'Tool', from: '1.0', to: '1.1' }],
    });
    expect(diff.total).toBe(3);
  });

  it('says plainly when a side has no inventory', () => {
    const diff = diffImages(
      { label: '1.0.1', base: null, inventory: null },
      { label: '1.0.2', base: null, inventory: inventory() },
    );
    expect(diff.total).toBe(0);
    expect(diff.notes[0]).toContain('No software inventory in 1.0.1');
  });
});

describe('the inventory from the VM is untrusted', () => {
  it('keeps names single-line and bounded, and escapes markdown in the comment', () => {
    const read = readInventory({
      inventory: {
        currentBuild: 26200,
        ubr: 7462,
        programs: [
          { name: `Evil\n| [x](https://evil) @team <img>${'a'.repeat(500)}`, version: '1', view: '64-bit' },
        ],
        appx: [],
        updates: [],
        components: {},
        error: null,
      },
    });
    expect(read.ok).toBe(true);
    const name = read.ok ? (read.inventory.programs[0]?.name ?? '') : '';
    expect(name).not.toContain('\n');
    expect(name.length).toBeLessThanOrEqual(200);
    const diff = diffImages(
      { label: '1.0.1', base: null, inventory: inventory() },
      { label: '1.0.2', base: null, inventory: read.ok ? read.inventory : null },
    );
    const report = sampleReport({ outcome: 'ready', record: null, diff });
    report.record = {
      schemaVersion: 1,
      kind: 'w365-image-record',
      displayName: 'Win11 Corporate',
      version: '1.0.2',
      deviceImageId: null,
      sourceImageId: null,
      outcome: 'ready',
      createdAt: '',
      toolVersion: '0.1.0',
      base: null,
      templateDigest: null,
      inventory: null,
      runUrl: null,
    };
    const comment = renderComment(report);
    const row = comment.split('\n').find((l) => l.includes('program added')) ?? '';
    expect(row).toContain('\\| \\[x\\]\\(https://evil\\) @\u200bteam \\<img\\>');
    expect(row.split(/(?<!\\)\|/).length).toBe(6);
  });

  it('folds a long diff into a details block in the pull-request comment only', () => {
    const many = inventory({
      programs: Array.from({ length: 20 }, (_, i) => ({
        name: `App ${i}`,
        version: '1',
        publisher: null,
        view: '64-bit' as const,
      })),
    });
    const diff = diffImages(
      { label: '1.0.1', base: null, inventory: inventory() },
      { label: '1.0.2', base: null, inventory: many },
    );
    const report = sampleReport({ outcome: 'ready', diff });
    report.record = { ...(report.record ?? {}), displayName: 'x' } as NonNullable<typeof report.record>;
    expect(renderComment(report)).toContain('<details><summary>20 changes</summary>');
    expect(renderSummary(report)).not.toContain('<details><summary>20 changes</summary>');
    expect(renderSummary(report)).toContain('| program added | App 19 | — | 1 |');
  });
});

describe('recordArtifactName', () => {
  it('keeps only the characters artifact names allow', () => {
    expect(recordArtifactName('Win11 25H2: "Corp" / M365')).toBe('w365-image-record-win11-25h2-corp-m365');
    expect(recordArtifactName('***')).toBe('w365-image-record-image');
  });
});

describe('recordStoreTarget', () => {
  it("compares a pull request's build with its own branch's records, a push with its branch's", () => {
    const base = { GITHUB_REPOSITORY: 'octo/images', RUNNER_TEMP: '/tmp' };
    expect(
      recordStoreTarget({ ...base, GITHUB_REF_NAME: '12/merge', GITHUB_HEAD_REF: 'feature/x' }, 't'),
    ).toMatchObject({ branch: 'feature/x', owner: 'octo', repo: 'images', token: 't' });
    expect(recordStoreTarget({ ...base, GITHUB_REF_NAME: 'main', GITHUB_HEAD_REF: '' }, 't')).toMatchObject({
      branch: 'main',
    });
    expect(recordStoreTarget({ ...base }, '')).toEqual({
      reason: expect.stringContaining('no GitHub token'),
    });
    expect(recordStoreTarget({}, 't')).toEqual({ reason: expect.stringContaining('GITHUB_REPOSITORY') });
  });
});
