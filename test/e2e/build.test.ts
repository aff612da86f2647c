import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FakeCloud, FakeCloudOptions } from '../../fake-cloud/index.ts';
import { fakeInputs, runAction, SCALE, useFakeCloud } from './harness.ts';

const FAKE_PACKER = resolve(import.meta.dirname, '../fixtures/packer');
const FACTS = resolve(import.meta.dirname, '../fixtures/facts');
const FAKE_AZ = resolve(import.meta.dirname, '../../fake-cloud/bin');
const cloud = useFakeCloud();

async function setup(facts: string, mode = 'ok', options: FakeCloudOptions = {}) {
  const fake = await cloud(options);
  // The image Packer "captures": the fake packer reports this ID in its manifest.
  const image = fake.addManagedImage({ resourceGroup: 'cloudpc-images', name: 'win11-cpc-17' });
  const marker = join(await mkdtemp(join(tmpdir(), 'w365-packer-')), 'marker');
  const env = {
    PATH: `${FAKE_PACKER}${delimiter}${process.env.PATH}`,
    FAKE_PACKER_FACTS: join(FACTS, facts),
    FAKE_PACKER_MODE: mode,
    FAKE_PACKER_MARKER: marker,
    GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'contoso/cloudpc-images',
    GITHUB_RUN_ID: '987654',
  };
  const inputs = {
    ...fakeInputs(fake),
    build: 'true',
    'subscription-id': fake.subscriptionId,
    'packer-vars':
      'managed_image_name=win11-cpc-17\nmanaged_image_resource_group_name=cloudpc-images\nlocation=westeurope',
    'display-name': 'Win11 Corp',
  };
  return { fake, image, env, inputs, marker };
}

/** The argument lists the fake packer was called with, one per call. */
async function packerCalls(argsLog: string): Promise<string[][]> {
  return (await readFile(argsLog, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as string[]);
}

/** Requests about images: the base image look-up before the build (Marketplace, gallery) is not one. */
const azureRequests = (f: FakeCloud) =>
  f.requests.filter(
    (r) =>
      (r.service === 'arm' || r.service === 'graph') &&
      !/\/artifacttypes\/vmimage\/|\/galleryImages$/i.test(r.path),
  );

describe('build -> check -> validate -> register', () => {
  it('builds a clean VM, checks it, validates and registers the image', async () => {
    const { fake, image, env, inputs } = await setup('clean-win11-25h2.json');
    const run = await runAction(fake, inputs, { timeScale: SCALE, env });
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs['image-id']).toBe(image.id);
    expect(run.outputs.status).toBe('ready');
    // One group per Packer command (GitHub does not nest groups), none of them empty.
    expect(run.stdout).toMatch(/^::group::packer init /m);
    expect(run.stdout).toMatch(/^::group::packer build /m);
    expect(run.stdout).not.toMatch(/^::group::.*\n::(?:end)?group::/m);
    // The template's hook ran the bundled sysprep-check on the runner before sysprep.
    expect(run.stdout).toContain('sysprep-check');
    expect(run.report?.build).toMatchObject({ mode: 'build', imageId: image.id, error: null });
    // The exact base version the VM booted from, from the facts (the instance metadata service), not "latest".
    expect(run.report?.build?.baseImage).toBe(
      'MicrosoftWindowsDesktop/windows-ent-cpc/win11-25h2-ent-cpc 26200.6899.251112',
    );
    expect(run.summary).toContain(
      '| Base image the VM booted (instance metadata) | MicrosoftWindowsDesktop/windows-ent-cpc/win11-25h2-ent-cpc 26200.6899.251112 |',
    );
    const ids = run.report?.checks.map((c) => c.id) ?? [];
    expect(ids).toContain('vm.not-joined');
    expect(ids).toContain('image.generation');
    expect(run.report?.checks.every((c) => c.status === 'pass' || c.status === 'skip')).toBe(true);
    expect(run.summary).toContain('### Build');
    expect(run.summary).toContain('| `vm.bitlocker-off` |');
    expect(run.report?.timings.buildSeconds).not.toBeNull();
    expect(fake.counters.deviceImageCreates).toBe(1);
  });

  it('passes provenance and OIDC to Packer, the token only through the environment', async () => {
    const { fake, env, inputs } = await setup('clean-win11-25h2.json');
    const argsLog = join(await mkdtemp(join(tmpdir(), 'w365-args-')), 'args');
    const run = await runAction(
      fake,
      { ...inputs, register: 'false' },
      { timeScale: SCALE, env: { ...env, FAKE_PACKER_ARGS_LOG: argsLog } },
    );
    expect(run.code, run.stdout).toBe(0);
    const calls = await packerCalls(argsLog);
    const buildArgs = calls.find((c) => c[0] === 'build') ?? [];
    expect(buildArgs).toContain('git_commit=0123456789abcdef0123456789abcdef01234567');
    expect(buildArgs).toContain('run_url=https://github.com/contoso/cloudpc-images/actions/runs/987654');
    expect(buildArgs).toContain(`oidc_request_url=${fake.oidcRequestUrl}`);
    // packer-vars values reach Packer but not the log.
    expect(buildArgs).toContain('managed_image_name=win11-cpc-17');
    expect(run.stdout).toContain('-var managed_image_name=…');
    expect(run.stdout).not.toContain('-var managed_image_name=win11-cpc-17');
    expect(buildArgs.join(' ')).not.toContain(fake.oidcRequestToken);
    // Only the runner's own ::add-mask:: command may carry it.
    expect(run.stdout.replace(/^::add-mask::.*$/gm, '')).not.toContain(fake.oidcRequestToken);
  });

  it.each([
    ['entra-joined.json', 'vm.not-joined', /AzureAdJoined/i],
    ['appx-per-user.json', 'vm.appx-provisioned', /Microsoft\.WidgetsPlatformRuntime/],
    ['bitlocker-on.json', 'vm.bitlocker-off', /C:/],
    ['recovery-partition.json', 'vm.no-recovery-partition', /partition/i],
  ])('%s fails the build before sysprep, naming the offending item', async (facts, ruleId, item) => {
    const { fake, env, inputs } = await setup(facts);
    const run = await runAction(fake, inputs, { timeScale: SCALE, env });
    expect(run.code).toBe(1);
    expect(run.outputs.status).toBe('error');
    expect(run.report?.build?.error).toBe('build-failed');
    const tail = run.report?.build?.outputTail.join('\n') ?? '';
    expect(tail).toContain(ruleId);
    expect(tail).toMatch(item);
    expect(run.stdout).not.toContain('Sysprep finished');
    expect(azureRequests(fake)).toHaveLength(0);
  });

  it('build: validate checks the template without touching Azure', async () => {
    const { fake, env, inputs } = await setup('clean-win11-25h2.json');
    // As in a fork's pull request: no identity inputs, no OIDC token.
    const anonymous: Record<string, string> = { ...inputs };
    for (const name of ['tenant-id', 'client-id', 'subscription-id']) delete anonymous[name];
    const run = await runAction(fake, { ...anonymous, build: 'validate' }, { env, withoutOidc: true });
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs.status).toBe('template-valid');
    // No image yet: the summary says so instead of showing empty code spans.
    expect(run.summary).toContain('**Managed image:** none (template checks only)');
    expect(run.summary).not.toContain('**Device image:**');
    expect(run.summary).not.toMatch(/(?<!`)``(?!`)/);
    expect(run.stdout).toContain('fmt');
    expect(fake.requests.filter((r) => r.service !== 'control')).toHaveLength(0);
  });

  it('template checks pass placeholders and CLI auth, never the identity', async () => {
    const { fake, env } = await setup('clean-win11-25h2.json');
    const argsLog = join(await mkdtemp(join(tmpdir(), 'w365-args-')), 'args');
    const run = await runAction(
      fake,
      { 'image-id': '', build: 'validate' },
      { env: { ...env, FAKE_PACKER_ARGS_LOG: argsLog }, withoutOidc: true },
    );
    expect(run.code, run.stdout).toBe(0);
    const calls = await packerCalls(argsLog);
    const validate = calls.find((c) => c[0] === 'validate') ?? [];
    expect(validate).toEqual(
      expect.arrayContaining([
        'managed_image_name=w365-template-check',
        'location=westeurope',
        'use_azure_cli_auth=true',
      ]),
    );
    expect(validate.join(' ')).not.toMatch(/tenant_id|client_id|subscription_id/);
  });

  it('passes the US Government cloud to Packer', async () => {
    const { fake, env, inputs } = await setup('clean-win11-25h2.json', 'ok', { cloud: 'usgov' });
    const argsLog = join(await mkdtemp(join(tmpdir(), 'w365-args-')), 'args');
    await runAction(
      fake,
      { ...inputs, 'azure-environment': 'usgov', register: 'false' },
      { env: { ...env, FAKE_PACKER_ARGS_LOG: argsLog } },
    );
    const calls = await packerCalls(argsLog);
    expect(calls.find((c) => c[0] === 'build')).toContain('cloud_environment_name=USGovernment');
  });

  it('stops when Packer built in another subscription than subscription-id', async () => {
    const { fake, env, inputs } = await setup('clean-win11-25h2.json');
    const other = '99999999-2222-4e5f-8a9b-0c1d2e3f4a5b';
    const run = await runAction(
      fake,
      { ...inputs, auth: 'azure-cli' },
      {
        env: {
          ...env,
          FAKE_PACKER_SUBSCRIPTION: other,
          // The base image is looked up with the signed-in Azure CLI before the build.
          PATH: `${FAKE_AZ}${delimiter}${env.PATH}`,
          W365_FAKE_CLOUD_URL: fake.url,
        },
      },
    );
    expect(run.code).toBe(1);
    expect(run.report?.error?.kind).toBe('build:subscription-mismatch');
    expect(run.report?.error?.message).toContain('az account set --subscription');
    expect(fake.counters.deviceImageCreates).toBe(0);
  });

  it('reports Packer failure text', async () => {
    const { fake, env, inputs } = await setup('clean-win11-25h2.json', 'build-error');
    const run = await runAction(fake, inputs, { env });
    expect(run.code).toBe(1);
    expect(run.report?.error?.kind).toBe('build:build-failed');
    expect(run.report?.error?.message).toContain('msiexec.exe exited with 1603');
    expect(run.summary).toContain('msiexec.exe exited with 1603');
  });

  it.each([
    ['hang', 'a single process'],
    ['hang-wrapped', 'a wrapper that ignores SIGINT, as the real binary is'],
  ])(
    'a cancelled job interrupts Packer (%s: %s), which cleans up, and the action reports it',
    async (mode) => {
      const { fake, env, inputs, marker } = await setup('clean-win11-25h2.json', mode);
      const run = await runAction(fake, inputs, {
        env,
        interruptWhenOutput: 'Waiting for WinRM to become available',
      });
      expect(run.code).not.toBe(0);
      expect(run.outputs.status).toBe('cancelled');
      // The Packer process that does the work got the interrupt (not only the wrapper).
      expect((await readFile(marker, 'utf8')).split('\n')).toContain('SIGINT');
      expect(run.stdout).toContain('Deleting resource group');
      expect(run.report?.outcome).toBe('cancelled');
      expect(fake.counters.deviceImageCreates).toBe(0);
    },
  );

  it('explains a missing packer binary', async () => {
    const { fake, env, inputs } = await setup('clean-win11-25h2.json');
    const run = await runAction(fake, inputs, { env: { ...env, PATH: process.env.PATH } });
    expect(run.code).toBe(1);
    expect(run.report?.error?.kind).toBe('build:packer-missing');
    expect(run.stdout).toContain('hashicorp/setup-packer');
  });
});

describe('build only when asked', () => {
  it('refuses an empty image-id without build: true, before Packer or Azure', async () => {
    const { fake, env, inputs } = await setup('clean-win11-25h2.json');
    const argsLog = join(await mkdtemp(join(tmpdir(), 'w365-args-')), 'args');
    const { build: _build, ...unset } = inputs;
    const run = await runAction(
      fake,
      { ...unset, 'image-id': '' },
      { env: { ...env, FAKE_PACKER_ARGS_LOG: argsLog } },
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("::error::Input 'image-id': is empty and build is not set.");
    expect(run.stdout).toContain('set build: true');
    expect(fake.requests.filter((r) => r.service !== 'control')).toHaveLength(0);
    // Packer was never started.
    await expect(readFile(argsLog, 'utf8')).rejects.toThrow();
  });
});

describe('dry run with build: validate', () => {
  const graphWrites = (f: FakeCloud) => f.requests.filter((r) => r.service === 'graph' && r.method !== 'GET');

  it('refuses a provisioning policy that does not exist', async () => {
    const { fake, env, inputs } = await setup('clean-win11-25h2.json');
    fake.addProvisioningPolicy({ displayName: 'Corp PCs', imageId: 'gallery-image', imageType: 'gallery' });
    const run = await runAction(
      fake,
      { ...inputs, build: 'validate', 'dry-run': 'true', 'provisioning-policies': 'No Such Policy' },
      { env, timeScale: SCALE },
    );
    expect(run.code).toBe(1);
    expect(run.outputs.status).toBe('error');
    expect(run.report?.error?.kind).toBe('policy-refs');
    expect(run.report?.error?.message).toContain('No Such Policy');
    expect(graphWrites(fake)).toHaveLength(0);
  });

  it('checks Graph access, the policies, the room and the retention plan, and says what it could not check', async () => {
    const { fake, env, inputs } = await setup('clean-win11-25h2.json');
    const policy = fake.addProvisioningPolicy({
      displayName: 'Corp PCs',
      imageId: 'gallery-image',
      imageType: 'gallery',
    });
    for (let i = 1; i <= 4; i++) fake.addDeviceImage({ displayName: 'Win11 Corp', version: `1.0.${i}` });
    const run = await runAction(
      fake,
      {
        ...inputs,
        build: 'validate',
        'dry-run': 'true',
        'provisioning-policies': 'Corp PCs',
        'keep-images': '2',
      },
      { env, timeScale: SCALE },
    );
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs.status).toBe('dry-run');
    expect(run.report?.rollout?.updatedPolicies).toEqual([policy.id]);
    // Keeping 2 with the new image counted as the newest: 1.0.1, 1.0.2 and 1.0.3 would go.
    expect(run.report?.rollout?.deletedImages).toHaveLength(3);
    expect(run.summary).toContain('Not checked in this dry run');
    expect(run.summary).toContain('image.windows365-can-read');
    expect(run.summary).toContain('build: validate builds no image');
    expect(fake.requests.some((r) => r.service === 'graph' && r.path.endsWith('/provisioningPolicies'))).toBe(
      true,
    );
    expect(graphWrites(fake)).toHaveLength(0);
    expect(fake.requests.filter((r) => r.service === 'arm')).toHaveLength(0);
  });
});
