import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fakeInputs, runAction, SCALE, useFakeCloud } from './harness.ts';

const FAKE_PACKER = resolve(import.meta.dirname, '../fixtures/packer');
const FACTS = resolve(import.meta.dirname, '../fixtures/facts');
const cloud = useFakeCloud();

async function setup(packerVars: string) {
  const fake = await cloud();
  fake.addManagedImage({ resourceGroup: 'cloudpc-images', name: 'win11-cpc-17' });
  const argsLog = join(await mkdtemp(join(tmpdir(), 'w365-args-')), 'args');
  const env = {
    PATH: `${FAKE_PACKER}${delimiter}${process.env.PATH}`,
    FAKE_PACKER_FACTS: join(FACTS, 'clean-win11-25h2.json'),
    FAKE_PACKER_ARGS_LOG: argsLog,
  };
  const inputs = {
    ...fakeInputs(fake),
    'subscription-id': fake.subscriptionId,
    build: 'true',
    register: 'false',
    'packer-vars': `managed_image_name=win11-cpc-17\nmanaged_image_resource_group_name=cloudpc-images\n${packerVars}`,
  };
  const packerCalls = async () =>
    (await stat(argsLog).catch(() => undefined))
      ? (await readFile(argsLog, 'utf8'))
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as string[])
      : [];
  return { fake, env, inputs, packerCalls };
}

describe('the base image is resolved before Packer runs', () => {
  it('refuses an unknown SKU before any Packer call, listing the SKUs that exist', async () => {
    const { fake, env, inputs, packerCalls } = await setup(
      'image_sku=win11-23h2-ent-cpc\nlocation=westeurope',
    );
    const run = await runAction(fake, inputs, { timeScale: SCALE, env });
    expect(run.code).toBe(1);
    expect(run.outputs.status).toBe('invalid');
    expect(await packerCalls()).toEqual([]);
    const sku = run.report?.checks.find((c) => c.id === 'base.sku');
    expect(sku?.status).toBe('fail');
    expect(sku?.detail).toContain('win11-25h2-ent-cpc-m365');
    expect(run.report?.message).toContain("SKU 'win11-23h2-ent-cpc'");
    expect(run.summary).toContain('win11-24h2-ent-cpc');
    expect(fake.counters.marketplaceReads).toBeGreaterThan(0);
    expect(run.outputs['base-image-version']).toBe('');
  });

  it('refuses a multi-session SKU, listing the single-session SKUs there are', async () => {
    const { fake, env, inputs, packerCalls } = await setup('image_sku=win11-25h2-avd\nlocation=westeurope');
    const run = await runAction(fake, inputs, { timeScale: SCALE, env });
    expect(run.code).toBe(1);
    const offer = run.report?.checks.find((c) => c.id === 'base.offer');
    expect(offer?.status).toBe('fail');
    expect(offer?.detail).toContain('SKUs of windows-ent-cpc in westeurope: win11-24h2-ent-cpc,');
    expect(run.report?.checks.map((c) => c.id)).toEqual(['base.offer']);
    expect(await packerCalls()).toEqual([]);
  });

  it('refuses a Gen1 SKU', async () => {
    const { fake, env, inputs, packerCalls } = await setup(
      'image_sku=win10-22h2-ent-cpc\nlocation=westeurope',
    );
    fake.addMarketplaceImage({
      publisher: 'MicrosoftWindowsDesktop',
      offer: 'windows-ent-cpc',
      sku: 'win10-22h2-ent-cpc',
      version: '19045.6332.250910',
      hyperVGeneration: 'V1',
    });
    const run = await runAction(fake, inputs, { timeScale: SCALE, env });
    expect(run.code).toBe(1);
    const generation = run.report?.checks.find((c) => c.id === 'base.generation');
    expect(generation?.status).toBe('fail');
    expect(generation?.detail).toContain('V1');
    expect(await packerCalls()).toEqual([]);
  });

  it('pins the newest exact version for Packer and reports it', async () => {
    const { fake, env, inputs, packerCalls } = await setup(
      'image_sku=win11-25h2-ent-cpc\nlocation=westeurope',
    );
    const run = await runAction(fake, inputs, { timeScale: SCALE, env });
    expect(run.code, run.stdout).toBe(0);
    const build = (await packerCalls()).find((c) => c[0] === 'build') ?? [];
    expect(build).toContain('image_version=26200.6899.251014');
    expect(build.join(' ')).not.toContain('image_version=latest');
    expect(run.outputs['base-image-version']).toBe('26200.6899.251014');
    expect(run.report?.base).toMatchObject({
      sku: 'win11-25h2-ent-cpc',
      version: '26200.6899.251014',
      requested: 'latest',
      hyperVGeneration: 'V2',
      gallery: { id: 'MicrosoftWindowsDesktop_windows-ent-cpc_win11-25h2-ent-cpc' },
    });
    expect(run.summary).toContain('26200.6899.251014');
  });

  it('resolves the -m365 twin and the location of build_resource_group_name', async () => {
    const { fake, env, inputs, packerCalls } = await setup(
      'image_sku=win11-24h2-ent-cpc\nuse_m365_sku=true\nbuild_resource_group_name=build-rg',
    );
    fake.addResourceGroup('build-rg');
    const run = await runAction(fake, inputs, { timeScale: SCALE, env });
    expect(run.code, run.stdout).toBe(0);
    expect(run.report?.base).toMatchObject({ sku: 'win11-24h2-ent-cpc-m365', location: 'westeurope' });
    expect((await packerCalls()).find((c) => c[0] === 'build')).toContain('image_version=26100.6584.250910');
  });

  it('warns near the gallery end date and fails past the expiration date', async () => {
    const near = await setup('image_sku=win11-24h2-ent-cpc\nlocation=westeurope');
    const today = new Date().toISOString().slice(0, 10);
    near.fake.addGalleryImage({
      publisherName: 'MicrosoftWindowsDesktop',
      offerName: 'windows-ent-cpc',
      skuName: 'win11-24h2-ent-cpc',
      endDate: today,
      expirationDate: '2099-01-01',
    });
    const warned = await runAction(near.fake, near.inputs, { timeScale: SCALE, env: near.env });
    expect(warned.code, warned.stdout).toBe(0);
    expect(warned.report?.checks.find((c) => c.id === 'base.support')?.status).toBe('warn');

    near.fake.addGalleryImage({
      publisherName: 'MicrosoftWindowsDesktop',
      offerName: 'windows-ent-cpc',
      skuName: 'win11-24h2-ent-cpc',
      endDate: '2020-01-01',
      expirationDate: '2020-06-01',
    });
    const calls = (await near.packerCalls()).length;
    const failed = await runAction(near.fake, near.inputs, { timeScale: SCALE, env: near.env });
    expect(failed.code).toBe(1);
    expect(failed.report?.checks.find((c) => c.id === 'base.support')?.status).toBe('fail');
    expect((await near.packerCalls()).length).toBe(calls);
  });

  it('honours a pinned version and refuses one ARM does not offer', async () => {
    const pinned = await setup(
      'image_sku=win11-25h2-ent-cpc\nlocation=westeurope\nimage_version=26200.6584.250910',
    );
    const ok = await runAction(pinned.fake, pinned.inputs, { timeScale: SCALE, env: pinned.env });
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.report?.base).toMatchObject({ version: '26200.6584.250910', requested: '26200.6584.250910' });
    expect(ok.stdout).not.toContain("packer-vars sets 'image_version'");

    const gone = await setup(
      'image_sku=win11-25h2-ent-cpc\nlocation=westeurope\nimage_version=26200.1.240101',
    );
    const refused = await runAction(gone.fake, gone.inputs, { timeScale: SCALE, env: gone.env });
    expect(refused.code).toBe(1);
    expect(refused.report?.checks.find((c) => c.id === 'base.version')?.detail).toContain(
      '26200.6899.251014',
    );
    expect(await gone.packerCalls()).toEqual([]);
  });

  it('waits out ARM throttling on the Marketplace list', async () => {
    const { fake, env, inputs } = await setup('image_sku=win11-25h2-ent-cpc\nlocation=westeurope');
    fake.inject({
      kind: 'status',
      status: 429,
      retryAfterSeconds: 1,
      service: 'arm',
      path: '/skus',
      count: 1,
    });
    const run = await runAction(fake, inputs, { timeScale: SCALE, env });
    expect(run.code, run.stdout).toBe(0);
    expect(fake.counters.faultsApplied).toBe(1);
    expect(run.outputs['base-image-version']).toBe('26200.6899.251014');
  });

  it("stops before Packer with ARM's answer when the base cannot be looked up", async () => {
    const { fake, env, inputs, packerCalls } = await setup(
      'image_sku=win11-25h2-ent-cpc\nlocation=westeurope',
    );
    const run = await runAction(
      fake,
      { ...inputs, 'subscription-id': '99999999-2222-4e5f-8a9b-0c1d2e3f4a5b' },
      { timeScale: SCALE, env },
    );
    expect(run.code).toBe(1);
    expect(run.outputs.status).toBe('error');
    expect(run.report?.error?.kind).toBe('base:unresolved');
    expect(run.report?.message).toContain(
      "The subscription '99999999-2222-4e5f-8a9b-0c1d2e3f4a5b' could not be found",
    );
    expect(run.report?.message).toContain('Nothing was built.');
    expect(await packerCalls()).toEqual([]);
  });

  it('a cancel while the Marketplace lookup hangs ends the run as cancelled, before Packer', async () => {
    const { fake, env, inputs, packerCalls } = await setup(
      'image_sku=win11-25h2-ent-cpc\nlocation=westeurope',
    );
    fake.inject({ kind: 'hang', service: 'arm', count: 100 });
    const run = await runAction(fake, inputs, {
      timeScale: SCALE,
      env,
      interruptWhen: (f) => f.requests.some((r) => r.injected === 'hang'),
    });
    expect(run.code).toBe(1);
    expect(run.outputs.status).toBe('cancelled');
    expect(run.report?.error?.kind).toBe('cancelled');
    expect(await packerCalls()).toEqual([]);
  });
});
