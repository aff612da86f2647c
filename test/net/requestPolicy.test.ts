import { afterEach, describe, expect, it } from 'vitest';
import { fetchGitHubIdToken } from '../../src/azure/githubOidc.ts';
import { parseManagedImageId } from '../../src/azure/resourceId.ts';
import { GraphTransportError } from '../../src/graph/client.ts';
import { listDeviceImages, VIRTUAL_ENDPOINT } from '../../src/graph/deviceImages.ts';
import { RunFailure } from '../../src/net/failures.ts';
import { boundedWaitMs, MAX_SERVER_WAIT_MS, parseRetryAfter } from '../../src/net/policy.ts';
import { registerImage } from '../../src/register/register.ts';
import { MAX_TIMER_MS, systemClock } from '../../src/util/clock.ts';
import { creates } from '../e2e/harness.ts';
import { graphCalls, startPolicyEnv, type PolicyEnv } from './support.ts';

let current: PolicyEnv | undefined;
afterEach(async () => {
  await current?.fake.close();
  current = undefined;
});
async function start(options: Parameters<typeof startPolicyEnv>[0] = {}): Promise<PolicyEnv> {
  current = await startPolicyEnv(options);
  return current;
}

const DEVICE_IMAGES = `${VIRTUAL_ENDPOINT}/deviceImages`;
const retryLines = (env: PolicyEnv) => env.log.lines.filter((l) => l.includes('retrying in'));
const waitedSeconds = (line: string) => Number(/retrying in (\d+) s/.exec(line)?.[1]);

async function failure(promise: Promise<unknown>): Promise<RunFailure> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RunFailure);
  return error as RunFailure;
}

describe('Retry-After, read strictly and capped', () => {
  it('reads whole or decimal seconds and HTTP dates, nothing else', () => {
    const now = Date.parse('2026-11-26T12:00:00Z');
    expect(parseRetryAfter('30', now)).toBe(30_000);
    expect(parseRetryAfter('1.5', now)).toBe(1_500);
    expect(parseRetryAfter('Thu, 26 Nov 2026 12:00:10 GMT', now)).toBe(10_000);
    for (const absurd of ['soon', '-5', '1e9', '0x10', 'Infinity', '', '   ', '2026-11-26'])
      expect(parseRetryAfter(absurd, now), absurd).toBeUndefined();
  });

  it('never waits longer than the cap, whatever the server asks', () => {
    for (const asked of [86_400_000, 2 ** 31, 1e20, Infinity]) {
      expect(boundedWaitMs(asked, 1, MAX_SERVER_WAIT_MS)).toBeLessThanOrEqual(MAX_SERVER_WAIT_MS);
    }
    expect(boundedWaitMs(-5, 1, MAX_SERVER_WAIT_MS)).toBe(0);
    expect(boundedWaitMs(undefined, 30, MAX_SERVER_WAIT_MS)).toBeLessThanOrEqual(60_000);
  });

  it('a sleep longer than a Node timer can hold does not fire at once', async () => {
    const controller = new AbortController();
    let ended = false;
    const sleeping = systemClock()
      .sleep(MAX_TIMER_MS + 10_000, controller.signal)
      .then(() => (ended = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(ended).toBe(false);
    controller.abort();
    await sleeping;
    expect(ended).toBe(true);
  });
});

describe('Graph requests under faults', () => {
  it('gives up on a request that never answers after bounded attempts, each with a timeout', async () => {
    const env = await start({ scale: 100, policy: { timeoutMs: 1_000, attempts: 3 } });
    env.fake.inject({ kind: 'hang', service: 'graph', count: 10 });
    const error = await listDeviceImages(env.graph).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphTransportError);
    expect((error as Error).message).toContain('no answer within 1 s');
    expect(graphCalls(env.fake, DEVICE_IMAGES).map((r) => r.injected)).toEqual(['hang', 'hang', 'hang']);
    expect(retryLines(env)).toHaveLength(2);
  });

  it('ends a hung request at the run deadline', async () => {
    const env = await start({ scale: 100 });
    env.policy.setDeadline(env.policy.clock.now() + 60_000, 'wait-timeout-minutes: 1');
    env.fake.inject({ kind: 'hang', service: 'graph', count: 10 });
    const stopped = await failure(listDeviceImages(env.graph));
    expect(stopped.kind).toBe('deadline');
    expect(stopped.message).toContain('wait-timeout-minutes: 1');
    expect(graphCalls(env.fake, DEVICE_IMAGES)).toHaveLength(1);
  });

  it('ends a hung request on cancel', async () => {
    const cancel = new AbortController();
    const env = await start({ policy: { signal: cancel.signal } });
    env.fake.inject({ kind: 'hang', service: 'graph', count: 10 });
    setTimeout(() => cancel.abort(), 300);
    const stopped = await failure(listDeviceImages(env.graph));
    expect(stopped.kind).toBe('cancelled');
    expect(graphCalls(env.fake, DEVICE_IMAGES)).toHaveLength(1);
  });

  it('ends a back-off on cancel', async () => {
    const cancel = new AbortController();
    const env = await start({ policy: { signal: cancel.signal } });
    env.fake.inject({ kind: 'status', status: 429, retryAfterSeconds: 250, service: 'graph', count: 10 });
    const stopped = failure(listDeviceImages(env.graph));
    while (retryLines(env).length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    cancel.abort();
    expect((await stopped).kind).toBe('cancelled');
    expect(graphCalls(env.fake, DEVICE_IMAGES)).toHaveLength(1);
  });

  it.each([
    ['a day', '86400', 600],
    ['past the 32-bit timer range', '99999999999999', 600],
  ])('caps a Retry-After of %s at ten minutes', async (_name, retryAfter, expected) => {
    const env = await start({ scale: 3_000 });
    env.fake.inject({ kind: 'status', status: 429, retryAfter, service: 'graph', count: 1 });
    await listDeviceImages(env.graph);
    const [line] = retryLines(env);
    // The request policy rewrote the header to the cap before Graph's retry loop read it.
    expect(waitedSeconds(line ?? '')).toBe(expected);
  });

  it.each(['soon', '-5', '1e9', '0x10'])(
    'backs off on its own for a Retry-After of %s',
    async (retryAfter) => {
      const env = await start({ scale: 100 });
      env.fake.inject({ kind: 'status', status: 503, retryAfter, service: 'graph', count: 1 });
      await listDeviceImages(env.graph);
      const [line] = retryLines(env);
      // An unreadable Retry-After on a 429 or 503 becomes a short back-off (5 s), never a long or no wait.
      expect(waitedSeconds(line ?? '')).toBeLessThanOrEqual(5);
    },
  );

  it('does not wait for a Retry-After that ends past the deadline', async () => {
    const env = await start();
    env.policy.setDeadline(env.policy.clock.now() + 60_000, 'wait-timeout-minutes: 1');
    env.fake.inject({ kind: 'status', status: 429, retryAfterSeconds: 86_400, service: 'graph', count: 5 });
    const stopped = await failure(listDeviceImages(env.graph));
    expect(stopped.kind).toBe('deadline');
    expect(graphCalls(env.fake, DEVICE_IMAGES)).toHaveLength(1);
    expect(retryLines(env)).toHaveLength(0);
  });

  it('retries an HTML page in place of JSON, on success and error statuses', async () => {
    const env = await start({ scale: 100 });
    env.fake.addDeviceImage({ displayName: 'Corp', version: '1.0.0' });
    env.fake.inject({ kind: 'html', service: 'graph', count: 1 });
    env.fake.inject({ kind: 'html', status: 502, service: 'graph', count: 1 });
    const images = await listDeviceImages(env.graph);
    expect(images.map((i) => i.version)).toEqual(['1.0.0']);
    expect(graphCalls(env.fake, DEVICE_IMAGES).map((r) => r.injected)).toEqual(['html', 'html', undefined]);
  });

  it('stops when a nextLink points back at a page already read', async () => {
    const env = await start();
    for (let i = 0; i < 5; i++) env.fake.addDeviceImage({ displayName: 'Corp', version: `1.0.${i}` });
    env.fake.inject({ kind: 'self-link', service: 'graph', count: 1_000 });
    const stopped = await failure(listDeviceImages(env.graph));
    expect(stopped.kind).toBe('paging');
    expect(graphCalls(env.fake, DEVICE_IMAGES)).toHaveLength(1);
  });

  it('looks for the upload before a second POST when the POST timed out', async () => {
    const env = await start({ scale: 100, fake: { uploadSeconds: 60 }, policy: { timeoutMs: 1_000 } });
    const source = env.fake.addManagedImage({ resourceGroup: 'images', name: 'img' });
    env.fake.inject({ kind: 'after', status: 'hang', service: 'graph', method: 'POST', count: 1 });
    const registration = await registerImage(
      { displayName: 'Corp', version: '1.0.0', sourceImageResourceId: source.id, timeoutMs: 10 * 60_000 },
      { graph: env.graph, clock: env.policy.clock, log: env.log },
    );
    expect(registration.outcome).toBe('ready');
    expect(creates(env.fake)).toHaveLength(1);
    expect(env.fake.counters.deviceImageCreates).toBe(1);
    expect(env.log.lines.join('\n')).toContain('did start the upload');
  });
});

describe('unusable answers to the upload POST', () => {
  it('an HTML page instead of the new device image is ambiguous: look, then POST once more', async () => {
    const env = await start({ scale: 100, fake: { uploadSeconds: 60 } });
    const source = env.fake.addManagedImage({ resourceGroup: 'images', name: 'img' });
    env.fake.inject({ kind: 'html', status: 201, service: 'graph', method: 'POST', count: 1 });
    const registration = await registerImage(
      { displayName: 'Corp', version: '1.0.0', sourceImageResourceId: source.id, timeoutMs: 10 * 60_000 },
      { graph: env.graph, clock: env.policy.clock, log: env.log },
    );
    expect(registration.outcome).toBe('ready');
    expect(registration.deviceImage.id).toMatch(/^[0-9a-f-]{36}$/);
    // The HTML answer created nothing; the look-up found nothing; the second POST created the one image.
    expect(creates(env.fake).map((r) => r.injected)).toEqual(['html', undefined]);
    expect(env.fake.counters.deviceImageCreates).toBe(1);
    expect(env.log.lines.join('\n')).toContain('answered without the id of a device image');
  });
});

describe('ARM requests under faults', () => {
  const idOf = (env: PolicyEnv, name: string) => {
    const parsed = parseManagedImageId(
      `/subscriptions/${env.fake.subscriptionId}/resourceGroups/images/providers/Microsoft.Compute/images/${name}`,
    );
    if (!parsed.ok) throw new Error(parsed.problem);
    return parsed.value;
  };

  it('a missing image is a fact about the image; a 403 is an authorization failure with the role to grant', async () => {
    const env = await start();
    env.fake.addManagedImage({ resourceGroup: 'images', name: 'secret', forbidden: true });
    const missing = await env.images.read(idOf(env, 'nope'));
    expect(missing).toMatchObject({ ok: false, status: 404 });
    const refused = await failure(env.images.read(idOf(env, 'secret')));
    expect(refused.kind).toBe('auth');
    expect(refused.fix).toContain('Reader');
  });

  it('ARM that keeps failing is unreachable, not a fact about the image', async () => {
    const env = await start();
    env.fake.addManagedImage({ resourceGroup: 'images', name: 'img' });
    env.fake.inject({ kind: 'status', status: 503, retryAfter: '0', service: 'arm', count: 100 });
    const stopped = await failure(env.images.read(idOf(env, 'img')));
    expect(stopped.kind).toBe('unreachable');
    expect(stopped.message).toContain('503');
    // The SDK's own bounded retries (3), no more.
    expect(env.fake.requests.filter((r) => r.service === 'arm')).toHaveLength(4);
  });

  it('caps a Retry-After at the deadline and stops there', async () => {
    const env = await start();
    env.fake.addManagedImage({ resourceGroup: 'images', name: 'img' });
    env.policy.setDeadline(env.policy.clock.now() + 1_500, 'wait-timeout-minutes: 1');
    env.fake.inject({ kind: 'status', status: 429, retryAfterSeconds: 86_400, service: 'arm', count: 5 });
    const stopped = await failure(env.images.read(idOf(env, 'img')));
    expect(stopped.kind).toBe('deadline');
    expect(env.fake.requests.filter((r) => r.service === 'arm')).toHaveLength(1);
  });

  it('ends a hung ARM request at the deadline', async () => {
    const env = await start();
    env.fake.addManagedImage({ resourceGroup: 'images', name: 'img' });
    env.policy.setDeadline(env.policy.clock.now() + 1_000, 'wait-timeout-minutes: 1');
    env.fake.inject({ kind: 'hang', service: 'arm', count: 5 });
    expect((await failure(env.images.read(idOf(env, 'img')))).kind).toBe('deadline');
  });
});

describe('GitHub OIDC and Entra ID failures', () => {
  const oidcCalls = (env: PolicyEnv) => env.fake.requests.filter((r) => r.service === 'github');

  it('retries GitHub 5xx answers and dropped connections, then gets the token', async () => {
    const env = await start({ scale: 100 });
    env.fake.inject({ kind: 'status', status: 500, service: 'github', count: 1 });
    env.fake.inject({ kind: 'drop', service: 'github', count: 1 });
    env.fake.inject({ kind: 'status', status: 502, service: 'github', count: 1 });
    const token = await fetchGitHubIdToken(env.env, 'api://AzureADTokenExchange', env.policy);
    expect(token.split('.')).toHaveLength(3);
    expect(oidcCalls(env)).toHaveLength(4);
  });

  it('gives up on GitHub after bounded attempts with an auth error that says what to do', async () => {
    const env = await start({ scale: 100, policy: { attempts: 3 } });
    env.fake.inject({ kind: 'drop', service: 'github', count: 10 });
    const stopped = await failure(fetchGitHubIdToken(env.env, 'api://AzureADTokenExchange', env.policy));
    expect(stopped.kind).toBe('auth');
    expect(stopped.message).toContain('after 3 attempt(s)');
    expect(stopped.fix).toContain('githubstatus');
    expect(oidcCalls(env)).toHaveLength(3);
  });

  it('does not retry a 401 from GitHub and names the id-token permission', async () => {
    const env = await start();
    env.fake.inject({ kind: 'status', status: 401, service: 'github', count: 10 });
    const stopped = await failure(fetchGitHubIdToken(env.env, 'api://AzureADTokenExchange', env.policy));
    expect(stopped.kind).toBe('auth');
    expect(stopped.fix).toContain('id-token: write');
    expect(oidcCalls(env)).toHaveLength(1);
  });

  it('retries a GitHub request that never answers', async () => {
    const env = await start({ scale: 100, policy: { timeoutMs: 500 } });
    env.fake.inject({ kind: 'hang', service: 'github', count: 1 });
    const token = await fetchGitHubIdToken(env.env, 'api://AzureADTokenExchange', env.policy);
    expect(token).toBeTruthy();
    expect(oidcCalls(env).map((r) => r.injected)).toEqual(['hang', undefined]);
  });

  it('an AADSTS answer stops the Graph call at once with the fix for that code and the subject seen', async () => {
    const env = await start({ fake: { githubSubject: 'repo:contoso/cloudpc-images:ref:refs/heads/main' } });
    const stopped = await failure(listDeviceImages(env.graph));
    expect(stopped.kind).toBe('auth');
    expect(stopped.message).toContain('AADSTS70021');
    expect(stopped.fix).toContain('repo:ORG/REPO:environment:ENV');
    expect(stopped.fix).toContain("subject 'repo:contoso/cloudpc-images:ref:refs/heads/main'");
    expect(env.fake.requests.filter((r) => r.service === 'graph')).toHaveLength(0);
  });

  it('retries an Entra ID token or discovery request that never answers', async () => {
    const env = await start({ policy: { timeoutMs: 1_000 } });
    env.fake.inject({ kind: 'hang', service: 'entra', count: 1 });
    expect(await listDeviceImages(env.graph)).toEqual([]);
    expect(env.fake.requests.filter((r) => r.service === 'entra').map((r) => r.injected)).toContain('hang');
  });

  it('ends at the deadline when Entra ID never answers', async () => {
    const env = await start();
    env.policy.setDeadline(env.policy.clock.now() + 1_000, 'wait-timeout-minutes: 1');
    env.fake.inject({ kind: 'hang', service: 'entra', count: 100 });
    expect((await failure(listDeviceImages(env.graph))).kind).toBe('deadline');
    expect(env.fake.requests.filter((r) => r.service === 'graph')).toHaveLength(0);
  });

  it('an OIDC 500 that lasts stops the Graph call with an auth error, not a retry storm', async () => {
    const env = await start({ scale: 100, policy: { attempts: 2 } });
    env.fake.inject({ kind: 'status', status: 500, service: 'github', count: 100 });
    const stopped = await failure(listDeviceImages(env.graph));
    expect(stopped.kind).toBe('auth');
    expect(stopped.fix).toContain('githubstatus');
    expect(env.fake.requests.filter((r) => r.service === 'graph')).toHaveLength(0);
  });
});
