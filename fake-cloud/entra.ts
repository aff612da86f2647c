import { randomUUID } from 'node:crypto';
import { realEpochSeconds } from './clock.ts';
import { audiencesFor, json, type Context, type Incoming, type Reply } from './http.ts';
import { decodeJwt, jwk, signJwt, verifySignature, type JwtClaims } from './jwt.ts';
import { GITHUB_ISSUER } from './github-oidc.ts';

export const FEDERATION_AUDIENCE = 'api://AzureADTokenExchange';
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

function sameTenant(ctx: Context, tenant: string): boolean {
  return tenant.toLowerCase() === ctx.config.tenantId.toLowerCase();
}

/** An Entra-shaped error reply. The description carries trace, correlation id and timestamp like the real one. */
export function entraError(status: number, error: string, code: number, text: string, req?: Incoming): Reply {
  const traceId = randomUUID();
  const correlationId = correlationOf(req);
  const timestamp = new Date()
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
  return json(status, {
    error,
    error_description: `AADSTS${code}: ${text} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
    error_codes: [code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `https://login.microsoftonline.com/error?code=${code}`,
  });
}

function correlationOf(req: Incoming | undefined): string {
  const value = req?.headers['client-request-id'];
  return typeof value === 'string' && value ? value : randomUUID();
}

function unknownTenant(ctx: Context, tenant: string, req: Incoming): Reply {
  return entraError(
    400,
    'invalid_request',
    90002,
    `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
    req,
  );
}

/** Routes `/{tenant}/...`: OpenID discovery, keys and the v2.0 token endpoint. */
export function handleEntra(ctx: Context, req: Incoming): Reply {
  const match = /^\/([^/]+)(\/.*)$/.exec(req.path);
  if (!match) return json(404, { error: 'not_found' });
  const tenant = decodeURIComponent(match[1] ?? '');
  const rest = match[2] ?? '';
  const authority = `${ctx.config.url}/${ctx.config.tenantId}`;
  if (rest === '/v2.0/.well-known/openid-configuration' && req.method === 'GET') {
    if (!sameTenant(ctx, tenant)) return unknownTenant(ctx, tenant, req);
    return json(200, {
      token_endpoint: `${authority}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${authority}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${authority}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${ctx.config.url}/oidc/userinfo`,
      authorization_endpoint: `${authority}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${authority}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${authority}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'tid', 'ver', 'oid'],
      kerberos_endpoint: `${authority}/kerberos`,
      tenant_region_scope: ctx.config.cloud === 'usgov' ? 'USGov' : 'EU',
      cloud_instance_name: ctx.config.cloud === 'usgov' ? 'microsoftonline.us' : 'microsoftonline.com',
      cloud_graph_host_name: ctx.config.cloud === 'usgov' ? 'graph.windows.net' : 'graph.windows.net',
      msgraph_host: ctx.config.cloud === 'usgov' ? 'graph.microsoft.us' : 'graph.microsoft.com',
      rbac_url: 'https://pas.windows.net',
    });
  }
  if (rest === '/discovery/v2.0/keys' && req.method === 'GET') {
    if (!sameTenant(ctx, tenant)) return unknownTenant(ctx, tenant, req);
    return json(200, { keys: [jwk(ctx.entraKey)] });
  }
  if (rest === '/oauth2/v2.0/token') {
    if (req.method !== 'POST') {
      return entraError(405, 'invalid_request', 900561, 'The endpoint only accepts POST requests.', req);
    }
    return tokenEndpoint(ctx, tenant, req);
  }
  return json(404, { error: 'not_found', error_description: `No such endpoint: ${req.path}` });
}

function tokenEndpoint(ctx: Context, tenant: string, req: Incoming): Reply {
  if (!sameTenant(ctx, tenant)) return unknownTenant(ctx, tenant, req);
  // Entra reads only form bodies: any other content type looks like a request without grant_type.
  const isForm = String(req.headers['content-type'] ?? '')
    .toLowerCase()
    .startsWith('application/x-www-form-urlencoded');
  const form = new URLSearchParams(isForm ? req.body : '');
  const grantType = form.get('grant_type');
  if (!grantType) {
    return entraError(
      400,
      'invalid_request',
      900144,
      "The request body must contain the following parameter: 'grant_type'.",
      req,
    );
  }
  if (grantType !== 'client_credentials') {
    return entraError(
      400,
      'unsupported_grant_type',
      70003,
      'The app requested an unsupported grant type. The fake cloud only implements client_credentials.',
      req,
    );
  }
  const clientId = form.get('client_id');
  if (!clientId) {
    return entraError(
      400,
      'invalid_request',
      900144,
      "The request body must contain the following parameter: 'client_id'.",
      req,
    );
  }
  if (clientId.toLowerCase() !== ctx.config.clientId.toLowerCase()) {
    return entraError(
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${ctx.config.tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
      req,
    );
  }
  if (form.has('client_secret')) {
    return entraError(
      401,
      'invalid_client',
      7000215,
      'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.',
      req,
    );
  }
  const assertionType = form.get('client_assertion_type');
  const assertion = form.get('client_assertion');
  if (!assertionType || !assertion) {
    return entraError(
      401,
      'invalid_client',
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
      req,
    );
  }
  if (assertionType !== JWT_BEARER) {
    return entraError(
      400,
      'invalid_request',
      50027,
      `Invalid client_assertion_type '${assertionType}'. It must be '${JWT_BEARER}'.`,
      req,
    );
  }
  const decoded = decodeJwt(assertion);
  if (!decoded) {
    return entraError(400, 'invalid_request', 50027, 'JWT token is invalid or malformed.', req);
  }
  const { claims } = decoded;
  const iss = String(claims.iss ?? '');
  const sub = String(claims.sub ?? '');
  const aud = Array.isArray(claims.aud) ? claims.aud.map(String) : [String(claims.aud ?? '')];
  if (iss !== GITHUB_ISSUER || sub !== ctx.config.federatedSubject || !aud.includes(FEDERATION_AUDIENCE)) {
    return entraError(
      400,
      'invalid_request',
      70021,
      `No matching federated identity record found for presented assertion. Assertion Issuer: '${iss}'. Assertion Subject: '${sub}'. Assertion Audience: '${aud.join(',')}'. Please see https://learn.microsoft.com/entra/workload-id/workload-identity-federation for more information.`,
      req,
    );
  }
  if (!verifySignature(assertion, ctx.githubKey)) {
    return entraError(
      401,
      'invalid_client',
      700213,
      `Assertion failed signature validation for issuer '${iss}'. The signing key was not found in the issuer's published keys.`,
      req,
    );
  }
  const now = realEpochSeconds();
  const exp = Number(claims.exp);
  const nbf = Number(claims.nbf ?? claims.iat);
  if (!Number.isFinite(exp) || now >= exp || (Number.isFinite(nbf) && now < nbf)) {
    const iso = (s: number) => (Number.isFinite(s) ? new Date(s * 1000).toISOString() : 'unknown');
    return entraError(
      400,
      'invalid_client',
      700024,
      `Client assertion is not within its valid time range. Current time: ${iso(now)}, assertion valid from ${iso(nbf)}, expiry time of assertion ${iso(exp)}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .`,
      req,
    );
  }
  const scopeResult = resourceForScope(ctx, form.get('scope') ?? '', req);
  if ('status' in scopeResult) return scopeResult;
  ctx.counters.accessTokens += 1;
  const { token, lifetime } = mintAccessToken(ctx, scopeResult.audience);
  return json(200, {
    token_type: 'Bearer',
    expires_in: lifetime,
    ext_expires_in: lifetime,
    access_token: token,
  });
}

/** Validates a token request's `scope`: exactly one `<resource>/.default` of the configured cloud. */
export function resourceForScope(ctx: Context, scope: string, req?: Incoming): { audience: string } | Reply {
  const scopes = scope.split(' ').filter(Boolean);
  if (scopes.length === 0) {
    return entraError(
      400,
      'invalid_request',
      900144,
      "The request body must contain the following parameter: 'scope'.",
      req,
    );
  }
  const resources = scopes.filter((s) => !['openid', 'profile', 'offline_access'].includes(s));
  if (resources.length !== 1) {
    return entraError(
      400,
      'invalid_scope',
      70011,
      `The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope ${scope} is not valid. Only one resource's .default scope can be requested.`,
      req,
    );
  }
  const only = resources[0] ?? '';
  if (!only.endsWith('/.default')) {
    return entraError(
      400,
      'invalid_scope',
      1002012,
      `The provided value for scope ${only} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      req,
    );
  }
  const audiences = audiencesFor(ctx.config.cloud);
  if (only === audiences.armScope) return { audience: audiences.armAudience };
  if (only === audiences.graphScope) return { audience: audiences.graphAudience };
  const resource = only.slice(0, -'/.default'.length);
  return entraError(
    400,
    'invalid_resource',
    500011,
    `The resource principal named ${resource} was not found in the tenant named ${ctx.config.tenantId}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
    req,
  );
}

/** Signs an app-only access token for `audience`; its lifetime is in real seconds. */
export function mintAccessToken(
  ctx: Context,
  audience: string,
): { token: string; lifetime: number; exp: number } {
  const now = realEpochSeconds();
  const lifetime = ctx.config.accessTokenLifetimeSeconds;
  const exp = now + lifetime;
  const claims: JwtClaims = {
    aud: audience,
    iss: `https://sts.windows.net/${ctx.config.tenantId}/`,
    iat: now,
    nbf: now,
    exp,
    aio: randomUUID(),
    appid: ctx.config.clientId,
    appidacr: '2',
    idp: `https://sts.windows.net/${ctx.config.tenantId}/`,
    idtyp: 'app',
    oid: ctx.config.principalObjectId,
    sub: ctx.config.principalObjectId,
    tid: ctx.config.tenantId,
    uti: randomUUID().replaceAll('-', ''),
    ver: '1.0',
  };
  if (audience.startsWith('https://graph.')) claims.roles = ['CloudPC.ReadWrite.All'];
  return { token: signJwt(ctx.entraKey, claims), lifetime, exp };
}

export type TokenCheck =
  | { ok: true; claims: JwtClaims }
  | {
      ok: false;
      reason: 'missing' | 'malformed' | 'signature' | 'expired' | 'audience' | 'tenant';
      detail: string;
    };

/** Checks a bearer token minted by this fake for one of `audiences`. */
export function checkAccessToken(ctx: Context, token: string | undefined, audiences: string[]): TokenCheck {
  if (token === undefined) return { ok: false, reason: 'missing', detail: 'Authorization header is missing' };
  const decoded = token ? decodeJwt(token) : undefined;
  if (!decoded) return { ok: false, reason: 'malformed', detail: 'The token is not a JWT' };
  if (!verifySignature(token, ctx.entraKey)) {
    return { ok: false, reason: 'signature', detail: 'The token signature is invalid' };
  }
  const { claims } = decoded;
  const exp = Number(claims.exp);
  if (!Number.isFinite(exp) || realEpochSeconds() >= exp) {
    return { ok: false, reason: 'expired', detail: new Date(exp * 1000).toISOString() };
  }
  if (!audiences.includes(String(claims.aud)))
    return { ok: false, reason: 'audience', detail: String(claims.aud) };
  if (String(claims.tid).toLowerCase() !== ctx.config.tenantId.toLowerCase()) {
    return { ok: false, reason: 'tenant', detail: String(claims.tid) };
  }
  return { ok: true, claims };
}
