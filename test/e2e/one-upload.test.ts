import { describe, expect, it } from 'vitest';
import type { FakeCloud } from '../../fake-cloud/index.ts';
import { creates, fakeInputs, runAction, SCALE, useFakeCloud } from './harness.ts';

const cloud = useFakeCloud();
const WINDOWS_365_APP_ID = '0af06dc6-e4b5-4f28-818e-e78e62d137a5';

const graphWrites = (f: FakeCloud) => f.requests.filter((r) => r.service === 'graph' && r.method !== 'GET');

describe('Windows 365 can see the image', () => {
  it('fails before any upload when Windows 365 cannot read the image (scripts/bench.ts times it)', async () => {
    const f = await cloud();
    const image = f.addManagedImage({ resourceGroup: 'images', name: 'hidden', windows365CanRead: false });
    const run = await runAction(f, { 'image-id': image.id, ...fakeInputs(f) }, { timeScale: SCALE });
    expect(run.code).toBe(1);
    expect(run.outputs.status).toBe('invalid');
    const check = run.report?.checks.find((c) => c.id === 'image.windows365-can-read');
    expect(check).toMatchObject({ status: 'fail', requirement: 'R11', errorCode: 'sourceImageNotFound' });
    expect(check?.detail).toContain('getSourceImages does not list');
    expect(check?.fix).toContain(WINDOWS_365_APP_ID);
    expect(check?.fix).toContain(
      `az role assignment create --assignee ${WINDOWS_365_APP_ID} --role Reader --scope /subscriptions/${f.subscriptionId}/resourceGroups/images`,
    );
    expect(check?.fix).toContain('Subscriptions.Read');
    expect(run.stdout).toContain('::error::FAIL image.windows365-can-read (R11)');
    expect(run.report?.message).toContain('Nothing was uploaded');
    expect(graphWrites(f)).toHaveLength(0);
    expect(f.counters.deviceImageCreates).toBe(0);
  });

  it('follows every page of getSourceImages', async () => {
    const f = await cloud({ graphPageSize: 2 });
    for (let i = 0; i < 5; i++) f.addManagedImage({ resourceGroup: 'images', name: `other-${i}` });
    const image = f.addManagedImage({ resourceGroup: 'images', name: 'zz-last' });
    const run = await runAction(f, { 'image-id': image.id, ...fakeInputs(f) }, { timeScale: SCALE });
    expect(run.code, run.stdout).toBe(0);
    const pages = f.requests.filter((r) => r.path.endsWith('/getSourceImages'));
    expect(pages).toHaveLength(3);
    expect(run.report?.checks.find((c) => c.id === 'image.windows365-can-read')?.status).toBe('pass');
  });
});

describe('one source, one upload', () => {
  it('adopts a pending upload of the same source under this display name, whatever its version', async () => {
    const f = await cloud();
    const image = f.addManagedImage({ resourceGroup: 'images', name: 'img' });
    const earlier = f.addDeviceImage({
      displayName: 'Corp',
      version: '2026.1101.9',
      sourceImageResourceId: image.id,
      status: 'pending',
    });
    const run = await runAction(
      f,
      { 'image-id': image.id, 'display-name': 'Corp', ...fakeInputs(f) },
      { timeScale: SCALE },
    );
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toContain(
      `Device image ${earlier.id} 'Corp' version 2026.1101.9 (pending) was already made from this managed image by an earlier run: adopting it with its version 2026.1101.9`,
    );
    expect(run.outputs).toMatchObject({
      'device-image-id': earlier.id,
      version: '2026.1101.9',
      status: 'ready',
    });
    expect(run.report?.registration).toMatchObject({ version: '2026.1101.9', created: false });
    expect(run.report?.inputs.version).toBe('2026.1101.9');
    expect(creates(f)).toHaveLength(0);
  });

  it('computes the same default version on every run, so a re-run next day resumes the timed-out upload', async () => {
    const f = await cloud();
    const image = f.addManagedImage({
      resourceGroup: 'images',
      name: 'img',
      uploadOutcome: 'never',
      createdAt: '2026-11-02T08:15:30Z',
    });
    const inputs = { 'image-id': image.id, 'wait-timeout-minutes': '2', ...fakeInputs(f) };
    const first = await runAction(f, inputs, { timeScale: SCALE, env: { GITHUB_RUN_NUMBER: '41' } });
    expect(first.outputs.status).toBe('timeout');
    expect(first.outputs.version).toBe('2026.1102.81530');
    expect(first.report?.message).toContain('version: "2026.1102.81530"');
    // Another run number (a new workflow run), another day: the same version, the same upload.
    const second = await runAction(f, inputs, { timeScale: SCALE, env: { GITHUB_RUN_NUMBER: '42' } });
    expect(second.outputs.version).toBe('2026.1102.81530');
    expect(second.outputs['device-image-id']).toBe(first.outputs['device-image-id']);
    expect(second.report?.registration?.created).toBe(false);
    expect(f.counters.deviceImageCreates).toBe(1);
  });

  it('looks again for a bounded time after a lost POST answer, covering a lagging list, before any second POST', async () => {
    const f = await cloud({ deviceImageListLagSeconds: 90 });
    const image = f.addManagedImage({ resourceGroup: 'images', name: 'img' });
    // Windows 365 creates the image, but the answer is lost; for 90 s the list does not show it.
    f.inject({
      kind: 'after',
      service: 'graph',
      method: 'POST',
      path: /\/deviceImages$/,
      count: 1,
      status: 500,
    });
    const run = await runAction(f, { 'image-id': image.id, ...fakeInputs(f) }, { timeScale: SCALE });
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toContain('the upload may have started: looking for it');
    expect(run.stdout).toContain('The earlier request did start the upload');
    expect(creates(f)).toHaveLength(1);
    expect(f.counters.deviceImageCreates).toBe(1);
  });

  it('sends a second POST only after looking for 3 minutes, and gives up after 5 with the inputs that resume', async () => {
    const scale = 600;
    const f = await cloud({ timeScale: scale });
    const image = f.addManagedImage({ resourceGroup: 'images', name: 'img' });
    f.inject({
      kind: 'status',
      service: 'graph',
      method: 'POST',
      path: /\/deviceImages$/,
      count: 5,
      status: 503,
    });
    const run = await runAction(f, { 'image-id': image.id, ...fakeInputs(f) }, { timeScale: scale });
    expect(run.code).toBe(1);
    expect(run.report?.error?.kind).toBe('create-failed');
    expect(run.report?.error?.message).toContain('after 5 attempts');
    expect(run.report?.error?.message).toContain(
      `To resume, re-run the step with: { image-id: "${image.id}"`,
    );
    const posts = creates(f);
    expect(posts).toHaveLength(5);
    for (let i = 1; i < posts.length; i++) {
      expect((posts[i]?.at ?? 0) - (posts[i - 1]?.at ?? 0)).toBeGreaterThanOrEqual(3 * 60_000);
    }
    expect(f.counters.deviceImageCreates).toBe(0);
  });

  it('says what to re-run with when Windows 365 fails an upload it may retry', async () => {
    const f = await cloud();
    const image = f.addManagedImage({
      resourceGroup: 'images',
      name: 'img',
      uploadOutcome: { errorCode: 'internalServerError' },
    });
    const run = await runAction(
      f,
      { 'image-id': image.id, 'upload-retries': '0', ...fakeInputs(f) },
      { timeScale: SCALE },
    );
    expect(run.outputs.status).toBe('failed');
    expect(run.report?.message).toContain('re-run the job');
    expect(run.report?.message).toContain(`To resume, re-run the step with: { image-id: "${image.id}"`);
  });
});
