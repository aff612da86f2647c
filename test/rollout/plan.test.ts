// The dry run is planRollout: it reads, changes nothing, and lists exactly what the real steps then do.
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceImage } from '../../src/graph/deviceImages.ts';
import { registerImage } from '../../src/register/register.ts';
import { retryFailedUpload } from '../../src/register/retry.ts';
import { completeRollout } from '../../src/rollout/complete.ts';
import { planRollout, type RolloutPlanInput } from '../../src/rollout/plan.ts';
import { loadPolicies } from '../../src/rollout/policies.ts';
import { freeSlotIfFull } from '../../src/rollout/retention.ts';
import { imageId, seedFailedUpload, seedFullTenant, startEnv, summary, writes, type Env } from './support.ts';

const REFS = ['Sales', 'Engineering'];
const TIMEOUT = 30 * 60_000;

let env: Env;
afterEach(async () => env.fake.close());

/** planRollout with the fake's clients, asserting that it sent no write and left the fake as it was. */
async function planChangingNothing(input: RolloutPlanInput, withImages = true) {
  const before = env.fake.snapshot();
  const requestsBefore = env.fake.requests.length;
  const plan = await planRollout(
    input,
    withImages ? { graph: env.graph, images: env.images, log: env.log } : { graph: env.graph, log: env.log },
  );
  expect(env.fake.snapshot()).toEqual(before);
  expect(writes(env.fake)).toEqual([]);
  expect(env.fake.requests.length).toBeGreaterThan(requestsBefore);
  return plan;
}

const ids = (list: ReadonlyArray<{ image: DeviceImage }>) => list.map((c) => c.image.id);

describe('planRollout, then the real run', () => {
  it('plans a full tenant from reads alone; the real run then frees, repoints, prunes and deletes just that', async () => {
    env = await startEnv();
    const { corp, source } = seedFullTenant(env);
    const plan = await planChangingNothing({
      displayName: 'Corp',
      version: '1.0.5',
      source: imageId(source.id),
      policyRefs: REFS,
      keep: 3,
      deleteSourceImage: true,
      uploadRetries: 1,
    });
    // The source image was read (to know it exists), not touched.
    expect(env.fake.requests.some((r) => r.service === 'arm' && r.method === 'GET')).toBe(true);

    expect(plan.image).toMatchObject({ action: 'upload', id: undefined });
    expect(plan.tenant).toEqual({ images: 20, limit: 20 });
    expect(ids(plan.freeSlot)).toEqual([(corp[0] as DeviceImage).id]);
    expect(plan.blockedBy).toBeUndefined();
    expect(plan.patch.map((p) => [p.policyName, p.action, p.from.imageId, p.to.imageId])).toEqual([
      ['Sales', 'patch', (corp[4] as DeviceImage).id, undefined],
      ['Engineering', 'patch', (corp[4] as DeviceImage).id, undefined],
    ]);
    expect(plan.prune.map((c) => c.image.version)).toEqual(['1.0.2']);
    expect(plan.kept.map((k) => `${k.image.version} ${k.reason}`).sort()).toEqual([
      '1.0.1 in-use',
      '1.0.3 newest',
      '1.0.4 newest',
    ]);
    expect(plan.source).toMatchObject({ action: 'delete', imageId: source.id });
    expect(plan.notes.join('\n')).toMatch(/keep their current image until they are reprovisioned/);

    // The real run, step by step as the pipeline takes them.
    const { graph, clock, log } = env;
    await loadPolicies(graph, REFS);
    const slot = await freeSlotIfFull({ displayName: 'Corp', version: '1.0.5', keep: 3 }, { graph, log });
    expect(slot.status).toBe('freed');
    if (slot.status !== 'freed') return;
    expect(ids(slot.prune.deleted)).toEqual(ids(plan.freeSlot));
    const registration = await registerImage(
      { displayName: 'Corp', version: '1.0.5', sourceImageResourceId: source.id, timeoutMs: TIMEOUT },
      { graph, clock, log },
    );
    expect(registration.outcome).toBe('ready');
    const done = await completeRollout(
      {
        deviceImageId: registration.deviceImage.id,
        displayName: 'Corp',
        policyRefs: REFS,
        keep: 3,
        deleteSourceImage: true,
        source: imageId(source.id),
        pollIntervalMs: 10,
      },
      { graph, images: () => env.images, log },
    );
    expect(done.repoint.policies.filter((p) => p.action === 'patched').map((p) => p.policyId)).toEqual(
      plan.patch.filter((p) => p.action === 'patch').map((p) => p.policyId),
    );
    expect(ids(done.prune.deleted)).toEqual(ids(plan.prune));
    expect(done.prune.kept.map((k) => `${k.image.version} ${k.reason}`).sort()).toEqual([
      '1.0.1 in-use',
      '1.0.3 newest',
      '1.0.4 newest',
      '1.0.5 protected',
    ]);
    expect(done.source).toEqual({ action: 'deleted', imageId: source.id });
    expect(env.fake.counters).toMatchObject({ deviceImageDeletes: 2, policyPatches: 2, armDeletes: 1 });
  });

  it('for a ready image, prunes what only the repointed policies used, as the real completeRollout does', async () => {
    env = await startEnv();
    const { source } = seedFullTenant(env);
    const v5 = env.fake.addDeviceImage({
      displayName: 'Corp',
      version: '1.0.5',
      sourceImageResourceId: source.id,
    });
    const plan = await planChangingNothing({
      displayName: 'Corp',
      version: '1.0.5',
      source: imageId(source.id),
      policyRefs: REFS,
      keep: 2,
      deleteSourceImage: true,
      uploadRetries: 0,
    });
    expect(plan.image).toMatchObject({ action: 'ready', id: v5.id });
    expect(plan.freeSlot).toEqual([]);
    expect(plan.patch.map((p) => [p.policyName, p.action, p.to.imageId])).toEqual([
      ['Sales', 'patch', v5.id],
      ['Engineering', 'patch', v5.id],
    ]);
    // 1.0.4 is used only by the policies being repointed, so it goes too.
    expect(plan.prune.map((c) => c.image.version)).toEqual(['1.0.0', '1.0.2', '1.0.3']);
    expect(plan.source).toMatchObject({ action: 'delete', imageId: source.id });

    const done = await completeRollout(
      {
        deviceImageId: v5.id,
        displayName: 'Corp',
        policyRefs: REFS,
        keep: 2,
        deleteSourceImage: true,
        source: imageId(source.id),
        pollIntervalMs: 10,
      },
      { graph: env.graph, images: () => env.images, log: env.log },
    );
    expect(done.repoint.policies.map((p) => [p.policyId, p.action])).toEqual(
      plan.patch.map((p) => [p.policyId, 'patched']),
    );
    expect(ids(done.prune.deleted)).toEqual(ids(plan.prune));
    expect(done.prune.deleted.map((d) => d.outcome)).toEqual(['deleted', 'deleted', 'deleted']);
    expect(done.source).toEqual({ action: 'deleted', imageId: source.id });
    expect(summary(env.fake).deviceImages.filter((i) => i.startsWith('Corp'))).toEqual([
      'Corp 1.0.1 ready',
      'Corp 1.0.4 ready',
      'Corp 1.0.5 ready',
    ]);
  });

  it('plans a retry for a transient failure, and retryFailedUpload then sends exactly one', async () => {
    env = await startEnv();
    const { source, failed } = seedFailedUpload(env);
    const input: RolloutPlanInput = {
      displayName: 'Corp',
      version: '1.0.0',
      source: imageId(source.id),
      policyRefs: [],
      keep: 0,
      deleteSourceImage: false,
      uploadRetries: 2,
    };
    const plan = await planChangingNothing(input);
    expect(plan.image).toMatchObject({ action: 'retry', id: failed.id, status: 'failed' });
    expect(plan.image.detail).toContain('retryUpload, up to 2 times');
    // Without retries the run stops at the failure: the plan says so and the real step sends nothing.
    const noRetries = await planChangingNothing({ ...input, uploadRetries: 0 });
    expect(noRetries.image.action).toBe('stop');
    const deps = { graph: env.graph, clock: env.clock, log: env.log };
    const none = await retryFailedUpload(failed, { retries: 0, timeoutMs: TIMEOUT }, deps);
    expect(none.stopped).toBe('no-retries');
    expect(writes(env.fake)).toEqual([]);

    const retried = await retryFailedUpload(failed, { retries: 2, timeoutMs: TIMEOUT }, deps);
    expect(retried).toMatchObject({ stopped: 'succeeded', outcome: 'ready' });
    expect(env.fake.counters).toMatchObject({ retryUploads: 1, deviceImageCreates: 0 });
  });

  it('says the run would stop when the tenant is full and nothing may be pruned; the real step deletes nothing', async () => {
    env = await startEnv();
    const { source } = seedFullTenant(env);
    const plan = await planChangingNothing(
      {
        displayName: 'Corp',
        version: '1.0.5',
        source: imageId(source.id),
        policyRefs: REFS,
        keep: 0,
        deleteSourceImage: false,
        uploadRetries: 1,
      },
      false,
    );
    expect(plan.blockedBy).toHaveLength(20);
    expect(plan.freeSlot).toEqual([]);
    expect(plan.patch).toEqual([]);
    expect(plan.prune).toEqual([]);

    const slot = await freeSlotIfFull(
      { displayName: 'Corp', version: '1.0.5', keep: 0 },
      { graph: env.graph, log: env.log },
    );
    expect(slot.status).toBe('full');
    if (slot.status === 'full') {
      expect(slot.slots.map((s) => s.image.id).sort()).toEqual(plan.blockedBy?.map((s) => s.image.id).sort());
    }
    expect(writes(env.fake)).toEqual([]);
  });

  it('plans to stop, changing and deleting nothing, when another source holds the display name and version', async () => {
    env = await startEnv();
    const { source } = seedFullTenant(env);
    const other = env.fake.addManagedImage({ resourceGroup: 'rg-images', name: 'someone-else' });
    env.fake.addDeviceImage({
      displayName: 'Corp',
      version: '1.0.5',
      sourceImageResourceId: other.id,
      status: 'ready',
    });
    const plan = await planChangingNothing(
      {
        displayName: 'Corp',
        version: '1.0.5',
        source: imageId(source.id),
        policyRefs: REFS,
        keep: 2,
        deleteSourceImage: true,
        uploadRetries: 1,
      },
      false,
    );
    expect(plan.image.action).toBe('stop');
    expect(plan.image.detail).toContain('choose another version');
    expect(plan.patch).toEqual([]);
    expect(plan.prune).toEqual([]);
    expect(plan.freeSlot).toEqual([]);
  });
});
