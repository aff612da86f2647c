import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/graph/errorCodes.ts';
import { cell, oneLine } from '../../src/report/markdown.ts';
import { creates, fakeInputs, runAction, SCALE, useFakeCloud } from './harness.ts';

const cloud = useFakeCloud();

describe('Windows 365 verdicts', () => {
  const codes = Object.keys(ERROR_CODES).filter((c) => c !== 'unknownFutureValue');
  it.each(codes)('reports %s with its cause and fix', async (errorCode) => {
    const f = await cloud({ uploadSeconds: 60 });
    const image = f.addManagedImage({ resourceGroup: 'images', name: 'img', uploadOutcome: { errorCode } });
    const run = await runAction(
      f,
      { 'image-id': image.id, version: '1.0.0', ...fakeInputs(f) },
      { timeScale: SCALE },
    );
    expect(run.code).toBe(1);
    expect(run.outputs.status).toBe('failed');
    expect(run.report?.registration).toMatchObject({
      status: 'failed',
      errorCode,
      cause: ERROR_CODES[errorCode]?.cause,
      fix: ERROR_CODES[errorCode]?.fix,
    });
    expect(run.stdout).toContain(`::error::Windows 365 rejected 'img' 1.0.0`);
    expect(run.summary).toContain(`| Error code | \`${errorCode}\` |`);
    // The cause and the fix are said once, in the message under the headline (escaped as Markdown text).
    const fix = cell(ERROR_CODES[errorCode]?.fix);
    expect(run.summary.split(fix).length - 1, run.summary).toBe(1);
    expect(run.summary.split(cell(ERROR_CODES[errorCode]?.cause)).length - 1).toBe(1);
    // Only internalServerError is retried (upload-retries defaults to 1); the others have no retry line.
    if (errorCode === 'internalServerError')
      expect(run.summary).toContain(`Upload retried 1 time: ${oneLine('failed (internalServerError)')}.`);
    else expect(run.summary).not.toContain('Upload retried');
  });

  it('reads a newer error code by name, not as unknownFutureValue', async () => {
    // The image passes the checks Azure can show, but Windows 365 still rejects it with a code added after the
    // enum's unknownFutureValue member.
    const f = await cloud({ uploadSeconds: 60 });
    const image = f.addManagedImage({
      resourceGroup: 'images',
      name: 'img',
      uploadOutcome: { errorCode: 'sourceImageSizeExceedsLimitation' },
    });
    const run = await runAction(f, { 'image-id': image.id, ...fakeInputs(f) }, { timeScale: SCALE });
    // Hidden as unknownFutureValue unless the Prefer header is sent.
    expect(run.report?.registration?.errorCode).toBe('sourceImageSizeExceedsLimitation');
  });

  it('times out, keeps the upload, and a re-run resumes it without uploading again', async () => {
    const f = await cloud();
    const image = f.addManagedImage({ resourceGroup: 'images', name: 'img', uploadOutcome: 'never' });
    const inputs = { 'image-id': image.id, version: '2.0.0', 'wait-timeout-minutes': '3', ...fakeInputs(f) };
    const first = await runAction(f, inputs, { timeScale: SCALE });
    expect(first.code).toBe(1);
    expect(first.outputs.status).toBe('timeout');
    expect(first.stdout).toContain('re-run to resume waiting (no second upload)');
    // The exact inputs that resume, the version included.
    expect(first.report?.message).toContain(
      `To resume, re-run the step with: { image-id: "${image.id}", display-name: "img", version: "2.0.0", auth: "oidc"`,
    );
    expect(first.report?.registration?.waitedSeconds).toBeGreaterThanOrEqual(180);
    const second = await runAction(f, inputs, { timeScale: SCALE });
    expect(second.outputs.status).toBe('timeout');
    expect(second.report?.registration?.created).toBe(false);
    expect(second.outputs['device-image-id']).toBe(first.outputs['device-image-id']);
    expect(f.counters.deviceImageCreates).toBe(1);
  });
});

describe('idempotent registration', () => {
  it('resumes a pending upload from an earlier run instead of creating a second one', async () => {
    const f = await cloud();
    const image = f.addManagedImage({ resourceGroup: 'images', name: 'img' });
    const earlier = f.addDeviceImage({
      displayName: 'Corp',
      version: '3.1.4',
      sourceImageResourceId: image.id,
      status: 'pending',
    });
    const run = await runAction(
      f,
      { 'image-id': image.id, 'display-name': 'Corp', version: '3.1.4', ...fakeInputs(f) },
      { timeScale: SCALE },
    );
    expect(run.stdout).toContain(`Found device image ${earlier.id}`);
    expect(run.outputs['device-image-id']).toBe(earlier.id);
    expect(run.outputs.status).toBe('ready');
    expect(run.report?.registration?.created).toBe(false);
    expect(run.report?.registration?.polls).toBeGreaterThan(0);
    expect(creates(f)).toHaveLength(0);
  });

  it('refuses a display name + version already used by another source image', async () => {
    const f = await cloud();
    const image = f.addManagedImage({ resourceGroup: 'images', name: 'img' });
    const other = f.addManagedImage({ resourceGroup: 'images', name: 'other' });
    f.addDeviceImage({
      displayName: 'Corp',
      version: '1.0.0',
      sourceImageResourceId: other.id,
      status: 'ready',
    });
    const run = await runAction(f, {
      'image-id': image.id,
      'display-name': 'Corp',
      version: '1.0.0',
      ...fakeInputs(f),
    });
    expect(run.code).toBe(1);
    expect(run.report?.error?.kind).toBe('conflict');
    expect(run.report?.error?.message).toContain('Choose another version');
    expect(creates(f)).toHaveLength(0);
  });

  it('handles a display name with a quote, and finds it again on a re-run', async () => {
    const f = await cloud();
    const image = f.addManagedImage({ resourceGroup: 'images', name: 'img' });
    const inputs = {
      'image-id': image.id,
      'display-name': "O'Brien's Cloud PC",
      version: '1.0.0',
      ...fakeInputs(f),
    };
    const first = await runAction(f, inputs, { timeScale: SCALE });
    expect(first.code, first.stdout).toBe(0);
    const filters = f.requests.filter((r) => r.query.$filter).map((r) => r.query.$filter);
    expect(filters).toContain("displayName eq 'O''Brien''s Cloud PC' and version eq '1.0.0'");
    expect(filters).toContain("displayName eq 'O''Brien''s Cloud PC'");
    const second = await runAction(f, inputs, { timeScale: SCALE });
    expect(second.code).toBe(0);
    expect(second.report?.registration?.created).toBe(false);
    expect(f.counters.deviceImageCreates).toBe(1);
  });

  it('follows every page of a paged listing', async () => {
    const f = await cloud({ graphPageSize: 3 });
    const image = f.addManagedImage({ resourceGroup: 'images', name: 'img' });
    for (let i = 0; i < 10; i++)
      f.addDeviceImage({ displayName: 'Corp', version: `0.0.${i}`, status: 'ready' });
    const run = await runAction(
      f,
      { 'image-id': image.id, 'display-name': 'Corp', version: '1.0.0', ...fakeInputs(f) },
      { timeScale: SCALE },
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('The tenant holds 10 of 20 custom images.');
    const pages = f.requests.filter(
      (r) => r.method === 'GET' && r.path.endsWith('/deviceImages') && !r.query.$filter,
    );
    // Each full listing takes 4 pages (10 images, 3 per page); a listing never stops early.
    expect(pages.length).toBeGreaterThanOrEqual(4);
    expect(pages.length % 4).toBe(0);
    expect(pages.filter((r) => r.query.$skiptoken).length).toBe((pages.length / 4) * 3);
  });
});

describe('a flaky Graph never causes a second upload', () => {
  it('survives 429 storms with Retry-After, 5xx and dropped connections', async () => {
    const f = await cloud();
    const image = f.addManagedImage({ resourceGroup: 'images', name: 'img' });
    f.inject({
      service: 'graph',
      method: 'GET',
      count: 3,
      kind: 'status',
      status: 429,
      retryAfterSeconds: 30,
    });
    f.inject({
      service: 'graph',
      method: 'POST',
      count: 2,
      kind: 'status',
      status: 429,
      retryAfterSeconds: 10,
    });
    f.inject({ service: 'graph', method: 'POST', count: 1, kind: 'after', status: 500 });
    f.inject({
      service: 'graph',
      method: 'GET',
      path: /deviceImages\/[0-9a-f-]{36}$/,
      count: 2,
      kind: 'status',
      status: 503,
    });
    f.inject({
      service: 'graph',
      method: 'GET',
      path: /deviceImages\/[0-9a-f-]{36}$/,
      count: 1,
      kind: 'drop',
    });
    const run = await runAction(
      f,
      { 'image-id': image.id, version: '1.0.0', ...fakeInputs(f) },
      { timeScale: SCALE },
    );
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs.status).toBe('ready');
    expect(f.counters.deviceImageCreates).toBe(1);
    expect(run.stdout).toContain('The earlier request did start the upload');
    expect(run.stdout).toMatch(/429 TooManyRequests.*retrying in 30 s/);
  });

  it('a dropped connection after the POST is processed', async () => {
    const f = await cloud();
    const image = f.addManagedImage({ resourceGroup: 'images', name: 'img' });
    f.inject({ service: 'graph', method: 'POST', count: 1, kind: 'after', status: 'drop' });
    const run = await runAction(
      f,
      { 'image-id': image.id, version: '1.0.0', ...fakeInputs(f) },
      { timeScale: SCALE },
    );
    expect(run.code, run.stdout).toBe(0);
    expect(f.counters.deviceImageCreates).toBe(1);
    expect(creates(f)).toHaveLength(1);
  });
});

describe('authentication', () => {
  it('outlives short-lived tokens: a fresh GitHub ID token for every Entra token', async () => {
    // ID tokens live 2 s and access tokens 3 s of real time; the upload takes about 8 s.
    const f = await cloud({ idTokenLifetimeSeconds: 2, accessTokenLifetimeSeconds: 3, uploadSeconds: 480 });
    const image = f.addManagedImage({ resourceGroup: 'images', name: 'img' });
    const run = await runAction(f, { 'image-id': image.id, ...fakeInputs(f) }, { timeScale: SCALE });
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs.status).toBe('ready');
    expect(f.counters.accessTokens).toBeGreaterThanOrEqual(3);
    expect(f.counters.idTokens).toBeGreaterThanOrEqual(f.counters.accessTokens);
    expect(f.requests.some((r) => r.status === 401)).toBe(false);
  });

  it.each(['usgov', 'AzureUSGovernment'])(
    'requests usgov audiences with azure-environment %s, even with endpoint overrides',
    async (environment) => {
      const f = await cloud({ cloud: 'usgov' });
      const image = f.addManagedImage({ resourceGroup: 'images', name: 'img' });
      const run = await runAction(
        f,
        { 'image-id': image.id, 'azure-environment': environment, ...fakeInputs(f) },
        { timeScale: SCALE },
      );
      expect(run.code, run.stdout).toBe(0);
      expect(run.summary).toContain('https://portal.azure.us/');
      expect(run.summary).toContain('https://intune.microsoft.us/');
    },
  );

  it('fails with the audience error when the cloud is wrong', async () => {
    const f = await cloud({ cloud: 'usgov' });
    const image = f.addManagedImage({ resourceGroup: 'images', name: 'img' });
    const run = await runAction(f, { 'image-id': image.id, ...fakeInputs(f) });
    expect(run.code).toBe(1);
    // An authentication failure, not a fact about the image.
    expect(run.outputs.status).toBe('error');
    expect(run.report?.error?.kind).toBe('auth');
    expect(run.report?.error?.message).toContain('AADSTS500011');
    expect(run.report?.error?.message).toContain('azure-environment');
    expect(run.report?.checks.find((c) => c.id === 'image.readable')).toBeUndefined();
    expect(f.counters.deviceImageCreates).toBe(0);
  });

  it('explains a federated credential that does not match the workflow', async () => {
    const f = await cloud({ githubSubject: 'repo:contoso/cloudpc-images:ref:refs/heads/main' });
    const image = f.addManagedImage({ resourceGroup: 'images', name: 'img' });
    const run = await runAction(f, { 'image-id': image.id, ...fakeInputs(f) });
    expect(run.code).toBe(1);
    expect(run.outputs.status).toBe('error');
    const message = run.report?.error?.message;
    expect(message).toContain('AADSTS70021');
    expect(message).toContain('repo:ORG/REPO:environment:ENV');
    expect(message).toContain("subject 'repo:contoso/cloudpc-images:ref:refs/heads/main'");
    expect(run.stdout).not.toContain('FAIL image.readable');
    expect(run.summary).not.toContain('does not meet');
  });
});
