import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DIST, spawnNode } from './harness.ts';

const FACTS = resolve(import.meta.dirname, '../fixtures/facts');
const env = { PATH: process.env.PATH, HOME: process.env.HOME };

async function record(version: string, baseVersion: string, facts: string): Promise<Record<string, unknown>> {
  const document = JSON.parse(await readFile(join(FACTS, facts), 'utf8')) as { inventory: unknown };
  return {
    schemaVersion: 1,
    kind: 'w365-image-record',
    displayName: 'Win11 Corp',
    version,
    deviceImageId: null,
    sourceImageId: null,
    outcome: 'ready',
    createdAt: '2026-11-12T03:00:00Z',
    toolVersion: '0.1.0',
    base: {
      publisher: 'MicrosoftWindowsDesktop',
      offer: 'windows-ent-cpc',
      sku: 'win11-25h2-ent-cpc',
      version: baseVersion,
    },
    templateDigest: 'sha256:00',
    inventory: document.inventory,
    runUrl: null,
  };
}

describe('w365-image diff OLD NEW (dist/index.js)', () => {
  it('compares two facts files', async () => {
    const run = await spawnNode(
      [DIST, 'diff', join(FACTS, 'clean-win11-25h2.json'), join(FACTS, 'clean-win11-25h2-next-month.json')],
      env,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('| updated | Windows build \\(UBR\\) | 26200.7171 | 26200.7462 |');
    expect(run.stdout).toContain('| update installed | KB5068861 |');
    expect(run.stdout).toContain('| update gone | KB5066835 |');
    expect(run.stdout).toContain('| app added | Microsoft.OutlookForWindows |');
  });

  it('compares a report with a record, base version included, as JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'w365-diff-'));
    const old = join(dir, 'report.json');
    const now = join(dir, 'record.json');
    await writeFile(
      old,
      JSON.stringify({
        tool: { name: 'w365-image' },
        outcome: 'ready',
        record: await record('1.0.1', '26200.6899.251014', 'clean-win11-25h2.json'),
      }),
    );
    await writeFile(now, JSON.stringify(await record('1.0.2', '26200.7462.251111', 'clean-win11-25h2.json')));
    const run = await spawnNode([DIST, 'diff', old, now, '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    const diff = JSON.parse(run.stdout) as { base: unknown; total: number; build: unknown };
    expect(diff.base).toEqual({
      name: 'Base',
      from: 'win11-25h2-ent-cpc 26200.6899.251014',
      to: 'win11-25h2-ent-cpc 26200.7462.251111',
    });
    expect(diff.build).toBeNull();
    expect(diff.total).toBe(1);
  });

  it('refuses a file that is no report, record or facts, and a report without a record', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'w365-diff-'));
    const other = join(dir, 'other.json');
    const failedReport = join(dir, 'failed.json');
    await writeFile(other, '{"hello": 1}');
    await writeFile(failedReport, JSON.stringify({ tool: {}, outcome: 'invalid', record: null }));
    const facts = join(FACTS, 'clean-win11-25h2.json');
    const bad = await spawnNode([DIST, 'diff', other, facts], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('is not a w365-image report, record or facts file');
    const noRecord = await spawnNode([DIST, 'diff', failedReport, facts], env);
    expect(noRecord.code).toBe(2);
    expect(noRecord.stderr).toContain('without an image record');
    const usage = await spawnNode([DIST, 'diff', facts], env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('Usage: w365-image diff OLD NEW');
  });
});
