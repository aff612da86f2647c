import { randomUUID } from 'node:crypto';
import { checkAccessToken } from './entra.ts';
import {
  audiencesFor,
  bearerToken,
  empty,
  header,
  json,
  type Context,
  type Incoming,
  type Reply,
} from './http.ts';
import { isObject } from './jwt.ts';
import {
  decodeSkipToken,
  encodeSkipToken,
  ODataError,
  parseFilter,
  parseSelect,
  parseTop,
  type FilterClause,
} from './odata.ts';
import {
  armKey,
  DEFAULT_WINDOWS,
  MAX_DEVICE_IMAGES,
  type DeviceImage,
  type ProvisioningPolicy,
} from './state.ts';

type GraphVersion = 'v1.0' | 'beta';

const BASE = '/deviceManagement/virtualEndpoint';

const V1_DEVICE_IMAGE_FIELDS = [
  'id',
  'displayName',
  'errorCode',
  'expirationDate',
  'lastModifiedDateTime',
  'operatingSystem',
  'osBuildNumber',
  'osStatus',
  'sourceImageResourceId',
  'status',
  'version',
];

/** cloudPcDeviceImage properties of each Graph version (osVersionNumber, sizeInGB, statusDetails are beta only). */
const DEVICE_IMAGE_FIELDS: Record<GraphVersion, readonly string[]> = {
  'v1.0': V1_DEVICE_IMAGE_FIELDS,
  beta: [...V1_DEVICE_IMAGE_FIELDS, 'osVersionNumber', 'sizeInGB', 'statusDetails'],
};

const POLICY_FIELDS = [
  'id',
  'alternateResourceUrl',
  'cloudPcGroupDisplayName',
  'cloudPcNamingTemplate',
  'description',
  'displayName',
  'domainJoinConfigurations',
  'enableSingleSignOn',
  'gracePeriodInHours',
  'imageDisplayName',
  'imageId',
  'imageType',
  'localAdminEnabled',
  'managedBy',
  'microsoftManagedDesktop',
  'onPremisesConnectionId',
  'provisioningType',
  'windowsSetting',
] as const;

/** cloudPcDeviceImageErrorCode members declared before `unknownFutureValue`: always returned as they are. */
const ERROR_CODES_BEFORE_SENTINEL = [
  'internalServerError',
  'sourceImageNotFound',
  'osVersionNotSupported',
  'sourceImageInvalid',
  'sourceImageNotGeneralized',
];

const MANAGED_IMAGE_ID =
  /^\/subscriptions\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/resourceGroups\/[-\w._()]{1,90}\/providers\/Microsoft\.Compute\/images\/[-\w.]{1,80}$/i;
const VERSION = /^\d{1,9}\.\d{1,9}\.\d{1,9}$/;

interface GraphRequest {
  ctx: Context;
  req: Incoming;
  version: GraphVersion;
  includeUnknown: boolean;
}

export function graphError(
  req: Incoming,
  status: number,
  code: string,
  message: string,
  headers = {},
): Reply {
  const requestId = randomUUID();
  const clientRequestId = header(req, 'client-request-id') ?? requestId;
  return json(
    status,
    {
      error: {
        code,
        message,
        innerError: {
          date: new Date().toISOString().replace(/\.\d{3}Z$/, ''),
          'request-id': requestId,
          'client-request-id': clientRequestId,
        },
      },
    },
    { 'request-id': requestId, 'client-request-id': clientRequestId, ...headers },
  );
}

function badRequest(g: GraphRequest, message: string): Reply {
  return graphError(g.req, 400, 'BadRequest', message);
}

function authenticate(ctx: Context, req: Incoming): Reply | undefined {
  const check = checkAccessToken(ctx, bearerToken(req), [audiencesFor(ctx.config.cloud).graphAudience]);
  if (check.ok) return undefined;
  const messages: Record<typeof check.reason, string> = {
    missing: 'Access token is empty.',
    malformed: 'IDX14100: JWT is not well formed, there are no dots (.).',
    signature: 'Access token validation failure. Invalid signature.',
    expired: 'Lifetime validation failed, the token is expired.',
    audience: 'Access token validation failure. Invalid audience.',
    tenant: 'Access token validation failure. Invalid issuer.',
  };
  return graphError(req, 401, 'InvalidAuthenticationToken', messages[check.reason], {
    'WWW-Authenticate': `Bearer realm="", authorization_uri="${ctx.config.url}/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`,
  });
}

export function handleGraph(ctx: Context, req: Incoming): Reply {
  const match = /^\/(v1\.0|beta)(\/.*)?$/.exec(req.path);
  if (!match) return graphError(req, 400, 'BadRequest', 'Invalid version.');
  const denied = authenticate(ctx, req);
  if (denied) return denied;
  const prefer = (header(req, 'prefer') ?? '').toLowerCase();
  const g: GraphRequest = {
    ctx,
    req,
    version: match[1] as GraphVersion,
    includeUnknown: prefer.split(',').some((p) => p.trim() === 'include-unknown-enum-members'),
  };
  const reply = route(g, match[2] ?? '/');
  if (g.includeUnknown)
    reply.headers = { ...reply.headers, 'Preference-Applied': 'include-unknown-enum-members' };
  return reply;
}

function route(g: GraphRequest, path: string): Reply {
  try {
    if (!path.startsWith(`${BASE}/`)) return segmentNotFound(g, path.split('/')[1] ?? '');
    const parts = path
      .slice(BASE.length + 1)
      .split('/')
      .map(decodeURIComponent);
    const [collection, id, action, ...more] = parts;
    if (more.length > 0) return segmentNotFound(g, more[0] ?? '');
    if (collection === 'deviceImages') {
      if (id === undefined || id === '') {
        if (g.req.method === 'GET') return listDeviceImages(g);
        if (g.req.method === 'POST') return createDeviceImage(g);
        return methodNotAllowed(g);
      }
      if (id === 'getSourceImages' && action === undefined) {
        return g.req.method === 'GET' ? getSourceImages(g) : methodNotAllowed(g);
      }
      if (action === undefined) {
        if (g.req.method === 'GET') return getDeviceImage(g, id);
        if (g.req.method === 'DELETE') return deleteDeviceImage(g, id);
        return methodNotAllowed(g);
      }
      if (action === 'retryUpload' && g.version === 'beta') {
        return g.req.method === 'POST' ? retryUpload(g, id) : methodNotAllowed(g);
      }
      if (action === 'reupload' && g.version === 'beta') {
        g.ctx.counters.reuploadCalls += 1;
        return graphError(
          g.req,
          410,
          'Gone',
          'The reupload action is deprecated and stopped returning data on June 25, 2026. Use retryUpload instead.',
        );
      }
      return segmentNotFound(g, action);
    }
    if (collection === 'galleryImages') {
      if (action !== undefined) return segmentNotFound(g, action);
      if (g.req.method !== 'GET') return methodNotAllowed(g);
      return id === undefined || id === '' ? listGalleryImages(g) : getGalleryImage(g, id);
    }
    if (collection === 'provisioningPolicies') {
      if (action !== undefined) return segmentNotFound(g, action);
      if (id === undefined || id === '') {
        return g.req.method === 'GET' ? listPolicies(g) : methodNotAllowed(g);
      }
      if (g.req.method === 'GET') return getPolicy(g, id);
      if (g.req.method === 'PATCH') return patchPolicy(g, id);
      return methodNotAllowed(g);
    }
    return segmentNotFound(g, collection ?? '');
  } catch (error) {
    if (error instanceof ODataError) return badRequest(g, error.message);
    throw error;
  }
}

function segmentNotFound(g: GraphRequest, segment: string): Reply {
  return badRequest(g, `Resource not found for the segment '${segment}'.`);
}

function methodNotAllowed(g: GraphRequest): Reply {
  return graphError(g.req, 405, 'MethodNotAllowed', `The HTTP method '${g.req.method}' is not allowed here.`);
}

function notFound(g: GraphRequest, type: string, id: string): Reply {
  return graphError(g.req, 404, 'ResourceNotFound', `The requested ${type} with id '${id}' was not found.`);
}

/** Rejects query options the route does not know, and repeated ones. */
function checkQuery(g: GraphRequest, allowed: string[]): Map<string, string> {
  const seen = new Map<string, string>();
  for (const [key, value] of g.req.query) {
    if (!allowed.includes(key)) throw new ODataError(`Query option '${key}' is not allowed on this request.`);
    if (seen.has(key)) throw new ODataError(`Query option '${key}' was specified more than once.`);
    seen.set(key, value);
  }
  return seen;
}

type BodyResult = { ok: true; value: Record<string, unknown> } | { ok: false; reply: Reply };

function readBody(g: GraphRequest): BodyResult {
  const contentType = (header(g.req, 'content-type') ?? '').toLowerCase();
  if (!contentType.startsWith('application/json')) {
    return {
      ok: false,
      reply: graphError(
        g.req,
        415,
        'UnsupportedMediaType',
        'The request body must be JSON (application/json).',
      ),
    };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(g.req.body);
  } catch {
    return {
      ok: false,
      reply: badRequest(
        g,
        'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
      ),
    };
  }
  if (!isObject(parsed))
    return { ok: false, reply: badRequest(g, 'The request body must be a JSON object.') };
  return { ok: true, value: parsed };
}

function context(g: GraphRequest, fragment: string): string {
  return `${g.ctx.config.url}/${g.version}/$metadata#${fragment}`;
}

function serveErrorCode(g: GraphRequest, code: string | null): string | null {
  if (code === null || g.includeUnknown || ERROR_CODES_BEFORE_SENTINEL.includes(code)) return code;
  return 'unknownFutureValue';
}

function deviceImageView(g: GraphRequest, image: DeviceImage): Record<string, unknown> {
  const all: Record<string, unknown> = { ...image, errorCode: serveErrorCode(g, image.errorCode) };
  const view: Record<string, unknown> = {};
  for (const field of DEVICE_IMAGE_FIELDS[g.version]) view[field] = all[field] ?? null;
  return view;
}

function project(item: Record<string, unknown>, select: string[] | undefined): Record<string, unknown> {
  if (!select) return item;
  return Object.fromEntries(select.map((name) => [name, item[name] ?? null]));
}

function matches(item: Record<string, unknown>, clauses: FilterClause[]): boolean {
  return clauses.every((c) => item[c.property] === c.value);
}

/** One page of a collection, with `@odata.nextLink` carrying the other options and a `$skiptoken`. */
function page(
  g: GraphRequest,
  entitySet: string,
  items: Record<string, unknown>[],
  typeName: string,
  properties: readonly string[],
  filterable: readonly string[],
): Reply {
  const query = checkQuery(g, ['$filter', '$select', '$top', '$skiptoken']);
  const filterText = query.get('$filter');
  const selectText = query.get('$select');
  const topText = query.get('$top');
  const clauses = filterText === undefined ? [] : parseFilter(filterText, filterable);
  const select = selectText === undefined ? undefined : parseSelect(selectText, properties, typeName);
  const size = Math.min(
    topText === undefined ? g.ctx.config.graphPageSize : parseTop(topText),
    g.ctx.config.graphPageSize,
  );
  const offset = query.has('$skiptoken') ? decodeSkipToken(query.get('$skiptoken') ?? '') : 0;
  const filtered = items.filter((i) => matches(i, clauses));
  const slice = filtered.slice(offset, offset + size).map((i) => project(i, select));
  const body: Record<string, unknown> = {
    '@odata.context': context(g, `${BASE.slice(1)}/${entitySet}${select ? `(${select.join(',')})` : ''}`),
  };
  if (offset + size < filtered.length) {
    const params: string[] = [];
    if (filterText !== undefined) params.push(`$filter=${encodeURIComponent(filterText)}`);
    if (selectText !== undefined) params.push(`$select=${encodeURIComponent(selectText)}`);
    if (topText !== undefined) params.push(`$top=${topText}`);
    params.push(`$skiptoken=${encodeSkipToken(offset + size)}`);
    body['@odata.nextLink'] = `${g.ctx.config.url}/${g.version}${BASE}/${entitySet}?${params.join('&')}`;
  }
  body.value = slice;
  return json(200, body);
}

function listDeviceImages(g: GraphRequest): Reply {
  const { state, config, clock } = g.ctx;
  const listedBefore = clock.now() - config.deviceImageListLagSeconds * 1000;
  const items = [...state.deviceImages.values()]
    .filter((i) => (state.deviceImageCreatedAt.get(i.id) ?? 0) <= listedBefore)
    .map((i) => deviceImageView(g, i));
  return page(
    g,
    'deviceImages',
    items,
    'microsoft.graph.cloudPcDeviceImage',
    DEVICE_IMAGE_FIELDS[g.version],
    ['displayName', 'version', 'status'],
  );
}

function getDeviceImage(g: GraphRequest, id: string): Reply {
  const query = checkQuery(g, ['$select']);
  const image = g.ctx.state.deviceImages.get(id);
  if (!image) return notFound(g, 'cloudPcDeviceImage', id);
  const selectText = query.get('$select');
  const select =
    selectText === undefined
      ? undefined
      : parseSelect(selectText, DEVICE_IMAGE_FIELDS[g.version], 'microsoft.graph.cloudPcDeviceImage');
  return json(200, {
    '@odata.context': context(
      g,
      `${BASE.slice(1)}/deviceImages${select ? `(${select.join(',')})` : ''}/$entity`,
    ),
    ...project(deviceImageView(g, image), select),
  });
}

const CREATE_FIELDS = ['displayName', 'version', 'sourceImageResourceId'];

/**
 * Graph's answer to body properties a request may not send: an unknown @odata.type, a property the type does not
 * have, or one it has but this request cannot set. Undefined when every property may be sent.
 */
function checkBodyFields(
  g: GraphRequest,
  input: Record<string, unknown>,
  rules: {
    type: string;
    writable: readonly string[];
    known: readonly string[];
    notWritable: (key: string) => string;
  },
): Reply | undefined {
  for (const key of Object.keys(input)) {
    if (key === '@odata.type') {
      if (input[key] !== `#microsoft.graph.${rules.type}`) {
        return badRequest(g, `A type named '${String(input[key])}' could not be resolved by the model.`);
      }
      continue;
    }
    if (rules.writable.includes(key)) continue;
    return badRequest(
      g,
      rules.known.includes(key)
        ? rules.notWritable(key)
        : `The property '${key}' does not exist on type 'microsoft.graph.${rules.type}'. Make sure to only use property names that are defined by the type or mark the type as open type.`,
    );
  }
  return undefined;
}

function createDeviceImage(g: GraphRequest): Reply {
  checkQuery(g, []);
  const body = readBody(g);
  if (!body.ok) return body.reply;
  const input = body.value;
  const unknown = checkBodyFields(g, input, {
    type: 'cloudPcDeviceImage',
    writable: CREATE_FIELDS,
    known: DEVICE_IMAGE_FIELDS.beta,
    notWritable: (key) =>
      `The property '${key}' is read-only and cannot be set when creating a cloudPcDeviceImage.`,
  });
  if (unknown) return unknown;
  const { displayName, version, sourceImageResourceId } = input;
  if (typeof displayName !== 'string' || displayName.trim() === '') {
    return badRequest(g, "The property 'displayName' is required and must be a non-empty string.");
  }
  if (typeof version !== 'string' || !VERSION.test(version)) {
    return badRequest(
      g,
      "The property 'version' must be of the form Major.Minor.Patch with integers, e.g. '1.0.0'.",
    );
  }
  if (typeof sourceImageResourceId !== 'string' || !MANAGED_IMAGE_ID.test(sourceImageResourceId)) {
    return badRequest(
      g,
      "The property 'sourceImageResourceId' must be a managed image ID of the form '/subscriptions/{subscription-id}/resourceGroups/{resourceGroupName}/providers/Microsoft.Compute/images/{imageName}'.",
    );
  }
  const state = g.ctx.state;
  const duplicate = [...state.deviceImages.values()].find(
    (i) => i.displayName === displayName && i.version === version,
  );
  if (duplicate) {
    return graphError(
      g.req,
      409,
      'Conflict',
      `A device image with display name '${displayName}' and version '${version}' already exists (id '${duplicate.id}').`,
    );
  }
  if (state.deviceImages.size >= MAX_DEVICE_IMAGES) {
    return badRequest(
      g,
      `The tenant already has ${state.deviceImages.size} custom device images; the limit is ${MAX_DEVICE_IMAGES}. Delete an image before uploading another.`,
    );
  }
  const source = state.managedImages.get(armKey(sourceImageResourceId));
  const image = state.addDeviceImage({
    displayName,
    version,
    sourceImageResourceId,
    status: 'pending',
    sizeInGB: source?.diskSizeGB ?? 64,
    ...(source?.windows ?? DEFAULT_WINDOWS),
  });
  g.ctx.counters.deviceImageCreates += 1;
  return json(201, {
    '@odata.context': context(g, `${BASE.slice(1)}/deviceImages/$entity`),
    ...deviceImageView(g, image),
  });
}

function deleteDeviceImage(g: GraphRequest, id: string): Reply {
  checkQuery(g, []);
  const state = g.ctx.state;
  if (!state.deviceImages.has(id)) return notFound(g, 'cloudPcDeviceImage', id);
  const users = [...state.policies.values()].filter((p) => p.imageType === 'custom' && p.imageId === id);
  if (users.length > 0) {
    const names = users.map((p) => `'${p.displayName}' (${p.id})`).join(', ');
    return badRequest(
      g,
      `The device image '${id}' is in use by provisioning policy ${names} and cannot be deleted. Assign another image to the policy first.`,
    );
  }
  state.deviceImages.delete(id);
  state.uploads.delete(id);
  g.ctx.counters.deviceImageDeletes += 1;
  return empty(204);
}

function retryUpload(g: GraphRequest, id: string): Reply {
  checkQuery(g, []);
  if (g.req.body.trim() !== '') return badRequest(g, 'The retryUpload action takes no request body.');
  const image = g.ctx.state.deviceImages.get(id);
  if (!image) return notFound(g, 'cloudPcDeviceImage', id);
  if (image.status !== 'failed') {
    return badRequest(
      g,
      `Only a failed device image can be retried; the image '${id}' is '${image.status}'.`,
    );
  }
  g.ctx.state.startUpload(image);
  g.ctx.counters.retryUploads += 1;
  return empty(204);
}

/** cloudPcSourceDeviceImage properties of each Graph version (beta adds id and category). */
const SOURCE_IMAGE_FIELDS: Record<GraphVersion, readonly string[]> = {
  'v1.0': ['resourceId', 'displayName', 'subscriptionId', 'subscriptionDisplayName'],
  beta: ['id', 'resourceId', 'displayName', 'subscriptionId', 'subscriptionDisplayName', 'category'],
};

/**
 * The managed images Windows 365's own service principal can read (Reader on their subscription or group), paged
 * like any Graph collection; only beta takes $filter.
 */
function getSourceImages(g: GraphRequest): Reply {
  if (g.version === 'v1.0' && g.req.query.has('$filter')) {
    return badRequest(g, "Query option '$filter' is not allowed on this request.");
  }
  const items = [...g.ctx.state.managedImages.values()]
    .filter((i) => i.osType === 'Windows' && i.windows365CanRead)
    .map((i) => {
      const all: Record<string, unknown> = {
        id: i.id,
        resourceId: i.id,
        displayName: i.name,
        subscriptionId: g.ctx.config.subscriptionId,
        subscriptionDisplayName: 'Fake subscription',
        category: 'managedImage',
      };
      return Object.fromEntries(SOURCE_IMAGE_FIELDS[g.version].map((f) => [f, all[f]]));
    });
  return page(
    g,
    'deviceImages/getSourceImages',
    items,
    'microsoft.graph.cloudPcSourceDeviceImage',
    SOURCE_IMAGE_FIELDS[g.version],
    g.version === 'beta' ? ['resourceId', 'displayName', 'subscriptionId'] : [],
  );
}

const GALLERY_IMAGE_FIELDS = [
  'id',
  'displayName',
  'endDate',
  'expirationDate',
  'offerName',
  'publisherName',
  'sizeInGB',
  'skuName',
  'startDate',
  'status',
];

function listGalleryImages(g: GraphRequest): Reply {
  const items = g.ctx.state.galleryImages.map((i) => ({ ...i }) as Record<string, unknown>);
  return page(g, 'galleryImages', items, 'microsoft.graph.cloudPcGalleryImage', GALLERY_IMAGE_FIELDS, [
    'publisherName',
    'offerName',
    'skuName',
    'status',
  ]);
}

function getGalleryImage(g: GraphRequest, id: string): Reply {
  checkQuery(g, []);
  const image = g.ctx.state.galleryImages.find((i) => i.id === id);
  if (!image) return notFound(g, 'cloudPcGalleryImage', id);
  return json(200, {
    '@odata.context': context(g, `${BASE.slice(1)}/galleryImages/$entity`),
    ...image,
  });
}

function policyView(policy: ProvisioningPolicy): Record<string, unknown> {
  return { ...policy };
}

function listPolicies(g: GraphRequest): Reply {
  const items = [...g.ctx.state.policies.values()].map(policyView);
  return page(g, 'provisioningPolicies', items, 'microsoft.graph.cloudPcProvisioningPolicy', POLICY_FIELDS, [
    'displayName',
    'imageId',
    'imageType',
  ]);
}

function getPolicy(g: GraphRequest, id: string): Reply {
  const query = checkQuery(g, ['$select']);
  const policy = g.ctx.state.policies.get(id);
  if (!policy) return notFound(g, 'cloudPcProvisioningPolicy', id);
  const selectText = query.get('$select');
  const select =
    selectText === undefined
      ? undefined
      : parseSelect(selectText, POLICY_FIELDS, 'microsoft.graph.cloudPcProvisioningPolicy');
  return json(200, {
    '@odata.context': context(g, `${BASE.slice(1)}/provisioningPolicies/$entity`),
    ...project(policyView(policy), select),
  });
}

const PATCH_FIELDS = ['imageId', 'imageDisplayName', 'imageType'];

function patchPolicy(g: GraphRequest, id: string): Reply {
  checkQuery(g, []);
  const policy = g.ctx.state.policies.get(id);
  if (!policy) return notFound(g, 'cloudPcProvisioningPolicy', id);
  const body = readBody(g);
  if (!body.ok) return body.reply;
  const input = body.value;
  const unknown = checkBodyFields(g, input, {
    type: 'cloudPcProvisioningPolicy',
    writable: PATCH_FIELDS,
    known: POLICY_FIELDS,
    notWritable: (key) =>
      `The fake only lets the image of a provisioning policy be changed; '${key}' is not accepted.`,
  });
  if (unknown) return unknown;
  for (const key of PATCH_FIELDS) {
    if (key in input && typeof input[key] !== 'string')
      return badRequest(g, `The property '${key}' must be a string.`);
  }
  if (Object.keys(input).filter((k) => k !== '@odata.type').length === 0) {
    return badRequest(g, 'The request body has no property to update.');
  }
  const imageType = (input.imageType ?? policy.imageType) as string;
  const imageId = (input.imageId ?? policy.imageId) as string;
  if (imageType !== 'custom' && imageType !== 'gallery') {
    return badRequest(
      g,
      `Requested value '${imageType}' was not found for the enum 'cloudPcProvisioningPolicyImageType'.`,
    );
  }
  if (imageId.trim() === '') return badRequest(g, "The property 'imageId' must not be empty.");
  if (imageType === 'custom') {
    const image = g.ctx.state.deviceImages.get(imageId);
    if (!image) return badRequest(g, `The custom image '${imageId}' does not exist.`);
    if (image.status !== 'ready' && image.status !== 'warning') {
      return badRequest(
        g,
        `The custom image '${imageId}' is '${image.status}'; only a ready image can be assigned.`,
      );
    }
  }
  policy.imageType = imageType;
  policy.imageId = imageId;
  if (typeof input.imageDisplayName === 'string') policy.imageDisplayName = input.imageDisplayName;
  g.ctx.counters.policyPatches += 1;
  return empty(204);
}
