import { randomUUID } from 'node:crypto';
import { realEpochSeconds } from './clock.ts';
import { bearerToken, json, type Context, type Incoming, type Reply } from './http.ts';
import { jwk, signJwt } from './jwt.ts';

export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
export const OIDC_TOKEN_PATH = '/_github/oidc/token';

/** Claims GitHub derives from the subject `repo:OWNER/REPO:...`. */
function repositoryClaims(subject: string): Record<string, string> {
  const match = /^repo:([^/:]+)\/([^:]+):(.*)$/.exec(subject);
  if (!match) return {};
  const [, owner = '', repo = '', rest = ''] = match;
  const claims: Record<string, string> = {
    repository: `${owner}/${repo}`,
    repository_owner: owner,
    repository_visibility: 'private',
    event_name: 'workflow_dispatch',
    workflow: 'build-image',
    runner_environment: 'github-hosted',
  };
  if (rest.startsWith('environment:')) claims.environment = rest.slice('environment:'.length);
  if (rest.startsWith('ref:')) claims.ref = rest.slice('ref:'.length);
  return claims;
}

/** GitHub's Actions OIDC token endpoint: `GET {ACTIONS_ID_TOKEN_REQUEST_URL}&audience=...`. */
export function handleGithub(ctx: Context, req: Incoming): Reply {
  if (req.path === '/_github/.well-known/jwks') return json(200, { keys: [jwk(ctx.githubKey)] });
  if (req.path === '/_github/.well-known/openid-configuration') {
    return json(200, {
      issuer: GITHUB_ISSUER,
      jwks_uri: `${ctx.config.url}/_github/.well-known/jwks`,
      subject_types_supported: ['public', 'pairwise'],
      response_types_supported: ['id_token'],
      id_token_signing_alg_values_supported: ['RS256'],
      claims_supported: ['sub', 'aud', 'exp', 'iat', 'iss', 'jti', 'nbf', 'ref', 'repository', 'environment'],
      scopes_supported: ['openid'],
    });
  }
  if (req.path !== OIDC_TOKEN_PATH) return json(404, { message: 'Not Found' });
  if (req.method !== 'GET' && req.method !== 'POST') return json(405, { message: 'Method Not Allowed' });
  const token = bearerToken(req);
  if (!token || token !== ctx.config.oidcRequestToken) {
    return json(401, { message: 'Bad credentials' });
  }
  if (req.query.get('api-version') !== '2.0') return json(400, { message: 'Unsupported api-version' });
  const owner = /^repo:([^/:]+)\//.exec(ctx.config.githubSubject)?.[1] ?? 'contoso';
  const audience = req.query.get('audience') || `https://github.com/${owner}`;
  const now = realEpochSeconds();
  ctx.counters.idTokens += 1;
  const value = signJwt(ctx.githubKey, {
    jti: randomUUID(),
    sub: ctx.config.githubSubject,
    aud: audience,
    ...repositoryClaims(ctx.config.githubSubject),
    run_id: '1000000001',
    run_attempt: '1',
    iss: GITHUB_ISSUER,
    nbf: now,
    iat: now,
    exp: now + ctx.config.idTokenLifetimeSeconds,
  });
  return json(200, { value });
}
