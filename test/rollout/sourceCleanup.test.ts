import { afterEach, describe, expect, it } from 'vitest';
import { cleanUpSourceImage } from '../../src/rollout/sourceCleanup.ts';
import { imageId, snapshot, startEnv, writes, type Env } from './support.ts';

let env: Env;
afterEach(async () => env.fake.close());

async function seed(status: 'ready' | 'pending' | 'failed' | 'warning') {
  env = await startEnv();
  const source = env.fake.addManagedImage({ resourceGroup: 'rg-images', name: 'win11-1.0.0' });
  const device = env.fake.addDeviceImage({
    displayName: 'Corp',
    version: '1.0.0',
    sourceImageResourceId: source.id,
    status,
    ...(status === 'pending' ? { uploadOutcome: 'never' as const } : {}),
  });
  return { source, device };
}

const managedIds = () => snapshot(env.fake).managedImages.map((i) => i.id);
const deps = () => ({ graph: env.graph, images: env.images, log: env.log });

describe('cleanUpSourceImage', () => {
  it('deletes the source once the device image is ready, waiting for the ARM operation', async () => {
    const { source, device } = await seed('ready');
    const result = await cleanUpSourceImage(
      { deviceImageId: device.id, source: imageId(source.id), pollIntervalMs: 10 },
      deps(),
    );
    expect(result).toEqual({ action: 'deleted', imageId: source.id });
    // Gone when the call returns: the long-running delete was waited for.
    expect(managedIds()).toEqual([]);
    expect(snapshot(env.fake)).toMatchObject({ armOperations: [{ completed: true }] });
    expect(env.fake.counters.armDeletes).toBe(1);

    // Re-run: already gone, nothing sent.
    const again = await cleanUpSourceImage(
      { deviceImageId: device.id, source: imageId(source.id), pollIntervalMs: 10 },
      deps(),
    );
    expect(again).toEqual({ action: 'already-gone', imageId: source.id });
    expect(env.fake.counters.armDeletes).toBe(1);
  });

  for (const status of ['pending', 'failed', 'warning'] as const) {
    it(`never deletes the source while the device image is ${status}`, async () => {
      const { source, device } = await seed(status);
      const result = await cleanUpSourceImage(
        { deviceImageId: device.id, source: imageId(source.id) },
        deps(),
      );
      expect(result).toMatchObject({ action: 'kept', reason: 'not-ready' });
      expect(managedIds()).toEqual([source.id]);
      expect(writes(env.fake).filter((r) => r.service === 'arm')).toEqual([]);
    });
  }

  it('a source the identity may not read or delete is kept with a warning; the ready rollout does not fail', async () => {
    env = await startEnv();
    const source = env.fake.addManagedImage({ resourceGroup: 'rg-images', name: 'locked', forbidden: true });
    const device = env.fake.addDeviceImage({
      displayName: 'Corp',
      version: '1.0.0',
      sourceImageResourceId: source.id,
      status: 'ready',
    });
    const result = await cleanUpSourceImage(
      { deviceImageId: device.id, source: imageId(source.id), pollIntervalMs: 10 },
      deps(),
    );
    expect(result).toMatchObject({ action: 'failed', status: 403 });
    expect(managedIds()).toEqual([source.id]);
    expect(env.log.lines.some((l) => l.startsWith('warning: Could not delete the source image'))).toBe(true);
  });

  it('keeps a source another upload still needs, or that the device image was not made from', async () => {
    const { source, device } = await seed('ready');
    env.fake.addDeviceImage({
      displayName: 'Corp',
      version: '1.0.1',
      sourceImageResourceId: source.id.toUpperCase(),
      status: 'pending',
      uploadOutcome: 'never',
    });
    const busy = await cleanUpSourceImage({ deviceImageId: device.id, source: imageId(source.id) }, deps());
    expect(busy).toMatchObject({ action: 'kept', reason: 'needed-by-other-upload' });
    const other = env.fake.addManagedImage({ resourceGroup: 'rg-images', name: 'unrelated' });
    const wrong = await cleanUpSourceImage({ deviceImageId: device.id, source: imageId(other.id) }, deps());
    expect(wrong).toMatchObject({ action: 'kept', reason: 'other-source' });
    expect(managedIds().sort()).toEqual([source.id, other.id].sort());
    expect(env.fake.counters.armDeletes).toBe(0);
  });

  it('finishes a delete a killed run started', async () => {
    const { source, device } = await seed('ready');
    // A run that was killed right after ARM accepted the DELETE: the image is 'Deleting'.
    const token = await import('../fake-cloud/support.ts').then((m) =>
      m.federatedCredential(env.fake).getToken('https://management.azure.com/.default'),
    );
    const started = await fetch(`${env.fake.url}${source.id}?api-version=2025-04-01`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${token?.token}` },
    });
    expect(started.status).toBe(202);
    const result = await cleanUpSourceImage(
      { deviceImageId: device.id, source: imageId(source.id), pollIntervalMs: 10 },
      deps(),
    );
    expect(['deleted', 'already-gone']).toContain(result.action);
    expect(managedIds()).toEqual([]);
    expect(env.fake.counters.armDeletes).toBe(1);
  });

  it('keeps the source while another device image from it has a status it does not know', async () => {
    const { source, device } = await seed('ready');
    env.fake.addDeviceImage({
      displayName: 'Corp',
      version: '1.0.1',
      sourceImageResourceId: source.id,
      status: 'unknownFutureValue' as never,
    });
    const result = await cleanUpSourceImage(
      { deviceImageId: device.id, source: imageId(source.id), pollIntervalMs: 10 },
      deps(),
    );
    expect(result).toMatchObject({ action: 'kept', reason: 'needed-by-other-upload' });
    expect(managedIds()).toEqual([source.id]);
  });
});
