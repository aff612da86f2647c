import { delimiter, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeCloud, type FakeCloud } from '../../fake-cloud/index.ts';
import { DIST, spawnNode } from './harness.ts';

const FAKE_AZ = resolve(import.meta.dirname, '../../fake-cloud/bin');
let fake: FakeCloud | undefined;

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const baseEnv = { PATH: process.env.PATH, HOME: process.env.HOME };

/** The CLI against the fake, signed in through the fake Azure CLI, with the fake's scaled clock. */
function cliAgainstFake(cloud: FakeCloud, imageId: string, report: string, extra: string[] = []) {
  return spawnNode(
    [
      DIST,
      '--image-id',
      imageId,
      '--version',
      '1.0.0',
      ...extra,
      '--arm-endpoint',
      cloud.url,
      '--graph-endpoint',
      cloud.url,
      '--report-path',
      resolve(import.meta.dirname, '../../.tmp', report),
    ],
    {
      ...baseEnv,
      PATH: `${FAKE_AZ}${delimiter}${process.env.PATH}`,
      NODE_EXTRA_CA_CERTS: cloud.caFile,
      W365_FAKE_CLOUD_URL: cloud.url,
      W365_IMAGE_TIME_SCALE: '60',
    },
  );
}

describe('the CLI (dist/index.js with flags)', () => {
  it('prints help with every option and exits 0', async () => {
    const run = await spawnNode([DIST, '--help'], baseEnv);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('--image-id');
    expect(run.stdout).toContain('--wait-timeout-minutes');
  });

  it('prints the usage and exits 2 when given no arguments', async () => {
    const run = await spawnNode([DIST], baseEnv);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Usage: w365-image --image-id <resource-id> [options]');
    expect(run.stderr).not.toContain('error:');
  });

  it('takes --dry-run without a value and repeated --provisioning-policies, changing nothing', async () => {
    fake = await startFakeCloud({ timeScale: 60, uploadSeconds: 60 });
    const image = fake.addManagedImage({ resourceGroup: 'images', name: 'img' });
    const sales = fake.addProvisioningPolicy({
      displayName: 'Sales',
      imageId: 'gallery-1',
      imageType: 'gallery',
    });
    const finance = fake.addProvisioningPolicy({
      displayName: 'Finance',
      imageId: 'gallery-1',
      imageType: 'gallery',
    });
    const run = await cliAgainstFake(fake, image.id, 'cli-dry-run-report.json', [
      '--dry-run',
      '--provisioning-policies',
      'Sales',
      '--provisioning-policies',
      'Finance',
    ]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('status=dry-run');
    const updated = /^updated-policies=(.*)$/m.exec(run.stdout)?.[1] ?? '[]';
    expect((JSON.parse(updated) as string[]).sort()).toEqual([sales.id, finance.id].sort());
    const writes = fake.requests.filter((r) => r.service === 'graph' && r.method !== 'GET');
    expect(writes).toEqual([]);
  });

  it('exits 2 on an unknown option, naming it', async () => {
    const run = await spawnNode([DIST, '--imag-id', 'x'], baseEnv);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Unknown option --imag-id');
  });

  it('exits 2 on a bad input value, naming the flag', async () => {
    const run = await spawnNode([DIST, '--image-id', '/x', '--version', 'one'], baseEnv);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--version: 'one' is not Major.Minor.Patch.");
  });

  it('registers with the logged-in Azure CLI by default in a terminal', async () => {
    fake = await startFakeCloud({ timeScale: 60, uploadSeconds: 60 });
    const image = fake.addManagedImage({ resourceGroup: 'images', name: 'img' });
    const run = await cliAgainstFake(fake, image.id, 'cli-report.json');
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('status=ready');
    expect(run.stdout).not.toContain('::');
    expect(fake.counters.azTokens).toBeGreaterThanOrEqual(2);
    expect(fake.counters.idTokens).toBe(0);
  });

  it('explains a missing az login', async () => {
    fake = await startFakeCloud();
    const image = fake.addManagedImage({ resourceGroup: 'images', name: 'img' });
    const run = await spawnNode([DIST, '--image-id', image.id, '--arm-endpoint', fake.url], {
      ...baseEnv,
      PATH: `${FAKE_AZ}${delimiter}${process.env.PATH}`,
      NODE_EXTRA_CA_CERTS: fake.caFile,
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("run 'az login'");
  });
});

describe('the quick start (npm start)', () => {
  it('validates and registers the sample image against the built-in fake and prints the report', async () => {
    const run = await spawnNode([resolve(import.meta.dirname, '../../scripts/start.mjs')], baseEnv);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('using the local fake cloud');
    expect(run.stdout).toContain('with a simulated clock 60 times faster than real time');
    // After the report's durations, a line saying they are simulated and what the run really took.
    expect(run.stdout).toMatch(/\| Waited \| \d+m \d+s /);
    expect(run.stdout).toMatch(
      /Durations above are simulated \(the fake cloud's clock runs 60 times faster\); this run took \d+\.\d s of real time\.\n$/,
    );
    expect(run.stdout).toContain('## w365-image: ✅ Registered: ready in Windows 365');
    // The sample is a 25H2 image: Windows 365 reports its release label, shown as it is.
    expect(run.stdout).toContain('| OS | Windows 11 Enterprise 25H2 |');
    expect(run.stdout).toContain('status=ready');
  });
});
