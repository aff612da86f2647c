import { afterEach, describe, expect, it } from 'vitest';
import { GraphError } from '../../src/graph/client.ts';
import { deleteDeviceImage, listDeviceImages, type DeviceImage } from '../../src/graph/deviceImages.ts';
import {
  listProvisioningPolicies,
  patchProvisioningPolicyImage,
  type ProvisioningPolicy,
} from '../../src/graph/provisioningPolicies.ts';
import { describeSlots, freeSlotIfFull, planPrune, prune } from '../../src/rollout/retention.ts';
import { deviceImageIds, startEnv, writes, type Env } from './support.ts';

let n = 0;
const img = (version: string, status = 'ready', displayName = 'Corp'): DeviceImage => ({
  id: `img-${displayName}-${version}-${n++}`,
  displayName,
  version,
  sourceImageResourceId: `/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/images/${version}`,
  status,
  lastModifiedDateTime: '2026-01-01T00:00:00Z',
});
const uses = (image: DeviceImage, name = 'P'): ProvisioningPolicy => ({
  id: `pol-${image.id}`,
  displayName: name,
  imageId: image.id,
  imageType: 'custom',
});
const versions = (list: Array<{ image: DeviceImage }>) => list.map((c) => c.image.version);

describe('planPrune', () => {
  it('keeps the newest versions by numeric order and deletes the older ones, oldest first', () => {
    const images = ['1.9.0', '1.10.0', '1.2.3', '0.0.1', '1.10.1'].map((v) => img(v));
    const plan = planPrune({ images, policies: [], displayName: 'Corp', keep: 2, protect: [] });
    expect(versions(plan.delete)).toEqual(['0.0.1', '1.2.3', '1.9.0']);
    expect(plan.kept.map((k) => [k.image.version, k.reason])).toEqual([
      ['1.10.1', 'newest'],
      ['1.10.0', 'newest'],
    ]);
  });

  it('keep = 0 deletes nothing', () => {
    const images = ['1.0.0', '1.0.1', '1.0.2'].map((v) => img(v)).concat(img('0.9.0', 'failed'));
    const plan = planPrune({ images, policies: [], displayName: 'Corp', keep: 0, protect: [] });
    expect(plan.delete).toEqual([]);
    expect(plan.kept.every((k) => k.reason === 'pruning-off')).toBe(true);
  });

  it('never deletes other display names, images in use, protected, pending or unordered versions', () => {
    const inUse = img('1.0.0');
    const galleryTyped = img('1.0.1');
    const mine = img('0.5.0');
    const images = [
      inUse,
      galleryTyped,
      mine,
      img('1.0.2', 'pending'),
      img('1.0.3', 'unknownFutureValue'),
      img('2024-01', 'ready'),
      img('0.0.1', 'ready', 'Other'),
      img('0.0.1', 'ready', 'corp'),
      img('3.0.0'),
    ];
    const policies = [uses(inUse), { ...uses(galleryTyped), imageType: 'gallery' }];
    const plan = planPrune({
      images,
      policies,
      displayName: 'Corp',
      keep: 1,
      protect: [mine.id.toUpperCase()],
    });
    expect(plan.delete).toEqual([]);
    expect(Object.fromEntries(plan.kept.map((k) => [k.image.version, k.reason]))).toEqual({
      '3.0.0': 'newest',
      '1.0.0': 'in-use',
      '1.0.1': 'in-use',
      '0.5.0': 'protected',
      '1.0.2': 'pending',
      '1.0.3': 'unknown-status',
      '2024-01': 'unordered-version',
    });
  });

  it('deletes superseded failed images first, without counting them toward keep', () => {
    const images = [
      img('1.0.0'),
      img('1.0.1', 'failed'),
      img('1.0.2'),
      img('0.1.0', 'failed'),
      img('1.0.3', 'failed'),
    ];
    const plan = planPrune({ images, policies: [], displayName: 'Corp', keep: 2, protect: [] });
    // 1.0.3 failed is newer than every usable version: it may still be retried.
    expect(versions(plan.delete)).toEqual(['0.1.0', '1.0.1']);
    expect(plan.kept.find((k) => k.image.version === '1.0.3')?.reason).toBe('failed-not-superseded');
    const creating = planPrune({
      images,
      policies: [],
      displayName: 'Corp',
      keep: 2,
      protect: [],
      creatingVersion: '1.1.0',
    });
    expect(versions(creating.delete)).toEqual(['0.1.0', '1.0.1', '1.0.3']);
  });
});

describe('prune and freeSlotIfFull against the fake cloud', () => {
  let env: Env;
  afterEach(async () => env.fake.close());

  async function seed(count: number, options: { otherNames?: number; inUse?: number[] } = {}) {
    env = await startEnv();
    const corp: DeviceImage[] = [];
    for (let i = 0; i < count; i++) {
      corp.push(env.fake.addDeviceImage({ displayName: 'Corp', version: `1.0.${i}` }));
    }
    const others: DeviceImage[] = [];
    for (let i = 0; i < (options.otherNames ?? 0); i++) {
      others.push(env.fake.addDeviceImage({ displayName: `Team ${i}`, version: '0.0.1' }));
    }
    for (const i of options.inUse ?? []) {
      const image = corp[i] as DeviceImage;
      env.fake.addProvisioningPolicy({
        displayName: `Uses ${image.version}`,
        imageId: image.id,
        imageType: 'custom',
      });
    }
    return { corp, others };
  }

  async function currentPlan(keep: number, protect: string[] = []) {
    const [images, policies] = await Promise.all([
      listDeviceImages(env.graph),
      listProvisioningPolicies(env.graph),
    ]);
    return planPrune({ images, policies, displayName: 'Corp', keep, protect });
  }

  it('deletes older versions, never one a policy uses (and the fake refuses too), never other names', async () => {
    const { corp, others } = await seed(6, { otherNames: 2, inUse: [0] });
    const { graph, log, fake } = env;
    const newest = corp[5] as DeviceImage;
    const result = await prune(await currentPlan(3, [newest.id]), { graph, log });
    expect(result.deleted.map((d) => [d.image.version, d.outcome])).toEqual([
      ['1.0.1', 'deleted'],
      ['1.0.2', 'deleted'],
    ]);
    expect(result.skipped).toEqual([]);
    expect(deviceImageIds(fake)).toEqual(
      [corp[0], corp[3], corp[4], corp[5], ...others].map((i) => (i as DeviceImage).id).sort(),
    );
    // The fake, like Windows 365, refuses to delete an image a policy uses.
    const refused = await deleteDeviceImage(graph, (corp[0] as DeviceImage).id).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(GraphError);
    expect((refused as GraphError).status).toBe(400);
    expect(deviceImageIds(fake)).toContain((corp[0] as DeviceImage).id);

    // Converged: a second prune deletes nothing more.
    const again = await prune(await currentPlan(3, [newest.id]), { graph, log });
    expect(again.deleted).toEqual([]);
    expect(fake.counters.deviceImageDeletes).toBe(2);
  });

  it('re-reads the policies before each delete: an image that became used is skipped; a gone one is fine', async () => {
    const { corp } = await seed(5);
    const { graph, log, fake } = env;
    const plan = await currentPlan(2);
    expect(versions(plan.delete)).toEqual(['1.0.0', '1.0.1', '1.0.2']);
    // After the plan: an admin points a policy at 1.0.1, and someone deletes 1.0.0.
    const policy = fake.addProvisioningPolicy({ displayName: 'Late', imageId: 'g', imageType: 'gallery' });
    await patchProvisioningPolicyImage(graph, policy.id, {
      imageType: 'custom',
      imageId: (corp[1] as DeviceImage).id,
      imageDisplayName: 'Corp',
    });
    await deleteDeviceImage(graph, (corp[0] as DeviceImage).id);
    const result = await prune(plan, { graph, log });
    expect(result.deleted.map((d) => [d.image.version, d.outcome])).toEqual([
      ['1.0.0', 'already-gone'],
      ['1.0.2', 'deleted'],
    ]);
    expect(result.skipped.map((s) => [s.image.version, s.reason])).toEqual([['1.0.1', 'became-in-use']]);
    expect(result.skipped[0]?.detail).toContain("'Late'");
    expect(deviceImageIds(fake)).toContain((corp[1] as DeviceImage).id);
  });

  it('keep = 0 deletes nothing', async () => {
    await seed(5);
    const result = await prune(await currentPlan(0), { graph: env.graph, log: env.log });
    expect(result.deleted).toEqual([]);
    expect(env.fake.counters.deviceImageDeletes).toBe(0);
    expect(writes(env.fake)).toEqual([]);
  });

  it('frees a slot when the tenant holds 20 images and one of this name may go', async () => {
    const { corp } = await seed(5, { otherNames: 15 });
    const { graph, log, fake } = env;
    const result = await freeSlotIfFull({ displayName: 'Corp', version: '1.0.5', keep: 3 }, { graph, log });
    expect(result.status).toBe('freed');
    if (result.status !== 'freed') return;
    expect(result.count).toBe(20);
    expect(result.prune.deleted.map((d) => d.image.id)).toEqual([(corp[0] as DeviceImage).id]);
    expect(deviceImageIds(fake)).toHaveLength(19);
    // The second time there is room.
    expect(
      (await freeSlotIfFull({ displayName: 'Corp', version: '1.0.5', keep: 3 }, { graph, log })).status,
    ).toBe('room');
  });

  it('reports what fills the slots when nothing may be pruned, and deletes nothing', async () => {
    await seed(3, { otherNames: 17, inUse: [0] });
    const { graph, log, fake } = env;
    const result = await freeSlotIfFull({ displayName: 'Corp', version: '1.0.3', keep: 2 }, { graph, log });
    expect(result.status).toBe('full');
    if (result.status !== 'full') return;
    expect(result.slots).toHaveLength(20);
    const lines = describeSlots(result.slots);
    expect(lines.find((l) => l.startsWith("'Corp' 1.0.0"))).toMatch(/used by 'Uses 1.0.0'/);
    expect(lines.find((l) => l.startsWith("'Corp' 1.0.2"))).toMatch(/newest/);
    expect(lines.find((l) => l.startsWith("'Team 3'"))).toMatch(/never pruned by this job/);
    expect(fake.counters.deviceImageDeletes).toBe(0);
  });

  it('needs no slot when the image already exists (a re-run resumes it)', async () => {
    const { corp } = await seed(20);
    const result = await freeSlotIfFull(
      { displayName: 'Corp', version: '1.0.19', keep: 3 },
      { graph: env.graph, log: env.log },
    );
    expect(result).toMatchObject({ status: 'resume', existing: { id: (corp[19] as DeviceImage).id } });
    expect(env.fake.counters.deviceImageDeletes).toBe(0);
  });
});
