import type { Config } from './inputs.ts';

/** GitHub-hosted runners end every job after 360 minutes, whatever its timeout-minutes says. */
export const HOSTED_JOB_MINUTES = 360;
/** Room kept for everything but the build and the wait: setup, validation, the rollout, the report. */
export const RESERVE_MINUTES = 20;

/**
 * A warning when the configured build plus wait cannot fit a GitHub-hosted job (the runner would kill the job
 * before the action's own limits end it cleanly); undefined when it fits or the job is not on a hosted runner.
 */
export function hostedJobBudgetWarning(config: Config, env: NodeJS.ProcessEnv): string | undefined {
  if (env.GITHUB_ACTIONS !== 'true' || env.RUNNER_ENVIRONMENT === 'self-hosted') return undefined;
  const build = config.build === 'build' ? config.buildTimeoutMinutes : 0;
  const wait = config.register && !config.dryRun ? config.waitTimeoutMinutes : 0;
  const total = build + wait;
  if (total + RESERVE_MINUTES <= HOSTED_JOB_MINUTES) return undefined;
  const parts = [
    build > 0 ? `build-timeout-minutes ${build}` : undefined,
    wait > 0 ? `wait-timeout-minutes ${wait}` : undefined,
  ].filter((p) => p !== undefined);
  return `${parts.join(' + ')} = ${total} minutes, which with about ${RESERVE_MINUTES} minutes for everything else cannot fit a GitHub-hosted job (${HOSTED_JOB_MINUTES} minutes at most): the runner would stop the job before the action can report. Lower them so they add up to ${HOSTED_JOB_MINUTES - RESERVE_MINUTES} or less (the defaults, 120 + 180, do), or run on a self-hosted runner.`;
}
