import { ComputeManagementClient } from '@azure/arm-compute';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeCloud, type FakeCloud } from '../../fake-cloud/index.ts';
import { call, federatedCredential, sleep, trustFakeCloud } from './support.ts';

const ARM_SCOPE = 'https://management.azure.com/.default';

let fake: FakeCloud;
let client: ComputeManagementClient;

function computeClient(subscriptionId = fake.subscriptionId): ComputeManagementClient {
  return new ComputeManagementClient(federatedCredential(fake), subscriptionId, {
    endpoint: fake.url,
    credentials: { scopes: [ARM_SCOPE] },
    retryOptions: { maxRetries: 0 },
  });
}

beforeAll(async () => {
  // 20 virtual seconds of DELETE pass in 0.1 s.
  fake = await startFakeCloud({ timeScale: 200, armDeleteSeconds: 20 });
  trustFakeCloud(fake);
  client = computeClient();
  fake.addManagedImage({ resourceGroup: 'rg-images', name: 'good', tags: { build: '42' } });
  fake.addManagedImage({
    resourceGroup: 'rg-images',
    name: 'encrypted',
    diskEncryptionSetId:
      '/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/diskEncryptionSets/des',
    dataDisks: [{ diskSizeGB: 128 }],
  });
  fake.addManagedImage({ resourceGroup: 'rg-secret', name: 'hidden', forbidden: true });
});
afterAll(async () => {
  await fake.close();
});

const errorOf = async (promise: Promise<unknown>) => {
  try {
    await promise;
  } catch (error) {
    return error as { statusCode?: number; code?: string; message: string };
  }
  throw new Error('expected a failure');
};

describe('ARM Microsoft.Compute/images', () => {
  it('returns the real resource shape to ComputeManagementClient.images.get', async () => {
    const image = await client.images.get('rg-images', 'good');
    expect(image).toMatchObject({
      id: `/subscriptions/${fake.subscriptionId}/resourceGroups/rg-images/providers/Microsoft.Compute/images/good`,
      name: 'good',
      type: 'Microsoft.Compute/images',
      location: 'westeurope',
      tags: { build: '42' },
      hyperVGeneration: 'V2',
      provisioningState: 'Succeeded',
      storageProfile: {
        osDisk: {
          osType: 'Windows',
          osState: 'Generalized',
          diskSizeGB: 64,
          storageAccountType: 'Premium_LRS',
        },
        dataDisks: [],
        zoneResilient: false,
      },
    });
    expect(image.sourceVirtualMachine?.id).toMatch(/virtualMachines/);
    const encrypted = await client.images.get('RG-IMAGES', 'ENCRYPTED'); // IDs are case-insensitive
    expect(encrypted.storageProfile?.osDisk?.diskEncryptionSet?.id).toMatch(/diskEncryptionSets\/des$/);
    expect(encrypted.storageProfile?.dataDisks).toHaveLength(1);
    const recorded = fake.requests.find((r) => r.service === 'arm' && r.path.endsWith('/images/good'));
    expect(recorded?.query['api-version']).toBe('2026-04-01');
  });

  it('answers 404s with the real codes and wording', async () => {
    const missing = await errorOf(client.images.get('rg-images', 'nope'));
    expect(missing).toMatchObject({ statusCode: 404, code: 'ResourceNotFound' });
    expect(missing.message).toContain(
      "The Resource 'Microsoft.Compute/images/nope' under resource group 'rg-images' was not found.",
    );
    expect(await errorOf(client.images.get('rg-nope', 'good'))).toMatchObject({
      statusCode: 404,
      code: 'ResourceGroupNotFound',
    });
    const otherSub = computeClient('11111111-2222-3333-4444-555555555555');
    expect(await errorOf(otherSub.images.get('rg-images', 'good'))).toMatchObject({
      statusCode: 404,
      code: 'SubscriptionNotFound',
    });
  });

  it('answers 403 AuthorizationFailed for a forbidden image', async () => {
    const denied = await errorOf(client.images.get('rg-secret', 'hidden'));
    expect(denied).toMatchObject({ statusCode: 403, code: 'AuthorizationFailed' });
    expect(denied.message).toMatch(
      /^The client '.+' with object id '.+' does not have authorization to perform action 'Microsoft\.Compute\/images\/read' over scope '.+images\/hidden'/,
    );
  });

  it('deletes through a long-running operation the SDK polls to completion', async () => {
    fake.addManagedImage({ resourceGroup: 'rg-images', name: 'old' });
    await client.images.beginDeleteAndWait('rg-images', 'old', { updateIntervalInMs: 20 });
    expect(await errorOf(client.images.get('rg-images', 'old'))).toMatchObject({ statusCode: 404 });
    const polls = fake.requests.filter((r) => r.path.includes('/operations/'));
    expect(polls.length).toBeGreaterThan(0);
    // Already absent: 204, the SDK is satisfied at once.
    await client.images.beginDeleteAndWait('rg-images', 'old', { updateIntervalInMs: 20 });
    const last = fake.requests.filter((r) => r.method === 'DELETE').at(-1);
    expect(last?.status).toBe(204);
  });

  it('shows InProgress then Succeeded on the Azure-AsyncOperation URL', async () => {
    const slow = await startFakeCloud({ armDeleteSeconds: 1 });
    try {
      trustFakeCloud(slow);
      slow.addManagedImage({ resourceGroup: 'rg', name: 'img' });
      const token = (await federatedCredential(slow).getToken(ARM_SCOPE)).token;
      const path = `/subscriptions/${slow.subscriptionId}/resourceGroups/rg/providers/Microsoft.Compute/images/img?api-version=2026-04-01`;
      const started = await call(slow, 'DELETE', path, { token });
      expect(started.status).toBe(202);
      const operation = started.headers.get('azure-asyncoperation') ?? '';
      expect(operation.startsWith(`${slow.url}/`)).toBe(true);
      expect(started.headers.get('location')).toContain(slow.url);
      expect((await call(slow, 'GET', operation, { token })).body).toMatchObject({ status: 'InProgress' });
      expect((await call(slow, 'GET', path, { token })).body).toMatchObject({
        properties: { provisioningState: 'Deleting' },
      });
      // A DELETE repeated while the first still runs joins it, as ARM does: no second operation.
      const again = await call(slow, 'DELETE', path, { token });
      expect(again.status).toBe(202);
      expect(again.headers.get('azure-asyncoperation')?.split('?')[0]).toBe(operation.split('?')[0]);
      expect(slow.counters.armDeletes).toBe(1);
      await sleep(1100);
      expect((await call(slow, 'GET', operation, { token })).body).toMatchObject({ status: 'Succeeded' });
      expect((await call(slow, 'GET', path, { token })).status).toBe(404);
    } finally {
      await slow.close();
    }
  });

  it('checks api-version and the bearer token', async () => {
    const token = (await federatedCredential(fake).getToken(ARM_SCOPE)).token;
    const base = `/subscriptions/${fake.subscriptionId}/resourceGroups/rg-images/providers/Microsoft.Compute/images/good`;
    expect((await call(fake, 'GET', base, { token })).body).toMatchObject({
      error: { code: 'MissingApiVersionParameter' },
    });
    expect((await call(fake, 'GET', `${base}?api-version=2015-01-01`, { token })).body).toMatchObject({
      error: { code: 'InvalidApiVersionParameter' },
    });
    const anonymous = await call(fake, 'GET', `${base}?api-version=2026-04-01`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer authorization_uri=/);
    expect(anonymous.body).toMatchObject({ error: { code: 'AuthenticationFailed' } });
    const graphToken = (await federatedCredential(fake).getToken('https://graph.microsoft.com/.default'))
      .token;
    expect(
      (await call(fake, 'GET', `${base}?api-version=2026-04-01`, { token: graphToken })).body,
    ).toMatchObject({
      error: { code: 'InvalidAuthenticationTokenAudience' },
    });
  });

  it('refuses an expired access token with ExpiredAuthenticationToken', async () => {
    const short = await startFakeCloud({ accessTokenLifetimeSeconds: 2 });
    try {
      trustFakeCloud(short);
      short.addManagedImage({ resourceGroup: 'rg', name: 'img' });
      const token = (await federatedCredential(short).getToken(ARM_SCOPE)).token;
      const path = `/subscriptions/${short.subscriptionId}/resourceGroups/rg/providers/Microsoft.Compute/images/img?api-version=2026-04-01`;
      expect((await call(short, 'GET', path, { token })).status).toBe(200);
      await sleep(2100);
      const expired = await call(short, 'GET', path, { token });
      expect(expired.status).toBe(401);
      expect(expired.body).toMatchObject({ error: { code: 'ExpiredAuthenticationToken' } });
    } finally {
      await short.close();
    }
  });
});
