import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { handleArm } from './arm.ts';
import { createVirtualClock } from './clock.ts';
import { handleControl } from './control.ts';
import { handleEntra } from './entra.ts';
import { echoReply, FaultQueue, faultReply, htmlReply, type Fault } from './faults.ts';
import { handleGithub, OIDC_TOKEN_PATH } from './github-oidc.ts';
import { handleGraph } from './graph.ts';
import type { CloudConfig, Context, Incoming, Reply } from './http.ts';
import { newSigningKey } from './jwt.ts';
import {
  CloudState,
  newCounters,
  type CloudName,
  type Counters,
  type DeviceImage,
  type DeviceImageSpec,
  type ManagedImage,
  type ManagedImageSpec,
  type ProvisioningPolicy,
  type ProvisioningPolicySpec,
  type RecordedRequest,
  type ServiceName,
} from './state.ts';
import { makeServerCertificate } from './tls.ts';
import type {
  GalleryImage,
  GalleryImageSpec,
  MarketplaceImage,
  MarketplaceImageSpec,
} from './marketplace.ts';

export type { Fault } from './faults.ts';
export type {
  GalleryImage,
  GalleryImageSpec,
  MarketplaceImage,
  MarketplaceImageSpec,
} from './marketplace.ts';
export type {
  CloudName,
  Counters,
  DeviceImage,
  DeviceImageSpec,
  ManagedImage,
  ManagedImageSpec,
  ProvisioningPolicy,
  ProvisioningPolicySpec,
  RecordedRequest,
  ServiceName,
  UploadOutcome,
} from './state.ts';

export interface FakeCloudOptions {
  /** Which audiences and scopes are valid (default public). */
  cloud?: CloudName;
  /** Virtual seconds per real second (default 1). Uploads, LRO delays and Retry-After are virtual. */
  timeScale?: number;
  /** Virtual seconds a device image stays pending (default 120). */
  uploadSeconds?: number;
  /** Real seconds an Entra access token lives (default 300). */
  accessTokenLifetimeSeconds?: number;
  /** Real seconds a GitHub ID token lives (default 300). */
  idTokenLifetimeSeconds?: number;
  /** Items per page of Graph lists (default 100). */
  graphPageSize?: number;
  /** Virtual seconds an ARM image DELETE takes (default 20). */
  armDeleteSeconds?: number;
  /** Virtual seconds a new device image is missing from Graph's lists, as an eventually consistent list (default 0). */
  deviceImageListLagSeconds?: number;
  tenantId?: string;
  clientId?: string;
  subscriptionId?: string;
  /** Default 'repo:contoso/cloudpc-images:environment:production'. */
  federatedSubject?: string;
  /** The `sub` GitHub puts in its ID tokens (default: federatedSubject, i.e. the workflow matches the credential). */
  githubSubject?: string;
  /** TCP port on 127.0.0.1 (default 0: a free one). */
  port?: number;
}

export interface FakeCloud {
  /** https://127.0.0.1:<port> */
  url: string;
  cloud: CloudName;
  caPem: string;
  /** caPem in a temporary file, for NODE_EXTRA_CA_CERTS. */
  caFile: string;
  tenantId: string;
  clientId: string;
  subscriptionId: string;
  /** For ACTIONS_ID_TOKEN_REQUEST_URL. */
  oidcRequestUrl: string;
  /** For ACTIONS_ID_TOKEN_REQUEST_TOKEN. */
  oidcRequestToken: string;
  /** Virtual time in ms. */
  clock: { now(): number };
  requests: RecordedRequest[];
  counters: Counters;
  addResourceGroup(name: string): void;
  addManagedImage(spec: ManagedImageSpec): ManagedImage;
  addDeviceImage(spec: DeviceImageSpec): DeviceImage;
  addProvisioningPolicy(spec: ProvisioningPolicySpec): ProvisioningPolicy;
  /** A Marketplace VM image version ARM lists (the fake starts with the Cloud PC offer's Gen2 SKUs). */
  addMarketplaceImage(spec: MarketplaceImageSpec): MarketplaceImage;
  /** A Windows 365 gallery image Graph lists; replaces the one with the same id. */
  addGalleryImage(spec: GalleryImageSpec): GalleryImage;
  inject(fault: Fault): void;
  /** Deep copy of every resource (managed images, device images, uploads, policies, ARM operations). */
  snapshot(): unknown;
  close(): Promise<void>;
}

export const DEFAULT_TENANT_ID = '72f988bf-0000-4a5b-9c6d-0123456789ab';
export const DEFAULT_CLIENT_ID = '3b4c5d6e-1111-4f80-9a1b-2c3d4e5f6a7b';
export const DEFAULT_SUBSCRIPTION_ID = '0a1b2c3d-2222-4e5f-8a9b-0c1d2e3f4a5b';
export const DEFAULT_PRINCIPAL_OBJECT_ID = '9e8d7c6b-3333-4a49-8b7c-6d5e4f3a2b1c';
export const DEFAULT_FEDERATED_SUBJECT = 'repo:contoso/cloudpc-images:environment:production';

function serviceOf(path: string): ServiceName {
  if (path.startsWith('/_github/')) return 'github';
  if (path.startsWith('/_fake/')) return 'control';
  if (/^\/subscriptions(\/|$)/i.test(path)) return 'arm';
  if (/^\/(v1\.0|beta)(\/|$)/.test(path)) return 'graph';
  return 'entra';
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, reply: Reply): void {
  const headers: Record<string, string> = { ...(reply.headers ?? {}) };
  let payload: string | undefined = reply.raw;
  if (payload === undefined && reply.body !== undefined) {
    payload = JSON.stringify(reply.body);
    headers['Content-Type'] ??= 'application/json; charset=utf-8';
  }
  headers['Content-Length'] = String(payload === undefined ? 0 : Buffer.byteLength(payload));
  res.writeHead(reply.status, headers);
  res.end(payload);
}

function positive(name: string, value: number | undefined, fallback: number, allowZero = false): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0 || (!allowZero && v === 0))
    throw new Error(`${name} must be a positive number`);
  return v;
}

export async function startFakeCloud(options: FakeCloudOptions = {}): Promise<FakeCloud> {
  const clock = createVirtualClock(options.timeScale ?? 1);
  const certificate = await makeServerCertificate();
  const oidcRequestToken = randomBytes(24).toString('hex');
  const config: CloudConfig = {
    cloud: options.cloud ?? 'public',
    url: '',
    tenantId: options.tenantId ?? DEFAULT_TENANT_ID,
    clientId: options.clientId ?? DEFAULT_CLIENT_ID,
    principalObjectId: DEFAULT_PRINCIPAL_OBJECT_ID,
    subscriptionId: options.subscriptionId ?? DEFAULT_SUBSCRIPTION_ID,
    federatedSubject: options.federatedSubject ?? DEFAULT_FEDERATED_SUBJECT,
    githubSubject: options.githubSubject ?? options.federatedSubject ?? DEFAULT_FEDERATED_SUBJECT,
    oidcRequestToken,
    accessTokenLifetimeSeconds: positive(
      'accessTokenLifetimeSeconds',
      options.accessTokenLifetimeSeconds,
      300,
    ),
    idTokenLifetimeSeconds: positive('idTokenLifetimeSeconds', options.idTokenLifetimeSeconds, 300),
    graphPageSize: Math.floor(positive('graphPageSize', options.graphPageSize, 100)),
    armDeleteSeconds: positive('armDeleteSeconds', options.armDeleteSeconds, 20, true),
    deviceImageListLagSeconds: positive(
      'deviceImageListLagSeconds',
      options.deviceImageListLagSeconds,
      0,
      true,
    ),
  };
  const state = new CloudState(
    config.subscriptionId,
    clock,
    positive('uploadSeconds', options.uploadSeconds, 120, true),
  );
  const counters = newCounters();
  const requests: RecordedRequest[] = [];
  const faults = new FaultQueue();
  const ctx: Context = {
    config,
    state,
    clock,
    counters,
    githubKey: newSigningKey(),
    entraKey: newSigningKey(),
  };

  const fake: FakeCloud = {
    url: '',
    cloud: config.cloud,
    caPem: certificate.cert,
    caFile: certificate.caFile,
    tenantId: config.tenantId,
    clientId: config.clientId,
    subscriptionId: config.subscriptionId,
    oidcRequestUrl: '',
    oidcRequestToken,
    clock: { now: () => clock.now() },
    requests,
    counters,
    addResourceGroup: (name) => state.addResourceGroup(name),
    addManagedImage: (spec) => state.addManagedImage(spec),
    addDeviceImage: (spec) => state.addDeviceImage(spec),
    addProvisioningPolicy: (spec) => state.addProvisioningPolicy(spec),
    addMarketplaceImage: (spec) => state.addMarketplaceImage(spec),
    addGalleryImage: (spec) => state.addGalleryImage(spec),
    inject: (fault) => faults.add(fault),
    snapshot: () => state.snapshot(),
    close: async () => {},
  };

  const handle = (service: ServiceName, incoming: Incoming): Reply => {
    switch (service) {
      case 'github':
        return handleGithub(ctx, incoming);
      case 'arm':
        return handleArm(ctx, incoming);
      case 'graph':
        return handleGraph(ctx, incoming);
      case 'control':
        return handleControl(ctx, fake, incoming);
      default:
        return handleEntra(ctx, incoming);
    }
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const at = clock.now();
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const body = await readBody(req);
    const incoming: Incoming = {
      method: (req.method ?? 'GET').toUpperCase(),
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body,
    };
    const service = serviceOf(incoming.path);
    const record: RecordedRequest = {
      service,
      method: incoming.method,
      path: incoming.path,
      query: Object.fromEntries(url.searchParams),
      status: 0,
      at,
    };
    const prefer = req.headers.prefer;
    if (prefer !== undefined) record.prefer = Array.isArray(prefer) ? prefer.join(', ') : prefer;
    requests.push(record);
    state.advance();

    const fault = service === 'control' ? undefined : faults.take(service, incoming);
    if (fault) counters.faultsApplied += 1;
    if (fault?.kind === 'drop') {
      record.injected = 'drop';
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'hang') {
      record.injected = 'hang';
      return;
    }
    if (fault?.kind === 'html') {
      record.injected = 'html';
      const reply = htmlReply(fault.status ?? 200);
      record.status = reply.status;
      send(res, reply);
      return;
    }
    if (fault?.kind === 'status') {
      record.injected = `status:${fault.status}`;
      const reply = faultReply(service, incoming, fault.status, fault.retryAfterSeconds, fault.retryAfter);
      record.status = reply.status;
      send(res, reply);
      return;
    }
    if (fault?.kind === 'echo') {
      record.injected = 'echo';
      const reply = echoReply(service, incoming);
      record.status = reply.status;
      send(res, reply);
      return;
    }
    let reply: Reply;
    try {
      reply = handle(service, incoming);
    } catch (error) {
      reply = faultReply(service, incoming, 500);
      reply.headers = {
        ...reply.headers,
        'x-fake-cloud-error': String(error)
          .slice(0, 200)
          .replace(/[\r\n]/g, ' '),
      };
    }
    if (fault?.kind === 'after') {
      record.handledStatus = reply.status;
      if (fault.status === 'drop') {
        record.injected = 'after:drop';
        req.socket.destroy();
        return;
      }
      if (fault.status === 'hang') {
        record.injected = 'after:hang';
        return;
      }
      record.injected = `after:${fault.status ?? 500}`;
      reply = faultReply(service, incoming, fault.status ?? 500);
    }
    if (
      fault?.kind === 'self-link' &&
      Array.isArray((reply.body as { value?: unknown } | undefined)?.value)
    ) {
      record.injected = 'self-link';
      (reply.body as Record<string, unknown>)['@odata.nextLink'] = `${config.url}${req.url ?? '/'}`;
    }
    record.status = reply.status;
    send(res, reply);
  };

  const server: Server = createServer({ key: certificate.key, cert: certificate.cert }, (req, res) => {
    onRequest(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, { status: 500, body: { error: String(error) } });
      else res.destroy();
    });
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  config.url = `https://127.0.0.1:${port}`;
  fake.url = config.url;
  fake.oidcRequestUrl = `${config.url}${OIDC_TOKEN_PATH}?api-version=2.0`;
  fake.close = async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
    });
    await certificate.dispose();
  };
  return fake;
}
