// Real clients (GraphClient, ManagedImageClient) against an in-process fake cloud, for the rollout tests.
import { ManagedImageClient } from '../../src/azure/managedImage.ts';
import { parseManagedImageId, type ManagedImageId } from '../../src/azure/resourceId.ts';
import { GraphClient } from '../../src/graph/client.ts';
import type { DeviceImage } from '../../src/graph/deviceImages.ts';
import { systemClock, type Clock } from '../../src/util/clock.ts';
import type { Log } from '../../src/util/log.ts';
import { startFakeCloud, type FakeCloud, type FakeCloudOptions } from '../../fake-cloud/index.ts';
import { federatedCredential, trustFakeCloud } from '../fake-cloud/support.ts';

/** Virtual seconds per real second: a 120 s upload takes 0.2 s, a 15 s poll 25 ms. */
export const SCALE = 600;

export interface TestLog extends Log {
  lines: string[];
}

export function testLog(): TestLog {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => lines.push(`info: ${m}`),
    warning: (m) => lines.push(`warning: ${m}`),
    error: (m) => lines.push(`error: ${m}`),
    debug: () => {},
    group: (_title, fn) => fn(),
    mask: () => {},
  };
}

export interface Env {
  fake: FakeCloud;
  graph: GraphClient;
  images: ManagedImageClient;
  clock: Clock;
  log: TestLog;
}

export async function startEnv(options: FakeCloudOptions = {}): Promise<Env> {
  const fake = await startFakeCloud({
    timeScale: SCALE,
    uploadSeconds: 120,
    armDeleteSeconds: 20,
    graphPageSize: 3,
    ...options,
  });
  trustFakeCloud(fake);
  const credential = federatedCredential(fake);
  const clock = systemClock(SCALE);
  const log = testLog();
  const graph = new GraphClient({
    endpoint: fake.url,
    scope: 'https://graph.microsoft.com/.default',
    credential,
    clock,
    log,
    userAgent: 'w365-image-test',
  });
  const images = new ManagedImageClient({
    credential,
    endpoint: fake.url,
    scope: 'https://management.azure.com/.default',
    userAgent: 'w365-image-test',
  });
  return { fake, graph, images, clock, log };
}

export function imageId(id: string): ManagedImageId {
  const parsed = parseManagedImageId(id);
  if (!parsed.ok) throw new Error(`bad test image id ${id}: ${parsed.problem}`);
  return parsed.value;
}

interface Snapshot {
  managedImages: Array<{ id: string; provisioningState: string }>;
  deviceImages: Array<{ id: string; displayName: string; version: string; status: string }>;
  provisioningPolicies: Array<{ id: string; displayName: string; imageId: string; imageType: string }>;
}

export function snapshot(fake: FakeCloud): Snapshot {
  return fake.snapshot() as Snapshot;
}

export function policyImage(fake: FakeCloud, policyId: string): string | undefined {
  return snapshot(fake).provisioningPolicies.find((p) => p.id === policyId)?.imageId;
}

export function deviceImageIds(fake: FakeCloud): string[] {
  return snapshot(fake)
    .deviceImages.map((i) => i.id)
    .sort();
}

/** Writes (anything but GET) the fake received on Graph and ARM. */
export function writes(fake: FakeCloud) {
  return fake.requests.filter((r) => (r.service === 'graph' || r.service === 'arm') && r.method !== 'GET');
}

/**
 * A tenant that is full: 'Corp' 1.0.0-1.0.4 (ready), 15 images of other teams. Policies 'Sales' and 'Engineering'
 * use 1.0.4; 'Legacy' (not rolled out) uses 1.0.1. A new managed image waits to be uploaded as 'Corp' 1.0.5.
 */
export function seedFullTenant(env: Env) {
  const { fake } = env;
  const corp = ['1.0.0', '1.0.1', '1.0.2', '1.0.3', '1.0.4'].map((version) =>
    fake.addDeviceImage({ displayName: 'Corp', version }),
  );
  const others = Array.from({ length: 15 }, (_, i) =>
    fake.addDeviceImage({ displayName: `Team ${i}`, version: '2.0.0' }),
  );
  const v4 = corp[4] as DeviceImage;
  const sales = fake.addProvisioningPolicy({ displayName: 'Sales', imageId: v4.id, imageType: 'custom' });
  const eng = fake.addProvisioningPolicy({ displayName: 'Engineering', imageId: v4.id, imageType: 'custom' });
  const legacy = fake.addProvisioningPolicy({
    displayName: 'Legacy',
    imageId: (corp[1] as DeviceImage).id,
    imageType: 'custom',
  });
  const source = fake.addManagedImage({ resourceGroup: 'rg-images', name: 'corp-1.0.5' });
  return { corp, others, sales, eng, legacy, source };
}

/** A managed image whose upload as 'Corp' 1.0.0 failed with a transient internalServerError (one Windows 365 retries). */
export function seedFailedUpload(env: Env) {
  const source = env.fake.addManagedImage({ resourceGroup: 'rg-images', name: 'win11' });
  const failed = env.fake.addDeviceImage({
    displayName: 'Corp',
    version: '1.0.0',
    sourceImageResourceId: source.id,
    status: 'failed',
    errorCode: 'internalServerError',
  });
  return { source, failed };
}

/** Device images, policies and managed images, by name and version, for comparing end states. */
export function summary(fake: FakeCloud) {
  const s = snapshot(fake);
  const byId = new Map(s.deviceImages.map((i) => [i.id, `${i.displayName} ${i.version}`]));
  return {
    deviceImages: s.deviceImages.map((i) => `${i.displayName} ${i.version} ${i.status}`).sort(),
    policies: Object.fromEntries(
      s.provisioningPolicies.map((p) => [p.displayName, byId.get(p.imageId) ?? `missing ${p.imageId}`]),
    ),
    managedImages: s.managedImages.map((i) => i.id).sort(),
  };
}
