import type { TokenCredential } from '@azure/identity';
import { createCredential } from '../azure/credential.ts';
import { ManagedImageClient } from '../azure/managedImage.ts';
import { MarketplaceClient } from '../azure/marketplace.ts';
import type { Cloud } from '../config/clouds.ts';
import type { Config } from '../config/inputs.ts';
import { GraphClient } from '../graph/client.ts';
import { RequestPolicy } from '../net/policy.ts';
import type { Services } from '../results/services.ts';
import type { Log } from '../util/log.ts';
import { USER_AGENT } from '../version.ts';

/** What the caller (the action or the CLI) hands the run; the clients are made from these. */
export type ServiceInputs = Pick<Services, 'log' | 'clock' | 'env' | 'signal' | 'getIdToken'>;

/**
 * The one place the run's clients are made: the credential, Graph, the managed image client and the Marketplace,
 * each built once, on first use, so a run that never reaches Azure never signs in.
 */
export function createServices(config: Config, cloud: Cloud, inputs: ServiceInputs): Services {
  const { log, clock, env, signal, getIdToken } = inputs;
  // From here on every request and wait follows one policy.
  const policy = new RequestPolicy({ clock, signal });
  let credential: TokenCredential | undefined;
  let graph: GraphClient | undefined;
  let images: ManagedImageClient | undefined;
  let marketplace: MarketplaceClient | undefined;
  const getCredential = () =>
    (credential ??= maskingTokens(
      createCredential(
        {
          auth: config.auth,
          tenantId: config.tenantId,
          clientId: config.clientId,
          cloud,
          authorityHost: config.authorityHost,
        },
        { env, log, getIdToken, policy },
      ),
      log,
    ));
  const arm = () => ({
    credential: getCredential(),
    endpoint: config.armEndpoint ?? cloud.armEndpoint,
    scope: cloud.armScope,
    userAgent: USER_AGENT,
    policy,
  });
  return {
    log,
    clock,
    env,
    signal,
    policy,
    getIdToken,
    get graph() {
      return (graph ??= new GraphClient({
        endpoint: config.graphEndpoint ?? cloud.graphEndpoint,
        scope: cloud.graphScope,
        credential: getCredential(),
        clock,
        log,
        userAgent: USER_AGENT,
        policy,
      }));
    },
    images: () => (images ??= new ManagedImageClient(arm())),
    marketplace: () =>
      (marketplace ??= new MarketplaceClient({ ...arm(), subscriptionId: config.subscriptionId ?? '' })),
  };
}

/** The credential, with every access token it hands out masked (an echoing endpoint must not publish one). */
function maskingTokens(credential: TokenCredential, log: Log): TokenCredential {
  return {
    getToken: async (scopes, options) => {
      const token = await credential.getToken(scopes, options);
      if (token) log.mask(token.token);
      return token;
    },
  };
}
