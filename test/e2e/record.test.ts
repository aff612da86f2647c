import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeGitHub, TOKEN, type FakeGitHub } from '../../fake-cloud/github-api.ts';
import type { FakeCloud } from '../../fake-cloud/index.ts';
import { creates, fakeInputs, runAction, SCALE, useFakeCloud } from './harness.ts';

const FAKE_PACKER = resolve(import.meta.dirname, '../fixtures/packer');
const FACTS = resolve(import.meta.dirname, '../fixtures/facts');
const DISPLAY_NAME = 'Win11 25H2 Corporate';
const cloud = useFakeCloud();
let github: FakeGitHub | undefined;

afterEach(async () => {
  await github?.close();
  github = undefined;
});

/** One monthly run: its own managed image name, version and workflow run, on main. */
async function monthlyRun(fake: FakeCloud, gh: FakeGitHub, run: number, facts: string, argsLog: string) {
  const name = `win11-cpc-${run}`;
  fake.addManagedImage({ resourceGroup: 'cloudpc-images', name });
  return runAction(
    fake,
    {
      ...fakeInputs(fake),
      'subscription-id': fake.subscriptionId,
      build: 'true',
      'display-name': DISPLAY_NAME,
      version: `1.0.${run}`,
      'skip-if-unchanged': 'true',
      'github-token': TOKEN,
      'packer-vars': `image_sku=win11-25h2-ent-cpc\nlocation=westeurope\nmanaged_image_name=${name}\nmanaged_image_resource_group_name=cloudpc-images`,
    },
    {
      timeScale: SCALE,
      env: {
        PATH: `${FAKE_PACKER}${delimiter}${process.env.PATH}`,
        FAKE_PACKER_FACTS: join(FACTS, facts),
        FAKE_PACKER_ARGS_LOG: argsLog,
        GITHUB_REPOSITORY: 'octo/images',
        GITHUB_API_URL: gh.url,
        GITHUB_REF_NAME: 'main',
        GITHUB_RUN_ID: String(1000 + run),
        ACTIONS_RESULTS_URL: `${gh.url}/`,
        ACTIONS_RUNTIME_TOKEN: gh.artifacts.runtimeToken(1000 + run, 'main'),
      },
    },
  );
}

async function builds(argsLog: string): Promise<number> {
  if (!(await stat(argsLog).catch(() => undefined))) return 0;
  return (await readFile(argsLog, 'utf8'))
    .trim()
    .split('\n')
    .filter((l) => (JSON.parse(l) as string[])[0] === 'build').length;
}

describe('monthly rebuilds that know what they build (dist/index.js)', () => {
  it('first run records, an unchanged base is up to date, a moved base builds and shows the new UBR', async () => {
    const fake = await cloud();
    github = await startFakeGitHub('octo', 'images');
    const argsLog = join(await mkdtemp(join(tmpdir(), 'w365-args-')), 'args');

    // The first run ever: built, registered and recorded; nothing to compare with, said plainly.
    const first = await monthlyRun(fake, github, 1, 'clean-win11-25h2.json', argsLog);
    expect(first.code, first.stdout).toBe(0);
    expect(first.outputs.status).toBe('ready');
    expect(first.outputs.changed).toBe('true');
    expect(first.outputs['record-artifact']).toBe('w365-image-record-win11-25h2-corporate');
    expect(first.report?.diff).toBeNull();
    expect(first.report?.freshness?.reason).toContain('no ready device image');
    expect(first.summary).toContain('No previous record of this display name');
    expect(github.artifacts.artifacts).toHaveLength(1);
    expect(first.report?.record).toMatchObject({
      displayName: DISPLAY_NAME,
      base: { sku: 'win11-25h2-ent-cpc', version: '26200.6899.251014' },
      inventory: { ubr: 7171 },
    });
    expect(first.report?.record?.templateDigest).toMatch(/^sha256:/);
    expect(await builds(argsLog)).toBe(1);

    // Next day, Microsoft has not published a new base: nothing is built or uploaded.
    const second = await monthlyRun(fake, github, 2, 'clean-win11-25h2.json', argsLog);
    expect(second.code, second.stdout).toBe(0);
    expect(second.outputs.status).toBe('up-to-date');
    expect(second.outputs.changed).toBe('false');
    expect(second.outputs['base-image-version']).toBe('26200.6899.251014');
    expect(await builds(argsLog)).toBe(1);
    expect(creates(fake)).toHaveLength(1);
    expect(second.summary).toContain('Base not refreshed yet');
    expect(second.summary).toContain('| Template digest |');
    expect(second.report?.freshness?.compared.every((c) => c.same)).toBe(true);
    expect(github.artifacts.artifacts).toHaveLength(1);

    // The base moved: built again, and the summary says what changed.
    fake.addMarketplaceImage({
      publisher: 'MicrosoftWindowsDesktop',
      offer: 'windows-ent-cpc',
      sku: 'win11-25h2-ent-cpc',
      version: '26200.7462.251111',
    });
    const third = await monthlyRun(fake, github, 3, 'clean-win11-25h2-next-month.json', argsLog);
    expect(third.code, third.stdout).toBe(0);
    expect(third.outputs.status).toBe('ready');
    expect(third.outputs.changed).toBe('true');
    expect(third.report?.freshness?.reason).toContain('base image');
    expect(await builds(argsLog)).toBe(2);
    const diff = third.report?.diff;
    expect(diff?.build).toEqual({ name: 'Windows build (UBR)', from: '26200.7171', to: '26200.7462' });
    expect(diff?.base).toMatchObject({ to: 'win11-25h2-ent-cpc 26200.7462.251111' });
    expect(diff?.updates.added).toEqual(['KB5067036', 'KB5068861']);
    expect(diff?.appx.added).toEqual([{ name: 'Microsoft.OutlookForWindows', version: '1.2025.1022.100' }]);
    expect(diff?.components).toContainEqual({
      name: 'Microsoft Edge',
      from: '141.0.3537.71',
      to: '142.0.3595.53',
    });
    expect(third.summary).toContain('| updated | Windows build \\(UBR\\) | 26200.7171 | 26200.7462 |');
    expect(third.summary).toContain('Changes since 1.0.1');
    expect(github.artifacts.artifacts).toHaveLength(2);
  });

  it('a record from another branch is not used', async () => {
    const fake = await cloud();
    github = await startFakeGitHub('octo', 'images');
    const argsLog = join(await mkdtemp(join(tmpdir(), 'w365-args-')), 'args');
    const first = await monthlyRun(fake, github, 1, 'clean-win11-25h2.json', argsLog);
    expect(first.code, first.stdout).toBe(0);
    for (const artifact of github.artifacts.artifacts) artifact.branch = 'feature/x';
    const second = await monthlyRun(fake, github, 2, 'clean-win11-25h2.json', argsLog);
    expect(second.outputs.status).toBe('ready');
    expect(second.report?.previousRecordNote).toContain('from branch main');
    expect(await builds(argsLog)).toBe(2);
  });

  it('stops before building when it cannot compare with the newest ready image', async () => {
    const fake = await cloud();
    github = await startFakeGitHub('octo', 'images');
    const argsLog = join(await mkdtemp(join(tmpdir(), 'w365-args-')), 'args');
    fake.inject({ kind: 'status', status: 503, service: 'graph', path: '/deviceImages', count: 50 });
    const run = await monthlyRun(fake, github, 1, 'clean-win11-25h2.json', argsLog);
    expect(run.code).toBe(1);
    expect(run.report?.error?.kind).toBe('freshness:unavailable');
    expect(run.report?.message).toContain('Nothing was built.');
    expect(await builds(argsLog)).toBe(0);
  });
});
