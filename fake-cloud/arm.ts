import { randomUUID } from 'node:crypto';
import { checkAccessToken } from './entra.ts';
import { audiencesFor, bearerToken, empty, json, type Context, type Incoming, type Reply } from './http.ts';
import { marketplaceGet, marketplaceListGet, VMIMAGE_LIST_PATH, VMIMAGE_PATH } from './marketplace.ts';
import { armKey, type ManagedImage } from './state.ts';

/** api-versions of Microsoft.Compute/images the fake accepts (the newest is what @azure/arm-compute 25 sends). */
export const IMAGE_API_VERSIONS = [
  '2026-04-01',
  '2025-04-01',
  '2024-11-01',
  '2024-07-01',
  '2024-03-01',
  '2023-09-01',
  '2023-07-01',
  '2023-03-01',
  '2022-11-01',
  '2022-08-01',
];

export function armError(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Reply {
  return json(status, { error: { code, message } }, headers);
}

/** Audiences ARM accepts for the configured cloud (with and without the trailing slash). */
function armAudiences(ctx: Context): string[] {
  const aud = audiencesFor(ctx.config.cloud).armAudience;
  const legacy =
    ctx.config.cloud === 'usgov'
      ? 'https://management.core.usgovcloudapi.net/'
      : 'https://management.core.windows.net/';
  return [aud, aud.replace(/\/$/, ''), legacy, legacy.replace(/\/$/, '')];
}

function authenticate(ctx: Context, req: Incoming): Reply | undefined {
  const token = bearerToken(req);
  const check = checkAccessToken(ctx, token, armAudiences(ctx));
  if (check.ok) return undefined;
  const challenge = (description: string) => ({
    'WWW-Authenticate': `Bearer authorization_uri="${ctx.config.url}/${ctx.config.tenantId}", error="invalid_token", error_description="${description}"`,
  });
  switch (check.reason) {
    case 'missing':
      return armError(
        401,
        'AuthenticationFailed',
        "Authentication failed. The 'Authorization' header is missing.",
        challenge("The authentication failed because of missing 'Authorization' header."),
      );
    case 'expired':
      return armError(
        401,
        'ExpiredAuthenticationToken',
        `The access token expiry UTC time '${check.detail}' is earlier than current UTC time '${new Date().toISOString()}'.`,
        challenge('The access token has expired.'),
      );
    case 'audience':
      return armError(
        401,
        'InvalidAuthenticationTokenAudience',
        `The access token has been obtained for wrong audience or resource '${check.detail}'. It should exactly match with one of the allowed audiences '${armAudiences(ctx).join("','")}'.`,
        challenge('The access token audience is invalid.'),
      );
    case 'tenant':
      return armError(
        401,
        'InvalidAuthenticationTokenTenant',
        `The access token is from the wrong issuer. It must match the tenant '${ctx.config.tenantId}' associated with this subscription.`,
        challenge('The access token is from the wrong issuer.'),
      );
    default:
      return armError(
        401,
        'AuthenticationFailed',
        "Authentication failed. The 'Authorization' header is provided in an invalid format.",
        challenge('The authentication failed because the token is invalid.'),
      );
  }
}

function checkApiVersion(req: Incoming, supported: string[]): Reply | undefined {
  const version = req.query.get('api-version');
  if (!version) {
    return armError(
      400,
      'MissingApiVersionParameter',
      'The api-version query parameter (?api-version=) is required for all requests.',
    );
  }
  if (!supported.includes(version)) {
    return armError(
      400,
      'InvalidApiVersionParameter',
      `The api-version '${version}' is invalid. The supported versions are '${supported.join(',')}'.`,
    );
  }
  return undefined;
}

function imageResource(image: ManagedImage): Record<string, unknown> {
  const osDisk: Record<string, unknown> = {
    osType: image.osType,
    osState: image.osState,
    managedDisk: {
      id: `/subscriptions/${image.id.split('/')[2]}/resourceGroups/${image.resourceGroup}/providers/Microsoft.Compute/disks/${image.name}_OsDisk`,
    },
    caching: 'ReadWrite',
    diskSizeGB: image.diskSizeGB,
    storageAccountType: 'Premium_LRS',
  };
  if (image.diskEncryptionSetId) osDisk.diskEncryptionSet = { id: image.diskEncryptionSetId };
  return {
    name: image.name,
    id: image.id,
    type: 'Microsoft.Compute/images',
    location: image.location,
    tags: { ...image.tags },
    ...(image.createdAt === undefined
      ? {}
      : {
          systemData: {
            createdBy: 'packer@contoso.example',
            createdByType: 'Application',
            createdAt: image.createdAt,
            lastModifiedBy: 'packer@contoso.example',
            lastModifiedByType: 'Application',
            lastModifiedAt: image.createdAt,
          },
        }),
    properties: {
      sourceVirtualMachine: { id: image.sourceVirtualMachineId },
      storageProfile: {
        osDisk,
        dataDisks: image.dataDisks.map((d) => ({
          lun: d.lun,
          managedDisk: {
            id: `/subscriptions/${image.id.split('/')[2]}/resourceGroups/${image.resourceGroup}/providers/Microsoft.Compute/disks/${image.name}_DataDisk_${d.lun}`,
          },
          caching: 'None',
          diskSizeGB: d.diskSizeGB,
          storageAccountType: 'Premium_LRS',
        })),
        zoneResilient: false,
      },
      provisioningState: image.provisioningState,
      hyperVGeneration: image.hyperVGeneration,
    },
  };
}

const IMAGE_PATH =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/images(?:\/([^/]+))?\/?$/i;
const OPERATION_PATH =
  /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.Compute\/locations\/([^/]+)\/(operations|operationResults)\/([^/]+)$/i;
const GROUP_PATH = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/?$/i;

export function handleArm(ctx: Context, req: Incoming): Reply {
  const denied = authenticate(ctx, req);
  if (denied) return denied;
  const subMatch = /^\/subscriptions\/([^/]+)/i.exec(req.path);
  const subscription = decodeURIComponent(subMatch?.[1] ?? '');
  if (subscription.toLowerCase() !== ctx.config.subscriptionId.toLowerCase()) {
    const badVersion = checkApiVersion(req, IMAGE_API_VERSIONS);
    if (badVersion) return badVersion;
    return armError(404, 'SubscriptionNotFound', `The subscription '${subscription}' could not be found.`);
  }
  const vmImageList = VMIMAGE_LIST_PATH.exec(req.path);
  if (vmImageList)
    return marketplaceRead(ctx, req, () =>
      marketplaceListGet(ctx.state.marketplace, ctx.config.subscriptionId, vmImageList),
    );
  const vmImage = VMIMAGE_PATH.exec(req.path);
  if (vmImage)
    return marketplaceRead(ctx, req, () =>
      marketplaceGet(ctx.state.marketplace, ctx.config.subscriptionId, vmImage),
    );
  const op = OPERATION_PATH.exec(req.path);
  if (op) return operation(ctx, req, op[3] ?? '', decodeURIComponent(op[4] ?? ''));
  const group = GROUP_PATH.exec(req.path);
  if (group) {
    const badVersion = checkApiVersion(req, [
      '2025-04-01',
      '2024-11-01',
      '2024-03-01',
      '2022-09-01',
      '2021-04-01',
    ]);
    if (badVersion) return badVersion;
    const name = decodeURIComponent(group[2] ?? '');
    const known = ctx.state.resourceGroups.get(name.toLowerCase());
    if (req.method !== 'GET')
      return armError(405, 'MethodNotAllowed', `The fake does not implement ${req.method} here.`);
    if (!known) return armError(404, 'ResourceGroupNotFound', `Resource group '${name}' could not be found.`);
    return json(200, {
      id: `/subscriptions/${ctx.config.subscriptionId}/resourceGroups/${known}`,
      name: known,
      type: 'Microsoft.Resources/resourceGroups',
      location: 'westeurope',
      properties: { provisioningState: 'Succeeded' },
    });
  }
  const match = IMAGE_PATH.exec(req.path);
  if (!match) {
    const badVersion = checkApiVersion(req, IMAGE_API_VERSIONS);
    if (badVersion) return badVersion;
    return armError(
      404,
      'InvalidResourceType',
      `The resource type could not be found for path '${req.path}'.`,
    );
  }
  const badVersion = checkApiVersion(req, IMAGE_API_VERSIONS);
  if (badVersion) return badVersion;
  const groupName = decodeURIComponent(match[2] ?? '');
  const groupKnown = ctx.state.resourceGroups.get(groupName.toLowerCase());
  if (!groupKnown)
    return armError(404, 'ResourceGroupNotFound', `Resource group '${groupName}' could not be found.`);
  if (match[3] === undefined) {
    if (req.method !== 'GET')
      return armError(405, 'MethodNotAllowed', `The fake does not implement ${req.method} here.`);
    const prefix = `/subscriptions/${ctx.config.subscriptionId}/resourcegroups/${groupKnown}/`.toLowerCase();
    const value = [...ctx.state.managedImages.values()]
      .filter((i) => armKey(i.id).startsWith(prefix) && !i.forbidden)
      .map(imageResource);
    return json(200, { value });
  }
  const name = decodeURIComponent(match[3]);
  const id = `/subscriptions/${ctx.config.subscriptionId}/resourceGroups/${groupKnown}/providers/Microsoft.Compute/images/${name}`;
  const image = ctx.state.managedImages.get(armKey(id));
  const action = req.method === 'DELETE' ? 'delete' : req.method === 'GET' ? 'read' : 'write';
  if (image?.forbidden) {
    return armError(
      403,
      'AuthorizationFailed',
      `The client '${ctx.config.clientId}' with object id '${ctx.config.principalObjectId}' does not have authorization to perform action 'Microsoft.Compute/images/${action}' over scope '${image.id}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
    );
  }
  if (req.method === 'GET') {
    if (!image) return notFound(name, groupKnown);
    return json(200, imageResource(image));
  }
  if (req.method === 'DELETE') {
    if (!image) return empty(204);
    return startDelete(ctx, req, image);
  }
  return armError(405, 'MethodNotAllowed', `The fake does not implement ${req.method} on images.`);
}

function notFound(name: string, group: string): Reply {
  return armError(
    404,
    'ResourceNotFound',
    `The Resource 'Microsoft.Compute/images/${name}' under resource group '${group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
  );
}

/** The marketplace's read-only routes: api-version checked, GET only, counted. */
function marketplaceRead(ctx: Context, req: Incoming, read: () => { status: number; body: unknown }): Reply {
  const badVersion = checkApiVersion(req, IMAGE_API_VERSIONS);
  if (badVersion) return badVersion;
  if (req.method !== 'GET')
    return armError(405, 'MethodNotAllowed', `The fake does not implement ${req.method} here.`);
  ctx.counters.marketplaceReads += 1;
  const reply = read();
  return json(reply.status, reply.body);
}

function operationUrls(ctx: Context, req: Incoming, location: string, id: string): Record<string, string> {
  const base = `${ctx.config.url}/subscriptions/${ctx.config.subscriptionId}/providers/Microsoft.Compute/locations/${location}`;
  const apiVersion = req.query.get('api-version') ?? IMAGE_API_VERSIONS[0] ?? '';
  return {
    'Azure-AsyncOperation': `${base}/operations/${id}?p=${encodeURIComponent(randomUUID())}&api-version=${apiVersion}`,
    Location: `${base}/operations/${id}?p=${encodeURIComponent(randomUUID())}&monitor=true&api-version=${apiVersion}`,
  };
}

function startDelete(ctx: Context, req: Incoming, image: ManagedImage): Reply {
  const key = armKey(image.id);
  // The request's own advance() already applied every due delete, so an operation not yet completed is still
  // running; comparing with the clock again here would race the scaled clock and start a second delete.
  const running = [...ctx.state.armOperations.values()].find((o) => o.imageKey === key && !o.completed);
  if (running) return empty(202, operationUrls(ctx, req, running.location, running.id));
  const now = ctx.clock.now();
  const op = {
    id: randomUUID(),
    imageKey: key,
    location: image.location,
    startedAt: now,
    doneAt: now + ctx.config.armDeleteSeconds * 1000,
    completed: false,
  };
  ctx.state.armOperations.set(op.id, op);
  image.provisioningState = 'Deleting';
  ctx.counters.armDeletes += 1;
  if (ctx.config.armDeleteSeconds <= 0) ctx.state.advance();
  return empty(202, operationUrls(ctx, req, op.location, op.id));
}

function operation(ctx: Context, req: Incoming, kind: string, id: string): Reply {
  if (req.method !== 'GET') return armError(405, 'MethodNotAllowed', 'Operations can only be read.');
  const badVersion = checkApiVersion(req, IMAGE_API_VERSIONS);
  if (badVersion) return badVersion;
  const op = ctx.state.armOperations.get(id);
  if (!op) return armError(404, 'NotFound', `The operation '${id}' could not be found.`);
  const done = op.completed;
  const monitor = kind.toLowerCase() === 'operationresults' || req.query.get('monitor') === 'true';
  if (monitor) {
    return done ? empty(204) : empty(202, operationUrls(ctx, req, op.location, op.id));
  }
  const body: Record<string, unknown> = {
    startTime: new Date(op.startedAt).toISOString(),
    status: done ? 'Succeeded' : 'InProgress',
    name: op.id,
  };
  if (done) body.endTime = new Date(op.doneAt).toISOString();
  return json(200, body);
}
