import { resourceForScope, mintAccessToken } from './entra.ts';
import { json, type Context, type Incoming, type Reply } from './http.ts';
import { isObject } from './jwt.ts';
import type { Fault } from './faults.ts';
import type { GalleryImageSpec, MarketplaceImageSpec } from './marketplace.ts';
import type { DeviceImageSpec, ManagedImageSpec, ProvisioningPolicySpec } from './state.ts';

/** What the control endpoints need from the running fake. */
interface ControlTarget {
  requests: unknown[];
  counters: unknown;
  addManagedImage(spec: ManagedImageSpec): unknown;
  addDeviceImage(spec: DeviceImageSpec): unknown;
  addProvisioningPolicy(spec: ProvisioningPolicySpec): unknown;
  addMarketplaceImage(spec: MarketplaceImageSpec): unknown;
  addGalleryImage(spec: GalleryImageSpec): unknown;
  inject(fault: Fault): void;
  snapshot(): unknown;
}

function parse(req: Incoming): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(req.body || '{}') as unknown;
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Test-only endpoints under /_fake/ (no authentication: the fake listens on 127.0.0.1 only).
 *   POST /_fake/az-token              { resource? | scope?, tenant? } -> token for the `az` stand-in
 *   GET  /_fake/state                 snapshot of all resources
 *   GET  /_fake/requests              recorded requests
 *   GET  /_fake/counters              counters
 *   POST /_fake/faults                a Fault (path as a string, or pathRegex)
 *   POST /_fake/managed-images        ManagedImageSpec
 *   POST /_fake/device-images         DeviceImageSpec
 *   POST /_fake/provisioning-policies ProvisioningPolicySpec
 *   POST /_fake/marketplace-images    MarketplaceImageSpec
 *   POST /_fake/gallery-images        GalleryImageSpec
 */
export function handleControl(ctx: Context, fake: ControlTarget, req: Incoming): Reply {
  const route = `${req.method} ${req.path}`;
  if (req.method === 'GET') {
    if (req.path === '/_fake/state') return json(200, fake.snapshot());
    if (req.path === '/_fake/requests') return json(200, fake.requests);
    if (req.path === '/_fake/counters') return json(200, fake.counters);
    return json(404, { error: `No control endpoint ${route}` });
  }
  if (req.method !== 'POST') return json(405, { error: `No control endpoint ${route}` });
  const body = parse(req);
  if (!body) return json(400, { error: 'The body must be a JSON object.' });
  try {
    switch (req.path) {
      case '/_fake/az-token':
        return azToken(ctx, body);
      case '/_fake/faults': {
        const { pathRegex, ...rest } = body;
        const fault = { ...rest } as unknown as Fault;
        if (typeof pathRegex === 'string') fault.path = new RegExp(pathRegex);
        fake.inject(fault);
        return json(201, { ok: true });
      }
      case '/_fake/managed-images':
        return json(201, fake.addManagedImage(body as unknown as ManagedImageSpec));
      case '/_fake/device-images':
        return json(201, fake.addDeviceImage(body as unknown as DeviceImageSpec));
      case '/_fake/provisioning-policies':
        return json(201, fake.addProvisioningPolicy(body as unknown as ProvisioningPolicySpec));
      case '/_fake/marketplace-images':
        return json(201, fake.addMarketplaceImage(body as unknown as MarketplaceImageSpec));
      case '/_fake/gallery-images':
        return json(201, fake.addGalleryImage(body as unknown as GalleryImageSpec));
      default:
        return json(404, { error: `No control endpoint ${route}` });
    }
  } catch (error) {
    return json(400, { error: error instanceof Error ? error.message : String(error) });
  }
}

/** Mints what `az account get-access-token` would print, for the bin/az stand-in. */
function azToken(ctx: Context, body: Record<string, unknown>): Reply {
  const tenant = typeof body.tenant === 'string' && body.tenant ? body.tenant : ctx.config.tenantId;
  if (tenant.toLowerCase() !== ctx.config.tenantId.toLowerCase()) {
    return json(400, {
      error: `AADSTS90002: Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
    });
  }
  let scope: string;
  if (typeof body.scope === 'string' && body.scope) scope = body.scope;
  else if (typeof body.resource === 'string' && body.resource)
    scope = `${body.resource.replace(/\/+$/, '')}/.default`;
  else
    scope = `${ctx.config.cloud === 'usgov' ? 'https://management.usgovcloudapi.net' : 'https://management.azure.com'}/.default`;
  const result = resourceForScope(ctx, scope);
  if ('status' in result) {
    const description = (result.body as { error_description?: string } | undefined)?.error_description;
    return json(400, { error: description ?? 'invalid scope' });
  }
  const { token, exp } = mintAccessToken(ctx, result.audience);
  ctx.counters.azTokens += 1;
  return json(200, {
    accessToken: token,
    expiresOn: exp,
    subscription: ctx.config.subscriptionId,
    tenant: ctx.config.tenantId,
    tokenType: 'Bearer',
  });
}
