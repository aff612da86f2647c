import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceImage } from '../../src/graph/deviceImages.ts';
import { registerImage } from '../../src/register/register.ts';
import { loadPolicies, repointPolicies } from '../../src/rollout/policies.ts';
import { freeSlotIfFull, planPrune, prune } from '../../src/rollout/retention.ts';
import { completeRollout } from '../../src/rollout/complete.ts';
import { listDeviceImages } from '../../src/graph/deviceImages.ts';
import { listProvisioningPolicies } from '../../src/graph/provisioningPolicies.ts';
import { federatedCredential } from '../fake-cloud/support.ts';
import { imageId, seedFullTenant, startEnv, summary, type Env } from './support.ts';

const REFS = ['Sales', 'Engineering'];
const KEEP = 3;
const TIMEOUT = 30 * 60_000;

let env: Env;
afterEach(async () => env.fake.close());

/** The whole rollout as the pipeline runs it: policies checked, a slot freed, upload, then the post-ready steps. */
async function fullRollout(source: string) {
  const { graph, clock, log } = env;
  await loadPolicies(graph, REFS);
  const slot = await freeSlotIfFull({ displayName: 'Corp', version: '1.0.5', keep: KEEP }, { graph, log });
  if (slot.status === 'full') throw new Error('tenant full');
  const registration = await registerImage(
    { displayName: 'Corp', version: '1.0.5', sourceImageResourceId: source, timeoutMs: TIMEOUT },
    { graph, clock, log },
  );
  expect(registration.outcome).toBe('ready');
  const result = await completeRollout(
    {
      deviceImageId: registration.deviceImage.id,
      displayName: 'Corp',
      policyRefs: REFS,
      keep: KEEP,
      deleteSourceImage: true,
      source: imageId(source),
      pollIntervalMs: 10,
    },
    { graph, images: () => env.images, log },
  );
  return { slot, registration, result };
}

/** The run up to a ready upload with the given policies repointed; the crash scenarios stop after it. */
async function registerAndRepoint(source: string, refs: string[]) {
  await freeSlotIfFull({ displayName: 'Corp', version: '1.0.5', keep: KEEP }, env);
  const reg = await registerImage(
    { displayName: 'Corp', version: '1.0.5', sourceImageResourceId: source, timeoutMs: TIMEOUT },
    env,
  );
  const { resolved } = await loadPolicies(env.graph, refs);
  await repointPolicies(resolved, reg.deviceImage.id, env);
  return reg;
}

const EXPECTED_IMAGES = [
  'Corp 1.0.1 ready',
  'Corp 1.0.3 ready',
  'Corp 1.0.4 ready',
  'Corp 1.0.5 ready',
  ...Array.from({ length: 15 }, (_, i) => `Team ${i} 2.0.0 ready`),
].sort();

function expectConverged() {
  const s = summary(env.fake);
  expect(s.deviceImages).toEqual(EXPECTED_IMAGES);
  expect(s.policies).toEqual({ Sales: 'Corp 1.0.5', Engineering: 'Corp 1.0.5', Legacy: 'Corp 1.0.1' });
  expect(s.managedImages).toEqual([]);
  // Each change happened exactly once across all runs: no duplicates.
  expect(env.fake.counters).toMatchObject({
    deviceImageCreates: 1,
    deviceImageDeletes: 2,
    policyPatches: 2,
    armDeletes: 1,
    reuploadCalls: 0,
  });
}

describe('the whole rollout against a full tenant', () => {
  it('frees a slot, uploads, repoints, prunes and deletes the source; a re-run changes nothing', async () => {
    env = await startEnv();
    const { source } = seedFullTenant(env);
    const { slot, result } = await fullRollout(source.id);
    expect(slot.status).toBe('freed');
    expect(result.repoint.policies.map((p) => [p.policyName, p.action])).toEqual([
      ['Sales', 'patched'],
      ['Engineering', 'patched'],
    ]);
    expect(result.prune.deleted.map((d) => `${d.image.version} ${d.outcome}`)).toEqual(['1.0.2 deleted']);
    expect(result.prune.kept.find((k) => k.image.version === '1.0.1')?.reason).toBe('in-use');
    expect(result.source).toEqual({ action: 'deleted', imageId: source.id });
    expectConverged();

    const again = await fullRollout(source.id);
    expect(again.slot.status).toBe('resume');
    expect(again.registration.created).toBe(false);
    expect(again.result.repoint.policies.map((p) => p.action)).toEqual(['unchanged', 'unchanged']);
    expect(again.result.prune.deleted).toEqual([]);
    expect(again.result.source).toEqual({ action: 'already-gone', imageId: source.id });
    expectConverged();
  });

  /** Each crash leaves the tenant as a killed run would; the re-run must finish the job. */
  const crashes: Array<[string, (seed: ReturnType<typeof seedFullTenant>) => Promise<void>]> = [
    ['before anything', async () => {}],
    [
      'after freeing the slot',
      async () => {
        await freeSlotIfFull({ displayName: 'Corp', version: '1.0.5', keep: KEEP }, env);
      },
    ],
    [
      'after the upload started',
      async ({ source }) => {
        await freeSlotIfFull({ displayName: 'Corp', version: '1.0.5', keep: KEEP }, env);
        await registerImage(
          { displayName: 'Corp', version: '1.0.5', sourceImageResourceId: source.id, timeoutMs: 0 },
          env,
        );
      },
    ],
    [
      'after repointing one of two policies',
      async ({ source }) => {
        await registerAndRepoint(source.id, ['Sales']);
      },
    ],
    [
      'after pruning, before deleting the source',
      async ({ source, corp }) => {
        const reg = await registerAndRepoint(source.id, REFS);
        const [images, policies] = await Promise.all([
          listDeviceImages(env.graph),
          listProvisioningPolicies(env.graph),
        ]);
        const plan = planPrune({
          images,
          policies,
          displayName: 'Corp',
          keep: KEEP,
          protect: [reg.deviceImage.id],
        });
        expect(plan.delete.map((c) => c.image.id)).toEqual([(corp[2] as DeviceImage).id]);
        await prune(plan, env, { limit: 1 });
      },
    ],
    [
      'after ARM accepted the source DELETE',
      async ({ source }) => {
        const reg = await registerAndRepoint(source.id, REFS);
        const [images, policies] = await Promise.all([
          listDeviceImages(env.graph),
          listProvisioningPolicies(env.graph),
        ]);
        await prune(
          planPrune({ images, policies, displayName: 'Corp', keep: KEEP, protect: [reg.deviceImage.id] }),
          env,
        );
        const token = await federatedCredential(env.fake).getToken('https://management.azure.com/.default');
        const res = await fetch(`${env.fake.url}${source.id}?api-version=2025-04-01`, {
          method: 'DELETE',
          headers: { Authorization: `Bearer ${token?.token}` },
        });
        expect(res.status).toBe(202);
      },
    ],
  ];

  for (const [when, crash] of crashes) {
    it(`converges when re-run after a crash ${when}`, async () => {
      env = await startEnv();
      const seed = seedFullTenant(env);
      await crash(seed);
      await fullRollout(seed.source.id);
      expectConverged();
    });
  }
});
