import type { ManagedImageClient } from '../azure/managedImage.ts';
import type { MarketplaceClient } from '../azure/marketplace.ts';
import type { GraphClient } from '../graph/client.ts';
import type { RequestPolicy } from '../net/policy.ts';
import type { Clock } from '../util/clock.ts';
import type { Log } from '../util/log.ts';

/**
 * Everything a stage calls out to: the log, the clock, the cancel signal and the clients of the clouds. One object
 * per run, made by pipeline/services.ts; each stage and step names the part it uses, as `Pick<Services, ...>`.
 * The clients are built on first use and then reused, so a run builds only what it needs (and signs in only when
 * it reaches Azure). Never spread a Services object: that would build every client.
 */
export interface Services {
  log: Log;
  clock: Clock;
  env: NodeJS.ProcessEnv;
  /** Aborted when the job is cancelled. */
  signal?: AbortSignal | undefined;
  /** The run's request policy: timeouts, retries, the deadline and the cancel, for every client. */
  policy: RequestPolicy;
  /** Returns a new GitHub ID token for the audience, following the request policy (auth: oidc). */
  getIdToken: (audience: string, policy: RequestPolicy) => Promise<string>;
  /** Microsoft Graph (Windows 365): built when first read. */
  readonly graph: GraphClient;
  /** Managed images in any subscription: built on the first call. */
  images: () => ManagedImageClient;
  /** The Marketplace of subscription-id: built on the first call. */
  marketplace: () => MarketplaceClient;
}
