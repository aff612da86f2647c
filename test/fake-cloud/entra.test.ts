import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as core from '@actions/core';
import { AzureCliCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeJwt } from '../../fake-cloud/jwt.ts';
import { startFakeCloud, type FakeCloud } from '../../fake-cloud/index.ts';
import { call, federatedCredential, fetchIdToken, sleep, trustFakeCloud } from './support.ts';

const ARM = 'https://management.azure.com/.default';
const GRAPH = 'https://graph.microsoft.com/.default';

let fake: FakeCloud;

beforeAll(async () => {
  fake = await startFakeCloud({ idTokenLifetimeSeconds: 60 });
  trustFakeCloud(fake);
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await fake.close();
});

describe('GitHub OIDC token endpoint', () => {
  it('refuses a wrong or missing bearer', async () => {
    expect((await call(fake, 'GET', `${fake.oidcRequestUrl}&audience=x`)).status).toBe(401);
    expect((await call(fake, 'GET', `${fake.oidcRequestUrl}&audience=x`, { token: 'nope' })).status).toBe(
      401,
    );
  });

  it('serves core.getIDToken with a signed token for the requested audience', async () => {
    vi.stubEnv('ACTIONS_ID_TOKEN_REQUEST_URL', fake.oidcRequestUrl);
    vi.stubEnv('ACTIONS_ID_TOKEN_REQUEST_TOKEN', fake.oidcRequestToken);
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true); // hides ::add-mask::
    let token: string;
    try {
      token = await core.getIDToken('api://AzureADTokenExchange');
    } finally {
      write.mockRestore();
    }
    const decoded = decodeJwt(token);
    expect(decoded?.header.alg).toBe('RS256');
    expect(decoded?.claims).toMatchObject({
      iss: 'https://token.actions.githubusercontent.com',
      sub: 'repo:contoso/cloudpc-images:environment:production',
      aud: 'api://AzureADTokenExchange',
    });
    const claims = decoded?.claims ?? {};
    expect(Number(claims.exp) - Number(claims.iat)).toBe(60);
    const other = decodeJwt(await fetchIdToken(fake));
    expect(other?.claims.jti).not.toBe(claims.jti);
  });
});

describe('Entra ID', () => {
  it('serves the discovery document MSAL needs', async () => {
    const res = await call(fake, 'GET', `/${fake.tenantId}/v2.0/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      token_endpoint: `${fake.url}/${fake.tenantId}/oauth2/v2.0/token`,
      issuer: `${fake.url}/${fake.tenantId}/v2.0`,
    });
  });

  it('gives ClientAssertionCredential ARM and Graph tokens, asking for a fresh assertion each time', async () => {
    const before = fake.counters.idTokens;
    const credential = federatedCredential(fake);
    const arm = await credential.getToken(ARM);
    const graph = await credential.getToken(GRAPH);
    expect(decodeJwt(arm.token)?.claims).toMatchObject({
      aud: 'https://management.azure.com/',
      tid: fake.tenantId,
      appid: fake.clientId,
    });
    expect(decodeJwt(graph.token)?.claims.aud).toBe('https://graph.microsoft.com');
    // MSAL may evaluate the assertion callback more than once per token; GitHub serves each call.
    expect(fake.counters.idTokens - before).toBeGreaterThanOrEqual(2);
    const tokenCalls = fake.requests.filter((r) => r.path.endsWith('/oauth2/v2.0/token'));
    expect(tokenCalls.every((r) => r.status === 200)).toBe(true);
  });

  it('rejects an expired ID token with AADSTS700024', async () => {
    const shortLived = await startFakeCloud({ idTokenLifetimeSeconds: 1 });
    try {
      trustFakeCloud(shortLived);
      const stale = await fetchIdToken(shortLived);
      await sleep(2100);
      const credential = federatedCredential(shortLived, { getAssertion: async () => stale });
      await expect(credential.getToken(ARM)).rejects.toThrow(
        /AADSTS700024: Client assertion is not within its valid time range/,
      );
    } finally {
      await shortLived.close();
    }
  });

  it('refuses scopes of another cloud or resource with AADSTS500011', async () => {
    const credential = federatedCredential(fake);
    await expect(credential.getToken('https://management.usgovcloudapi.net/.default')).rejects.toThrow(
      /AADSTS500011/,
    );
    await expect(credential.getToken('https://127.0.0.1/.default')).rejects.toThrow(/AADSTS500011/);
  });

  it('is strict about tenant, client and federated subject', async () => {
    // Like the real service, discovery of an unknown tenant already fails (MSAL: endpoints_resolution_error).
    await expect(
      federatedCredential(fake, { tenantId: '00000000-0000-0000-0000-000000000001' }).getToken(ARM),
    ).rejects.toThrow();
    const discovery = await call(
      fake,
      'GET',
      '/00000000-0000-0000-0000-000000000001/v2.0/.well-known/openid-configuration',
    );
    expect(discovery.status).toBe(400);
    expect(discovery.body).toMatchObject({ error_codes: [90002] });
    const tokenCall = await call(fake, 'POST', '/00000000-0000-0000-0000-000000000001/oauth2/v2.0/token', {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    expect(tokenCall.body).toMatchObject({ error: 'invalid_request', error_codes: [90002] });
    await expect(
      federatedCredential(fake, { clientId: '00000000-0000-0000-0000-000000000002' }).getToken(ARM),
    ).rejects.toThrow(/AADSTS700016/);
    const other = await startFakeCloud({
      federatedSubject: 'repo:contoso/cloudpc-images:ref:refs/heads/main',
    });
    try {
      trustFakeCloud(other);
      // An ID token of another repository/branch: right signature keys differ too, but the subject is checked first.
      const foreign = await fetchIdToken(other);
      await expect(
        federatedCredential(fake, { getAssertion: async () => foreign }).getToken(ARM),
      ).rejects.toThrow(/AADSTS70021: No matching federated identity record found/);
    } finally {
      await other.close();
    }
    const wrongAudience = await fetchIdToken(fake, 'https://github.com/contoso');
    await expect(
      federatedCredential(fake, { getAssertion: async () => wrongAudience }).getToken(ARM),
    ).rejects.toThrow(/AADSTS70021/);
  });

  it('answers Entra-shaped errors', async () => {
    const res = await call(fake, 'POST', `/${fake.tenantId}/oauth2/v2.0/token`, {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: fake.clientId,
        scope: ARM,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer',
        client_assertion: 'x',
      }).toString(),
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'invalid_request', error_codes: [50027] });
    expect(Object.keys(res.body as object)).toEqual(
      expect.arrayContaining([
        'error',
        'error_description',
        'error_codes',
        'timestamp',
        'trace_id',
        'correlation_id',
      ]),
    );
  });
});

describe('az stand-in', () => {
  const az = join(import.meta.dirname, '..', '..', 'fake-cloud', 'bin', 'az');
  const env = () => ({
    ...process.env,
    PATH: `${join(import.meta.dirname, '..', '..', 'fake-cloud', 'bin')}:${process.env.PATH ?? ''}`,
    W365_FAKE_CLOUD_URL: fake.url,
    NODE_EXTRA_CA_CERTS: fake.caFile,
  });

  it('prints what az prints', async () => {
    const { stdout } = await promisify(execFile)(
      az,
      ['account', 'get-access-token', '--output', 'json', '--resource', 'https://graph.microsoft.com'],
      { env: env() },
    );
    const out = JSON.parse(stdout) as Record<string, unknown>;
    expect(Object.keys(out).sort()).toEqual([
      'accessToken',
      'expiresOn',
      'expires_on',
      'subscription',
      'tenant',
      'tokenType',
    ]);
    expect(out.expiresOn).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
    expect(decodeJwt(String(out.accessToken))?.claims.aud).toBe('https://graph.microsoft.com');
  });

  it('fails like az on unknown arguments and unknown resources', async () => {
    const run = promisify(execFile);
    await expect(run(az, ['account', 'get-access-token', '--bogus'], { env: env() })).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('unrecognized arguments: --bogus'),
    });
    await expect(
      run(az, ['account', 'get-access-token', '--resource', 'https://management.usgovcloudapi.net'], {
        env: env(),
      }),
    ).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('AADSTS500011') });
  });

  it('is accepted by AzureCliCredential', async () => {
    for (const [key, value] of Object.entries(env())) if (value !== undefined) vi.stubEnv(key, value);
    const credential = new AzureCliCredential({ tenantId: fake.tenantId });
    const token = await credential.getToken(ARM);
    expect(decodeJwt(token.token)?.claims.aud).toBe('https://management.azure.com/');
    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now());
    expect(fake.counters.azTokens).toBeGreaterThan(0);
  });
});
