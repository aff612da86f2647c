// Real clients (GraphClient, ManagedImageClient, the credential, the OIDC fetch) with one request policy, against
// an in-process fake cloud.
import { createCredential } from '../../src/azure/credential.ts';
import { fetchGitHubIdToken } from '../../src/azure/githubOidc.ts';
import { ManagedImageClient } from '../../src/azure/managedImage.ts';
import { CLOUDS } from '../../src/config/clouds.ts';
import { GraphClient } from '../../src/graph/client.ts';
import { RequestPolicy, type RequestPolicyOptions } from '../../src/net/policy.ts';
import { systemClock } from '../../src/util/clock.ts';
import { startFakeCloud, type FakeCloud, type FakeCloudOptions } from '../../fake-cloud/index.ts';
import { trustFakeCloud } from '../fake-cloud/support.ts';
import { testLog, type TestLog } from '../rollout/support.ts';

export interface PolicyEnv {
  fake: FakeCloud;
  policy: RequestPolicy;
  graph: GraphClient;
  images: ManagedImageClient;
  log: TestLog;
  env: NodeJS.ProcessEnv;
}

/**
 * The fake and the action's clients with one policy. `scale` runs the policy's clock faster (waits, deadline);
 * the per-attempt timeout is real time.
 */
export async function startPolicyEnv(
  options: {
    fake?: FakeCloudOptions;
    policy?: Omit<RequestPolicyOptions, 'clock'>;
    scale?: number;
    githubSubject?: string;
  } = {},
): Promise<PolicyEnv> {
  const fake = await startFakeCloud({ timeScale: options.scale ?? 1, graphPageSize: 2, ...options.fake });
  trustFakeCloud(fake);
  const clock = systemClock(options.scale ?? 1);
  const policy = new RequestPolicy({ clock, ...options.policy });
  const log = testLog();
  const env = {
    ACTIONS_ID_TOKEN_REQUEST_URL: fake.oidcRequestUrl,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: fake.oidcRequestToken,
  };
  const credential = createCredential(
    {
      auth: 'oidc',
      tenantId: fake.tenantId,
      clientId: fake.clientId,
      cloud: CLOUDS.public,
      authorityHost: fake.url,
    },
    { env, log, policy, getIdToken: (audience, p) => fetchGitHubIdToken(env, audience, p) },
  );
  const graph = new GraphClient({
    endpoint: fake.url,
    scope: CLOUDS.public.graphScope,
    credential,
    clock,
    log,
    userAgent: 'w365-image-test',
    policy,
  });
  const images = new ManagedImageClient({
    credential,
    endpoint: fake.url,
    scope: CLOUDS.public.armScope,
    userAgent: 'w365-image-test',
    policy,
  });
  return { fake, policy, graph, images, log, env };
}

/** Graph requests the fake received for this path fragment. */
export function graphCalls(fake: FakeCloud, path: string) {
  return fake.requests.filter((r) => r.service === 'graph' && r.path.includes(path));
}
