import { describe, expect, it } from 'vitest';
import type { FakeCloud } from '../../fake-cloud/index.ts';
import { fakeInputs, runAction, SCALE, useFakeCloud } from './harness.ts';

const cloud = useFakeCloud({ armDeleteSeconds: 60 });

/** A tenant after a few months: three versions of 'Corp', one behind a policy, and another team's image. */
async function tenant() {
  const fake = await cloud();
  const source = fake.addManagedImage({ resourceGroup: 'images', name: 'corp-2026-11' });
  const old = ['1.0.0', '1.1.0', '1.2.0'].map((version) =>
    fake.addDeviceImage({ displayName: 'Corp', version, status: 'ready' }),
  );
  const other = fake.addDeviceImage({ displayName: 'Kiosk', version: '1.0.0', status: 'ready' });
  const [v100, , v120] = old as [(typeof old)[0], (typeof old)[0], (typeof old)[0]];
  const inUse = fake.addProvisioningPolicy({
    displayName: 'Finance',
    imageId: v100.id,
    imageDisplayName: 'Corp',
    imageType: 'custom',
  });
  const sales = fake.addProvisioningPolicy({
    displayName: 'Sales',
    imageId: v120.id,
    imageDisplayName: 'Corp',
    imageType: 'custom',
  });
  return { fake, source, old, other, inUse, sales };
}

const writes = (f: FakeCloud) =>
  f.requests.filter((r) => (r.service === 'graph' || r.service === 'arm') && r.method !== 'GET');

describe('the monthly job: register, repoint, prune, clean up', () => {
  it('repoints the named policies, prunes unused old versions and deletes the source after ready', async () => {
    const { fake, source, old, other, inUse } = await tenant();
    const run = await runAction(
      fake,
      {
        'image-id': source.id,
        'display-name': 'Corp',
        version: '1.3.0',
        'provisioning-policies': 'Sales',
        'keep-images': '2',
        'delete-source-image': 'true',
        ...fakeInputs(fake),
      },
      { timeScale: SCALE },
    );
    expect(run.code, run.stdout).toBe(0);
    const newId = run.outputs['device-image-id'];
    const state = fake.snapshot() as {
      deviceImages: Array<{ id: string; version: string }>;
      provisioningPolicies: Array<{ displayName: string; imageId: string }>;
      managedImages: Array<{ id: string }>;
    };
    // Sales now uses the new image; Finance (not named) still uses 1.0.0.
    const policies = Object.fromEntries(state.provisioningPolicies.map((p) => [p.displayName, p.imageId]));
    expect(policies).toEqual({ Sales: newId, Finance: inUse.imageId });
    // keep 2 of Corp: 1.3.0 (new) and 1.2.0; 1.1.0 goes; 1.0.0 stays because Finance uses it; Kiosk untouched.
    const left = state.deviceImages.map((i) => i.id).sort();
    expect(left).toEqual([newId, old[0]!.id, old[2]!.id, other.id].sort());
    expect(JSON.parse(run.outputs['deleted-images'] ?? '[]')).toEqual([old[1]!.id]);
    expect(JSON.parse(run.outputs['updated-policies'] ?? '[]')).toHaveLength(1);
    // The source image is gone, deleted only after the device image was ready.
    expect(state.managedImages.map((i) => i.id)).not.toContain(source.id);
    const armDelete = fake.requests.find((r) => r.service === 'arm' && r.method === 'DELETE');
    const readyPoll = fake.requests.filter(
      (r) => r.service === 'graph' && r.method === 'GET' && r.path.endsWith(newId!),
    );
    expect(armDelete!.at).toBeGreaterThan(readyPoll.at(-2)!.at);
    expect(run.stdout).toContain(
      'Rollout: 1 of 1 policy pointed at the image; 1 older image deleted (keep-images 2); source image deleted.',
    );
    expect(run.summary).toContain('### Rollout');
    expect(run.summary).toContain('| Sales |');
    expect(run.summary).toContain('Existing Cloud PCs keep their current image until they are reprovisioned');
  });

  it('an unknown policy stops the run before any upload or change', async () => {
    const { fake, source } = await tenant();
    const run = await runAction(fake, {
      'image-id': source.id,
      'display-name': 'Corp',
      version: '1.3.0',
      'provisioning-policies': 'Sales\nMarketing',
      ...fakeInputs(fake),
    });
    expect(run.code).toBe(1);
    expect(run.report?.error?.message).toContain('Marketing');
    expect(writes(fake)).toHaveLength(0);
  });

  it('a dry run reads everything, says what it would do and changes nothing', async () => {
    const { fake, source, old } = await tenant();
    const before = JSON.stringify(fake.snapshot());
    const run = await runAction(fake, {
      'image-id': source.id,
      'display-name': 'Corp',
      version: '1.3.0',
      'provisioning-policies': 'Sales',
      'keep-images': '2',
      'delete-source-image': 'true',
      'dry-run': 'true',
      ...fakeInputs(fake),
    });
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs.status).toBe('dry-run');
    expect(writes(fake)).toHaveLength(0);
    expect(JSON.stringify(fake.snapshot())).toBe(before);
    expect(run.summary).toContain('Dry run');
    expect(run.summary).toContain('Sales');
    expect(JSON.parse(run.outputs['deleted-images'] ?? '[]')).toContain(old[1]!.id);
  });

  it('makes room in a full tenant by pruning this display name, then uploads', async () => {
    const { fake, source } = await tenant();
    for (let i = 0; i < 15; i++)
      fake.addDeviceImage({ displayName: 'Corp', version: `0.${i}.0`, status: 'ready' });
    const run = await runAction(
      fake,
      { 'image-id': source.id, 'display-name': 'Corp', version: '1.3.0', ...fakeInputs(fake) },
      { timeScale: SCALE },
    );
    expect(run.code, run.stdout).toBe(0);
    expect(fake.counters.deviceImageCreates).toBe(1);
    expect(fake.counters.deviceImageDeletes).toBeGreaterThanOrEqual(1);
  });

  it('retries an upload that failed with internalServerError, resuming an earlier run', async () => {
    const { fake, source } = await tenant();
    fake.addDeviceImage({
      displayName: 'Corp',
      version: '1.3.0',
      sourceImageResourceId: source.id,
      status: 'failed',
      errorCode: 'internalServerError',
    });
    const run = await runAction(
      fake,
      { 'image-id': source.id, 'display-name': 'Corp', version: '1.3.0', ...fakeInputs(fake) },
      { timeScale: SCALE },
    );
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs.status).toBe('ready');
    expect(fake.counters.retryUploads).toBe(1);
    expect(fake.counters.reuploadCalls).toBe(0);
    expect(fake.requests.some((r) => r.path.startsWith('/beta/') && r.path.endsWith('/retryUpload'))).toBe(
      true,
    );
  });

  it('never retries a deterministic failure', async () => {
    const { fake } = await tenant();
    const image = fake.addManagedImage({
      resourceGroup: 'images',
      name: 'x',
      uploadOutcome: { errorCode: 'sourceImageNotGeneralized' },
    });
    const run = await runAction(
      fake,
      {
        'image-id': image.id,
        'display-name': 'Corp',
        version: '1.3.0',
        'upload-retries': '3',
        ...fakeInputs(fake),
      },
      { timeScale: SCALE },
    );
    expect(run.code).toBe(1);
    expect(run.report?.registration?.errorCode).toBe('sourceImageNotGeneralized');
    expect(fake.counters.retryUploads).toBe(0);
  });

  it('two concurrent runs with the same display name and version converge on one image', async () => {
    const { fake, source } = await tenant();
    const inputs = { 'image-id': source.id, 'display-name': 'Corp', version: '1.3.0', ...fakeInputs(fake) };
    const [a, b] = await Promise.all([
      runAction(fake, inputs, { timeScale: SCALE }),
      runAction(fake, inputs, { timeScale: SCALE }),
    ]);
    expect(a.code, a.stdout).toBe(0);
    expect(b.code, b.stdout).toBe(0);
    expect(a.outputs['device-image-id']).toBe(b.outputs['device-image-id']);
    const state = fake.snapshot() as { deviceImages: Array<{ displayName: string; version: string }> };
    expect(state.deviceImages.filter((i) => i.displayName === 'Corp' && i.version === '1.3.0')).toHaveLength(
      1,
    );
  });

  it('never moves a policy back to an older version of the same image', async () => {
    const { fake, source, sales } = await tenant();
    const newer = fake.addDeviceImage({ displayName: 'Corp', version: '2.0.0', status: 'ready' });
    // Someone (or a faster run) already moved Sales to 2.0.0; this slow run registers 1.3.0.
    fake.addProvisioningPolicy({
      displayName: 'Sales 2',
      imageId: newer.id,
      imageDisplayName: 'Corp',
      imageType: 'custom',
    });
    const run = await runAction(
      fake,
      {
        'image-id': source.id,
        'display-name': 'Corp',
        version: '1.3.0',
        'provisioning-policies': 'Sales\nSales 2',
        ...fakeInputs(fake),
      },
      { timeScale: SCALE },
    );
    expect(run.code, run.stdout).toBe(0);
    const state = fake.snapshot() as {
      provisioningPolicies: Array<{ displayName: string; imageId: string }>;
    };
    const policies = Object.fromEntries(state.provisioningPolicies.map((p) => [p.displayName, p.imageId]));
    expect(policies['Sales 2']).toBe(newer.id);
    expect(policies.Sales).toBe(run.outputs['device-image-id']);
    expect(sales.imageId).not.toBe(policies.Sales);
    expect(run.stdout).toContain("already uses the newer 'Corp' 2.0.0");
    expect(JSON.parse(run.outputs['updated-policies'] ?? '[]')).toEqual([sales.id]);
  });

  describe('a run killed after a step, then re-run, finishes the job without duplicates or losses', () => {
    const steps: Array<[string, (f: FakeCloud) => boolean]> = [
      ['the create', (f) => f.counters.deviceImageCreates > 0],
      ['a policy PATCH', (f) => f.counters.policyPatches > 0],
      ['a device image delete', (f) => f.counters.deviceImageDeletes > 0],
      ['the source delete started', (f) => f.counters.armDeletes > 0],
    ];
    it.each(steps)('killed after %s', async (_step, killWhen) => {
      const { fake, source, old, other, inUse } = await tenant();
      const sales2 = fake.addProvisioningPolicy({
        displayName: 'Sales EMEA',
        imageId: old[2]!.id,
        imageDisplayName: 'Corp',
        imageType: 'custom',
      });
      const inputs = {
        'image-id': source.id,
        'display-name': 'Corp',
        version: '1.3.0',
        'provisioning-policies': 'Sales\nSales EMEA',
        'keep-images': '2',
        'delete-source-image': 'true',
        ...fakeInputs(fake),
      };
      const killed = await runAction(fake, inputs, { timeScale: SCALE, killWhen });
      expect(killed.code).toBeNull();
      const rerun = await runAction(fake, inputs, { timeScale: SCALE });
      expect(rerun.code, rerun.stdout).toBe(0);

      const state = fake.snapshot() as {
        deviceImages: Array<{ id: string; displayName: string; version: string }>;
        provisioningPolicies: Array<{ id: string; imageId: string }>;
        managedImages: Array<{ id: string }>;
      };
      const made = state.deviceImages.filter((i) => i.displayName === 'Corp' && i.version === '1.3.0');
      expect(made).toHaveLength(1);
      expect(fake.counters.deviceImageCreates).toBe(1);
      const policy = (id: string) => state.provisioningPolicies.find((p) => p.id === id)?.imageId;
      expect(policy(sales2.id)).toBe(made[0]!.id);
      expect(policy(inUse.id)).toBe(old[0]!.id);
      // 1.2.0 lost its policies to 1.3.0, so keep 2 = 1.3.0 + 1.2.0; 1.1.0 pruned; 1.0.0 in use; Kiosk untouched.
      expect(state.deviceImages.map((i) => i.id).sort()).toEqual(
        [made[0]!.id, old[0]!.id, old[2]!.id, other.id].sort(),
      );
      expect(state.managedImages.map((i) => i.id)).not.toContain(source.id);
    });
  });
});
