import { getClient, type Client } from '@azure-rest/core-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeCloud, type FakeCloud } from '../../fake-cloud/index.ts';
import { call, federatedCredential, sleep, trustFakeCloud } from './support.ts';

const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
const IMAGES = '/v1.0/deviceManagement/virtualEndpoint/deviceImages';
const BETA_IMAGES = '/beta/deviceManagement/virtualEndpoint/deviceImages';
const POLICIES = '/v1.0/deviceManagement/virtualEndpoint/provisioningPolicies';
const PREFER = { Prefer: 'include-unknown-enum-members' };

interface DeviceImageBody {
  id: string;
  displayName: string;
  version: string;
  status: string;
  errorCode: string | null;
  [key: string]: unknown;
}

let fake: FakeCloud;
let graph: Client;

/** A fake whose uploads take 120 virtual seconds, i.e. 0.1 s. */
async function newFake(): Promise<void> {
  fake = await startFakeCloud({ timeScale: 1200, uploadSeconds: 120, graphPageSize: 2 });
  trustFakeCloud(fake);
  graph = getClient(fake.url, federatedCredential(fake), {
    credentials: { scopes: [GRAPH_SCOPE] },
    retryOptions: { maxRetries: 3, retryDelayInMs: 10, maxRetryDelayInMs: 50 },
  });
}

beforeAll(newFake);
beforeEach(async () => {
  await fake.close();
  await newFake();
});
afterAll(async () => {
  await fake.close();
});

function sourceId(name: string): string {
  return `/subscriptions/${fake.subscriptionId}/resourceGroups/rg-images/providers/Microsoft.Compute/images/${name}`;
}

async function create(displayName: string, version: string, source: string) {
  return graph
    .path(IMAGES)
    .post({ headers: PREFER, body: { displayName, version, sourceImageResourceId: source } });
}

async function waitForStatus(id: string, headers: Record<string, string> = PREFER): Promise<DeviceImageBody> {
  for (let i = 0; i < 100; i += 1) {
    const res = await graph.path(`${IMAGES}/${id}`).get({ headers });
    const body = res.body as DeviceImageBody;
    if (body.status !== 'pending') return body;
    await sleep(20);
  }
  throw new Error('still pending');
}

describe('Graph deviceImages', () => {
  it('lists in pages with @odata.nextLink and filters with escaped quotes', async () => {
    for (const [name, version] of [
      ['alpha', '1.0.0'],
      ["O'Brien", '1.0.0'],
      ["O'Brien", '1.0.1'],
      ['beta', '2.0.0'],
      ['gamma', '3.0.0'],
    ] as const) {
      fake.addDeviceImage({ displayName: name, version });
    }
    const seen: string[] = [];
    let url: string | undefined = IMAGES;
    let pages = 0;
    while (url) {
      const res = await graph.path(url).get({ headers: PREFER });
      expect(res.status).toBe('200');
      const body = res.body as {
        '@odata.context': string;
        '@odata.nextLink'?: string;
        value: DeviceImageBody[];
      };
      expect(body['@odata.context']).toContain('$metadata#deviceManagement/virtualEndpoint/deviceImages');
      seen.push(...body.value.map((v) => `${v.displayName}@${v.version}`));
      url = body['@odata.nextLink'];
      if (url) expect(url).toMatch(new RegExp(`^${fake.url.replaceAll('.', '\\.')}/v1\\.0/.*\\$skiptoken=`));
      pages += 1;
    }
    expect(pages).toBe(3);
    expect(seen).toHaveLength(5);

    const filtered = await graph.path(IMAGES).get({
      headers: PREFER,
      queryParameters: {
        $filter: "displayName eq 'O''Brien' and version eq '1.0.1'",
        $select: 'id,displayName,version',
      },
    });
    const value = (filtered.body as { value: Record<string, unknown>[] }).value;
    expect(value).toHaveLength(1);
    expect(Object.keys(value[0] ?? {}).sort()).toEqual(['displayName', 'id', 'version']);
    expect(value[0]).toMatchObject({ displayName: "O'Brien", version: '1.0.1' });
  });

  it('rejects malformed OData and unknown query options with 400', async () => {
    for (const queryParameters of [
      { $filter: "displayName eq 'O'Brien'" },
      { $filter: "startswith(displayName,'a')" },
      { $filter: "displayName ne 'a'" },
      { $filter: "errorCode eq 'x'" },
      { $select: 'id,bogus' },
      { $orderby: 'displayName' },
      { $top: '0' },
      { $skiptoken: 'garbage' },
      { filter: "displayName eq 'a'" },
    ]) {
      const res = await graph.path(IMAGES).get({ queryParameters });
      expect(res.status, JSON.stringify(queryParameters)).toBe('400');
      expect(res.body).toMatchObject({
        error: { code: 'BadRequest', innerError: { 'request-id': expect.any(String) } },
      });
    }
  });

  it('creates a pending image that becomes ready', async () => {
    fake.addManagedImage({ resourceGroup: 'rg-images', name: 'good' });
    const res = await create('Contoso Win11', '1.2.3', sourceId('good'));
    expect(res.status).toBe('201');
    const created = res.body as DeviceImageBody;
    expect(created).toMatchObject({
      displayName: 'Contoso Win11',
      version: '1.2.3',
      sourceImageResourceId: sourceId('good'),
      status: 'pending',
      errorCode: null,
      osStatus: 'supported',
    });
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Object.keys(created)).toEqual(
      expect.arrayContaining(['operatingSystem', 'osBuildNumber', 'expirationDate', 'lastModifiedDateTime']),
    );
    const beta = (await graph.path(`${BETA_IMAGES}/${created.id}`).get({ headers: PREFER }))
      .body as DeviceImageBody;
    expect(beta).toMatchObject({ sizeInGB: 64, statusDetails: null });
    expect(beta.osVersionNumber).toEqual(expect.any(String));
    const ready = await waitForStatus(created.id);
    expect(ready).toMatchObject({ status: 'ready', errorCode: null });
    expect(fake.counters.deviceImageCreates).toBe(1);
    const post = fake.requests.find((r) => r.service === 'graph' && r.method === 'POST');
    expect(post?.prefer).toBe('include-unknown-enum-members');
  });

  it('fails uploads with the errorCode Windows 365 gives each bad source', async () => {
    const cases: Array<[string, Parameters<FakeCloud['addManagedImage']>[0] | undefined, string]> = [
      ['missing', undefined, 'sourceImageNotFound'],
      [
        'specialized',
        { resourceGroup: 'rg-images', name: 'specialized', osState: 'Specialized' },
        'sourceImageNotGeneralized',
      ],
      ['gen1', { resourceGroup: 'rg-images', name: 'gen1', hyperVGeneration: 'V1' }, 'sourceImageInvalid'],
      [
        'big',
        { resourceGroup: 'rg-images', name: 'big', diskSizeGB: 128 },
        'sourceImageSizeExceedsLimitation',
      ],
      [
        'data',
        { resourceGroup: 'rg-images', name: 'data', dataDisks: [{ diskSizeGB: 32 }] },
        'sourceImageInvalid',
      ],
      [
        'des',
        { resourceGroup: 'rg-images', name: 'des', diskEncryptionSetId: '/subscriptions/x/des' },
        'sourceImageInvalid',
      ],
      [
        'paid',
        {
          resourceGroup: 'rg-images',
          name: 'paid',
          tags: { PlanName: 'x', PlanProduct: 'y', PlanPublisher: 'z' },
        },
        'paidSourceImageNotSupport',
      ],
      [
        'joined',
        {
          resourceGroup: 'rg-images',
          name: 'joined',
          uploadOutcome: { errorCode: 'vmAlreadyAzureAdJoined' },
        },
        'vmAlreadyAzureAdJoined',
      ],
    ];
    const ids: Array<[string, string]> = [];
    for (const [name, spec, expected] of cases) {
      if (spec) fake.addManagedImage(spec);
      const res = await create(`img-${name}`, '1.0.0', sourceId(name));
      expect(res.status).toBe('201');
      ids.push([(res.body as DeviceImageBody).id, expected]);
    }
    for (const [id, expected] of ids) {
      expect(await waitForStatus(id)).toMatchObject({ status: 'failed', errorCode: expected });
    }
  });

  it('hides evolvable errorCodes as unknownFutureValue without Prefer', async () => {
    fake.addManagedImage({ resourceGroup: 'rg-images', name: 'big', diskSizeGB: 256 });
    fake.addManagedImage({ resourceGroup: 'rg-images', name: 'specialized', osState: 'Specialized' });
    const big = (await create('big', '1.0.0', sourceId('big'))).body as DeviceImageBody;
    const spec = (await create('specialized', '1.0.0', sourceId('specialized'))).body as DeviceImageBody;
    expect(await waitForStatus(big.id, {})).toMatchObject({
      status: 'failed',
      errorCode: 'unknownFutureValue',
    });
    expect(await waitForStatus(big.id)).toMatchObject({ errorCode: 'sourceImageSizeExceedsLimitation' });
    // sourceImageNotGeneralized is declared before the sentinel: always returned as is.
    expect(await waitForStatus(spec.id, {})).toMatchObject({ errorCode: 'sourceImageNotGeneralized' });
    const listed = (await graph.path(IMAGES).get({ queryParameters: { $filter: "displayName eq 'big'" } }))
      .body as { value: DeviceImageBody[] };
    expect(listed.value[0]?.errorCode).toBe('unknownFutureValue');
  });

  it('validates create bodies strictly, refuses duplicates and the 21st image', async () => {
    const source = sourceId('any');
    for (const body of [
      { displayName: 'x', version: '1.0', sourceImageResourceId: source },
      { displayName: 'x', version: 'v1.0.0', sourceImageResourceId: source },
      { displayName: '', version: '1.0.0', sourceImageResourceId: source },
      { displayName: 'x', version: '1.0.0', sourceImageResourceId: '/subscriptions/abc/images/x' },
      { displayName: 'x', version: '1.0.0', sourceImageResourceId: source, status: 'ready' },
      { displayName: 'x', version: '1.0.0', sourceImageResourceId: source, extra: 1 },
      { displayName: 'x', version: '1.0.0' },
    ]) {
      const res = await graph.path(IMAGES).post({ body });
      expect(res.status, JSON.stringify(body)).toBe('400');
    }
    expect((await create('x', '1.0.0', source)).status).toBe('201');
    const duplicate = await create('x', '1.0.0', source);
    expect(duplicate.status).toBe('409');
    for (let i = 1; i < 20; i += 1) fake.addDeviceImage({ displayName: 'filler', version: `0.0.${i}` });
    const overLimit = await create('x', '2.0.0', source);
    expect(overLimit.status).toBe('400');
    expect(JSON.stringify(overLimit.body)).toMatch(/limit is 20/);
    expect(fake.counters.deviceImageCreates).toBe(1);
  });

  it('refuses to delete an image a provisioning policy uses, then deletes it once repointed', async () => {
    const used = fake.addDeviceImage({ displayName: 'used', version: '1.0.0' });
    const next = fake.addDeviceImage({ displayName: 'used', version: '1.0.1' });
    const pending = fake.addDeviceImage({
      displayName: 'used',
      version: '1.0.2',
      status: 'pending',
      uploadOutcome: 'never',
    });
    const policy = fake.addProvisioningPolicy({
      displayName: 'Contoso',
      imageId: used.id,
      imageType: 'custom',
    });
    const refused = await graph.path(`${IMAGES}/${used.id}`).delete();
    expect(refused.status).toBe('400');
    expect(JSON.stringify(refused.body)).toMatch(/provisioning policy/);

    const policies = (await graph.path(POLICIES).get()).body as { value: Array<Record<string, unknown>> };
    expect(policies.value[0]).toMatchObject({
      id: policy.id,
      imageId: used.id,
      imageType: 'custom',
      managedBy: 'windows365',
    });
    expect(
      (
        await graph
          .path(`${POLICIES}/${policy.id}`)
          .patch({ body: { imageId: pending.id, imageType: 'custom' } })
      ).status,
    ).toBe('400');
    expect(
      (await graph.path(`${POLICIES}/${policy.id}`).patch({ body: { displayName: 'renamed' } })).status,
    ).toBe('400');
    const patched = await graph
      .path(`${POLICIES}/${policy.id}`)
      .patch({ body: { imageId: next.id, imageDisplayName: 'used 1.0.1', imageType: 'custom' } });
    expect(patched.status).toBe('204');
    expect(
      ((await graph.path(`${POLICIES}/${policy.id}`).get()).body as Record<string, unknown>).imageId,
    ).toBe(next.id);

    expect((await graph.path(`${IMAGES}/${used.id}`).delete()).status).toBe('204');
    expect((await graph.path(`${IMAGES}/${used.id}`).get()).status).toBe('404');
  });

  it('retries a failed upload with beta retryUpload only, and never serves reupload', async () => {
    fake.addManagedImage({
      resourceGroup: 'rg-images',
      name: 'flaky',
      uploadOutcome: { errorCode: 'internalServerError' },
    });
    const image = (await create('flaky', '1.0.0', sourceId('flaky'))).body as DeviceImageBody;
    expect((await graph.path(`${BETA_IMAGES}/${image.id}/retryUpload`).post()).status).toBe('400'); // still pending
    expect(await waitForStatus(image.id)).toMatchObject({
      status: 'failed',
      errorCode: 'internalServerError',
    });
    expect((await graph.path(`${IMAGES}/${image.id}/retryUpload`).post()).status).toBe('400'); // not in v1.0
    expect((await graph.path(`${BETA_IMAGES}/${image.id}/reupload`).post()).status).toBe('410');
    const retried = await graph.path(`${BETA_IMAGES}/${image.id}/retryUpload`).post();
    expect(retried.status).toBe('204');
    expect(((await graph.path(`${IMAGES}/${image.id}`).get()).body as DeviceImageBody).status).toBe(
      'pending',
    );
    expect(await waitForStatus(image.id)).toMatchObject({ status: 'failed' });
    expect(fake.counters.retryUploads).toBe(1);
    expect(fake.counters.reuploadCalls).toBe(1);
  });

  it('sends 429 with Retry-After and the SDK retries', async () => {
    fake.inject({
      service: 'graph',
      method: 'GET',
      path: /deviceImages$/,
      count: 2,
      kind: 'status',
      status: 429,
      retryAfterSeconds: 0,
    });
    const res = await graph.path(IMAGES).get();
    expect(res.status).toBe('200');
    const throttled = fake.requests.filter((r) => r.injected === 'status:429');
    expect(throttled).toHaveLength(2);
    const raw =
      (fake.inject({ service: 'graph', count: 1, kind: 'status', status: 429, retryAfterSeconds: 7 }),
      await call(fake, 'GET', IMAGES));
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toBe('7');
    expect(raw.body).toMatchObject({ error: { code: 'TooManyRequests' } });
  });

  it('an `after` fault on create still creates exactly one image', async () => {
    fake.addManagedImage({ resourceGroup: 'rg-images', name: 'good' });
    fake.inject({
      service: 'graph',
      method: 'POST',
      path: 'deviceImages',
      count: 1,
      kind: 'after',
      status: 500,
    });
    const res = await create('once', '1.0.0', sourceId('good'));
    // The pipeline retried the POST: the first one had created the image, so the retry is a duplicate.
    expect(res.status).toBe('409');
    expect(fake.counters.deviceImageCreates).toBe(1);
    const posts = fake.requests.filter((r) => r.method === 'POST' && r.service === 'graph');
    expect(posts.map((p) => [p.injected, p.handledStatus, p.status])).toEqual([
      ['after:500', 201, 500],
      [undefined, undefined, 409],
    ]);

    fake.inject({ service: 'graph', method: 'POST', count: 1, kind: 'after', status: 'drop' });
    await create('twice', '1.0.0', sourceId('good'));
    expect(fake.counters.deviceImageCreates).toBe(2);
    const all = (await graph.path(IMAGES).get({ queryParameters: { $top: '2' } })).body as {
      value: unknown[];
    };
    expect(all.value).toHaveLength(2);
  });

  it('drops connections on a drop fault', async () => {
    fake.inject({ service: 'graph', count: 1, kind: 'drop' });
    await expect(call(fake, 'GET', IMAGES)).rejects.toThrow();
    expect(fake.requests.at(-1)?.injected).toBe('drop');
  });

  it('requires a Graph token and refuses expired ones', async () => {
    const missing = await call(fake, 'GET', IMAGES);
    expect(missing.status).toBe(401);
    expect(missing.body).toMatchObject({
      error: { code: 'InvalidAuthenticationToken', innerError: { date: expect.any(String) } },
    });
    const armToken = (await federatedCredential(fake).getToken('https://management.azure.com/.default'))
      .token;
    expect((await call(fake, 'GET', IMAGES, { token: armToken })).status).toBe(401);

    const short = await startFakeCloud({ accessTokenLifetimeSeconds: 2 });
    try {
      trustFakeCloud(short);
      const token = (await federatedCredential(short).getToken(GRAPH_SCOPE)).token;
      expect((await call(short, 'GET', IMAGES, { token })).status).toBe(200);
      await sleep(2100);
      const expired = await call(short, 'GET', IMAGES, { token });
      expect(expired.status).toBe(401);
      expect(JSON.stringify(expired.body)).toContain('Lifetime validation failed, the token is expired.');
    } finally {
      await short.close();
    }
  });

  it('reads change nothing (snapshot)', async () => {
    fake.addDeviceImage({ displayName: 'stable', version: '1.0.0' });
    fake.addProvisioningPolicy({
      displayName: 'p',
      imageId: 'MicrosoftWindowsDesktop_windows-ent-cpc_win11-24h2-ent-cpc',
      imageType: 'gallery',
    });
    const before = fake.snapshot();
    await graph.path(IMAGES).get();
    await graph.path(POLICIES).get();
    expect(fake.snapshot()).toEqual(before);
  });
});

describe('Graph getSourceImages', () => {
  const SOURCES = `${IMAGES}/getSourceImages`;

  async function allPages(path: string): Promise<Array<Record<string, unknown>>> {
    const items: Array<Record<string, unknown>> = [];
    let next: string | undefined = path;
    let pages = 0;
    while (next) {
      const res = await graph.pathUnchecked(next).get();
      expect(res.status).toBe('200');
      const body = res.body as { value: Array<Record<string, unknown>>; '@odata.nextLink'?: string };
      items.push(...body.value);
      next = body['@odata.nextLink'];
      pages += 1;
    }
    expect(pages).toBeGreaterThan(1);
    return items;
  }

  it('lists, in pages, only the Windows images Windows 365 itself can read', async () => {
    for (const name of ['a', 'b', 'c']) fake.addManagedImage({ resourceGroup: 'rg-images', name });
    fake.addManagedImage({ resourceGroup: 'rg-images', name: 'hidden', windows365CanRead: false });
    fake.addManagedImage({ resourceGroup: 'rg-images', name: 'linux', osType: 'Linux' });
    const items = await allPages(SOURCES);
    expect(items.map((i) => i.displayName).sort()).toEqual(['a', 'b', 'c']);
    expect(items[0]).toEqual({
      resourceId: sourceId(items[0]?.displayName as string),
      displayName: items[0]?.displayName,
      subscriptionId: fake.subscriptionId,
      subscriptionDisplayName: 'Fake subscription',
    });
    const v1Filter = await graph.path(SOURCES).get({ queryParameters: { $filter: "displayName eq 'a'" } });
    expect(v1Filter.status).toBe('400');
    const betaFilter = await graph
      .path(`${BETA_IMAGES}/getSourceImages`)
      .get({ queryParameters: { $filter: "displayName eq 'a'" } });
    expect((betaFilter.body as { value: unknown[] }).value).toHaveLength(1);
  });

  it('fails the upload of an image Windows 365 cannot read with sourceImageNotFound', async () => {
    const hidden = fake.addManagedImage({
      resourceGroup: 'rg-images',
      name: 'hidden',
      windows365CanRead: false,
    });
    const res = await create('hidden', '1.0.0', hidden.id);
    expect(res.status).toBe('201');
    const done = await waitForStatus((res.body as DeviceImageBody).id);
    expect(done).toMatchObject({ status: 'failed', errorCode: 'sourceImageNotFound' });
  });
});

describe('Graph list lag', () => {
  it('leaves a new device image out of lists until the lag has passed; GET by id sees it at once', async () => {
    // 600 virtual seconds of lag = 0.5 s: far longer than two local requests with a token already in hand.
    const lagging = await startFakeCloud({ timeScale: 1200, deviceImageListLagSeconds: 600 });
    try {
      trustFakeCloud(lagging);
      const client = getClient(lagging.url, federatedCredential(lagging), {
        credentials: { scopes: [GRAPH_SCOPE] },
      });
      const list = async () => ((await client.path(IMAGES).get()).body as { value: unknown[] }).value.length;
      expect(await list()).toBe(0); // also fetches the token
      const image = lagging.addDeviceImage({ displayName: 'new', version: '1.0.0' });
      expect(await list()).toBe(0);
      expect((await client.path(`${IMAGES}/${image.id}`).get()).status).toBe('200');
      await sleep(600); // 720 virtual seconds
      expect(await list()).toBe(1);
    } finally {
      await lagging.close();
    }
  });
});
