import { afterEach, describe, expect, it } from 'vitest';
import { getDeviceImage } from '../../src/graph/deviceImages.ts';
import { registerImage } from '../../src/register/register.ts';
import { retryFailedUpload } from '../../src/register/retry.ts';
import { seedFailedUpload, startEnv, writes, type Env } from '../rollout/support.ts';

let env: Env;
afterEach(async () => env.fake.close());

const TIMEOUT = 30 * 60_000;
const retryCalls = (e: Env) =>
  e.fake.requests.filter((r) => r.service === 'graph' && r.method === 'POST' && /retryUpload$/.test(r.path));

const deps = (e: Env) => ({ graph: e.graph, clock: e.clock, log: e.log });
/** Uploads Corp 1.0.0 from the source and waits for Windows 365's verdict. */
const registerCorp = (sourceId: string) =>
  registerImage(
    { displayName: 'Corp', version: '1.0.0', sourceImageResourceId: sourceId, timeoutMs: TIMEOUT },
    deps(env),
  );

describe('retryFailedUpload', () => {
  it('retries an internalServerError with beta retryUpload and waits for ready', async () => {
    env = await startEnv();
    const { source } = seedFailedUpload(env);
    const failed = await registerCorp(source.id);
    expect(failed.outcome).toBe('failed');

    const result = await retryFailedUpload(failed.deviceImage, { retries: 2, timeoutMs: TIMEOUT }, deps(env));
    expect(result).toMatchObject({
      stopped: 'succeeded',
      outcome: 'ready',
      deviceImage: { status: 'ready' },
    });
    expect(result.attempts).toEqual([
      expect.objectContaining({ attempt: 1, retriedErrorCode: 'internalServerError', outcome: 'ready' }),
    ]);
    expect(retryCalls(env).map((r) => r.path)).toEqual([
      `/beta/deviceManagement/virtualEndpoint/deviceImages/${failed.deviceImage.id}/retryUpload`,
    ]);
    expect(env.fake.counters.retryUploads).toBe(1);
    expect(env.fake.counters.reuploadCalls).toBe(0);
    expect(env.fake.counters.deviceImageCreates).toBe(0);
    expect((await getDeviceImage(env.graph, failed.deviceImage.id)).status).toBe('ready');
  });

  it('stops after upload-retries when the upload keeps failing', async () => {
    env = await startEnv();
    const source = env.fake.addManagedImage({
      resourceGroup: 'rg-images',
      name: 'flaky',
      uploadOutcome: { errorCode: 'internalServerError' },
    });
    const first = await registerCorp(source.id);
    expect(first.failure?.errorCode).toBe('internalServerError');
    const result = await retryFailedUpload(first.deviceImage, { retries: 2, timeoutMs: TIMEOUT }, deps(env));
    expect(result.stopped).toBe('retries-exhausted');
    expect(result.outcome).toBe('failed');
    expect(result.attempts.map((a) => a.outcome)).toEqual(['failed', 'failed']);
    expect(env.fake.counters.retryUploads).toBe(2);
    expect(result.detail).toMatch(/after 2 retries/);
  });

  it('never retries a deterministic error such as sourceImageNotGeneralized', async () => {
    env = await startEnv();
    const source = env.fake.addManagedImage({
      resourceGroup: 'rg-images',
      name: 'spec',
      osState: 'Specialized',
    });
    const failed = await registerCorp(source.id);
    expect(failed.failure?.errorCode).toBe('sourceImageNotGeneralized');
    const result = await retryFailedUpload(failed.deviceImage, { retries: 3, timeoutMs: TIMEOUT }, deps(env));
    expect(result.stopped).toBe('not-transient');
    expect(result.detail).toMatch(/sysprep/i);
    expect(retryCalls(env)).toEqual([]);
    expect(env.fake.counters.retryUploads).toBe(0);
  });

  it('does nothing with upload-retries 0 or for a ready image', async () => {
    env = await startEnv();
    const failed = env.fake.addDeviceImage({
      displayName: 'Corp',
      version: '1.0.0',
      status: 'failed',
      errorCode: 'internalServerError',
    });
    const ready = env.fake.addDeviceImage({ displayName: 'Corp', version: '1.0.1' });
    const before = env.fake.snapshot();
    expect((await retryFailedUpload(failed, { retries: 0, timeoutMs: TIMEOUT }, deps(env))).stopped).toBe(
      'no-retries',
    );
    expect((await retryFailedUpload(ready, { retries: 2, timeoutMs: TIMEOUT }, deps(env))).stopped).toBe(
      'not-failed',
    );
    expect(env.fake.snapshot()).toEqual(before);
    expect(writes(env.fake)).toEqual([]);
  });

  it('does not send retryUpload twice when the first answer is lost', async () => {
    env = await startEnv();
    const { failed } = seedFailedUpload(env);
    // Windows 365 restarts the upload, but the 204 never reaches us.
    env.fake.inject({ kind: 'after', status: 'drop', service: 'graph', path: /retryUpload$/, count: 1 });
    const result = await retryFailedUpload(failed, { retries: 1, timeoutMs: TIMEOUT }, deps(env));
    expect(result.stopped).toBe('succeeded');
    expect(env.fake.counters.retryUploads).toBe(1);
    expect(retryCalls(env)).toHaveLength(1);
  });
});
