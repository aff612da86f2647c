import { CLOUDS } from '../config/clouds.ts';
import type { Config } from '../config/inputs.ts';
import { workflowRunUrl } from '../imageBuild/variables.ts';
import type { RequestPolicy } from '../net/policy.ts';
import type { ReportContext } from '../report/compose.ts';
import type { Services } from '../results/services.ts';

/** What stays the same for the whole run: the inputs, their cloud, when the run started, and where it runs. */
export interface RunContext extends ReportContext {
  readonly env: NodeJS.ProcessEnv;
  /** Aborted when the job is cancelled. */
  readonly signal: AbortSignal | undefined;
}

export function createContext(
  config: Config,
  services: Pick<Services, 'log' | 'clock' | 'env' | 'signal'>,
): RunContext {
  const { log, clock, env, signal } = services;
  return Object.freeze({
    config,
    cloud: CLOUDS[config.cloud],
    clock,
    log,
    env,
    signal,
    startedAt: clock.now(),
    runUrl: workflowRunUrl(env),
  });
}

/**
 * (Re)starts the run's deadline: wait-timeout-minutes from now for the checks, the upload request and the wait for
 * the verdict (each wait and the rollout extend it). The build has its own timeout, so the clock starts again when
 * it ends.
 */
export function startDeadline(ctx: RunContext, policy: RequestPolicy): void {
  policy.setDeadline(
    ctx.clock.now() + ctx.config.waitTimeoutMinutes * 60_000,
    `wait-timeout-minutes: ${ctx.config.waitTimeoutMinutes}`,
  );
}
