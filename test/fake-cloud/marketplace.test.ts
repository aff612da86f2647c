import { ComputeManagementClient } from '@azure/arm-compute';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeCloud, type FakeCloud } from '../../fake-cloud/index.ts';
import { call, federatedCredential, trustFakeCloud } from './support.ts';

let fake: FakeCloud;
let compute: ComputeManagementClient;

beforeAll(async () => {
  fake = await startFakeCloud({ timeScale: 200 });
  trustFakeCloud(fake);
  compute = new ComputeManagementClient(federatedCredential(fake), fake.subscriptionId, {
    endpoint: fake.url,
    credentials: { scopes: ['https://management.azure.com/.default'] },
    retryOptions: { maxRetries: 0 },
  });
});
afterAll(async () => {
  await fake.close();
});

describe('ARM Marketplace virtual machine images', () => {
  it('lists the offer SKUs and a SKU versions as bare arrays of { location, name, id }', async () => {
    const skus = await compute.virtualMachineImages.listSkus(
      'westeurope',
      'MicrosoftWindowsDesktop',
      'windows-ent-cpc',
    );
    expect(skus.map((s) => s.name)).toEqual([
      'win11-24h2-ent-cpc',
      'win11-24h2-ent-cpc-m365',
      'win11-25h2-ent-cpc',
      'win11-25h2-ent-cpc-m365',
    ]);
    expect(skus[0]).toMatchObject({ location: 'westeurope' });
    expect(skus[0]?.id).toMatch(/\/Skus\/win11-24h2-ent-cpc$/);
    const versions = await compute.virtualMachineImages.list(
      'westeurope',
      'MicrosoftWindowsDesktop',
      'windows-ent-cpc',
      'win11-25h2-ent-cpc',
    );
    expect(versions.map((v) => v.name)).toEqual(['26200.6584.250910', '26200.6899.251014']);
  });

  it('lists the location publishers and a publisher offers', async () => {
    const publishers = await compute.virtualMachineImages.listPublishers('westeurope');
    expect(publishers.map((p) => p.name)).toEqual(['MicrosoftWindowsDesktop']);
    const offers = await compute.virtualMachineImages.listOffers('westeurope', 'MicrosoftWindowsDesktop');
    expect(offers.map((o) => o.name)).toEqual(['windows-11', 'windows-ent-cpc']);
    const none = await compute.virtualMachineImages
      .listOffers('westeurope', 'Contoso')
      .catch((e: { statusCode?: number }) => e);
    expect(none).toMatchObject({ statusCode: 404 });
  });

  it('returns a version with its generation and features', async () => {
    const image = await compute.virtualMachineImages.get(
      'westeurope',
      'MicrosoftWindowsDesktop',
      'windows-ent-cpc',
      'win11-25h2-ent-cpc',
      '26200.6899.251014',
    );
    expect(image.hyperVGeneration).toBe('V2');
    expect(image.features).toContainEqual({ name: 'SecurityType', value: 'TrustedLaunchSupported' });
    expect(image.osDiskImage?.operatingSystem).toBe('Windows');
  });

  it('answers 404 for an unknown SKU or version, and only lists a location-bound image there', async () => {
    const notFound = await compute.virtualMachineImages
      .list('westeurope', 'MicrosoftWindowsDesktop', 'windows-ent-cpc', 'win11-23h2-ent-cpc')
      .catch((e: { statusCode?: number }) => e);
    expect(notFound).toMatchObject({ statusCode: 404 });
    fake.addMarketplaceImage({
      publisher: 'MicrosoftWindowsDesktop',
      offer: 'windows-ent-cpc',
      sku: 'win11-26h1-ent-cpc',
      version: '28000.1.260101',
      locations: ['eastus'],
    });
    const west = await compute.virtualMachineImages.listSkus(
      'westeurope',
      'MicrosoftWindowsDesktop',
      'windows-ent-cpc',
    );
    const east = await compute.virtualMachineImages.listSkus(
      'eastus',
      'MicrosoftWindowsDesktop',
      'windows-ent-cpc',
    );
    expect(west.map((s) => s.name)).not.toContain('win11-26h1-ent-cpc');
    expect(east.map((s) => s.name)).toContain('win11-26h1-ent-cpc');
  });
});

describe('Graph galleryImages', () => {
  it('lists Windows 365 gallery images with {publisher}_{offer}_{sku} ids and their end dates', async () => {
    const token =
      (await federatedCredential(fake).getToken('https://graph.microsoft.com/.default'))?.token ?? '';
    const list = await call(fake, 'GET', '/v1.0/deviceManagement/virtualEndpoint/galleryImages', { token });
    expect(list.status).toBe(200);
    const value = (list.body as { value: Array<Record<string, unknown>> }).value;
    expect(value.map((g) => g.id)).toContain('MicrosoftWindowsDesktop_windows-ent-cpc_win11-25h2-ent-cpc');
    expect(value[0]).toMatchObject({ endDate: expect.any(String), expirationDate: expect.any(String) });
    const filtered = await call(
      fake,
      'GET',
      "/v1.0/deviceManagement/virtualEndpoint/galleryImages?$filter=skuName eq 'win11-24h2-ent-cpc'",
      { token },
    );
    expect((filtered.body as { value: unknown[] }).value).toHaveLength(1);
  });
});
