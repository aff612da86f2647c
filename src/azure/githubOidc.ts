import { cancelled, isRunFailure, RunFailure } from '../net/failures.ts';
import { parseRetryAfter, type RequestPolicy } from '../net/policy.ts';

/** GitHub's answer could not be used, and asking again might help (5xx, 429, a dropped or timed-out request). */
class TransientOidcError extends Error {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryAfterMs?: number) {
    super(message);
    this.retryAfterMs = retryAfterMs;
  }
}

const OIDC_FIX_UNAVAILABLE =
  "GitHub's OIDC token endpoint did not answer: check https://www.githubstatus.com (Actions) and re-run the job.";

/**
 * Requests a GitHub Actions OIDC ID token the way @actions/core does, without printing an ::add-mask:: command:
 * in a terminal that command would show the token instead of hiding it. Every attempt follows the run's request
 * policy (timeout, deadline, cancel); server errors and dropped connections are retried a bounded number of times.
 */
export async function fetchGitHubIdToken(
  env: NodeJS.ProcessEnv,
  audience: string,
  policy: RequestPolicy,
): Promise<string> {
  const url = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const token = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (!url || !token)
    throw new RunFailure(
      'auth',
      'ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set.',
      "Give the job 'permissions: id-token: write'; in a terminal use auth: azure-cli.",
    );
  const request = new URL(url);
  request.searchParams.set('audience', audience);
  const what = 'requesting a GitHub OIDC token';
  for (let n = 1; ; n++) {
    try {
      return await attemptOnce(request, token, policy);
    } catch (error) {
      if (!(error instanceof TransientOidcError)) throw error;
      const wait = n < policy.attempts ? policy.retryWaitMs(error.retryAfterMs, n) : undefined;
      if (wait === undefined) {
        throw new RunFailure(
          'auth',
          `GitHub OIDC token request failed after ${n} attempt(s): ${error.message}`,
          OIDC_FIX_UNAVAILABLE,
        );
      }
      await policy.sleep(wait, what);
    }
  }
}

async function attemptOnce(request: URL, token: string, policy: RequestPolicy): Promise<string> {
  policy.check('requesting a GitHub OIDC token');
  const attempt = policy.attempt();
  try {
    const response = await fetch(request, {
      headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
      signal: attempt.signal,
    });
    const text = await response.text();
    if (response.status >= 500 || response.status === 429 || response.status === 408) {
      throw new TransientOidcError(
        `${response.status} ${response.statusText}`,
        parseRetryAfter(response.headers.get('retry-after'), policy.clock.now()),
      );
    }
    if (!response.ok) {
      throw new RunFailure(
        'auth',
        `GitHub refused the OIDC token request: ${response.status} ${response.statusText}.`,
        response.status === 401 || response.status === 403
          ? "The job's token for OIDC requests was refused. Give the job 'permissions: id-token: write' and re-run it (the token is valid only while the job runs); pull requests from forks never get one."
          : 'ACTIONS_ID_TOKEN_REQUEST_URL does not point at a GitHub OIDC token endpoint: do not override it.',
      );
    }
    let value: unknown;
    try {
      value = (JSON.parse(text) as { value?: unknown }).value;
    } catch {
      throw new TransientOidcError(`${response.status} with a body that is not JSON`);
    }
    if (typeof value !== 'string' || value === '')
      throw new TransientOidcError(`${response.status} without a token in the answer`);
    return value;
  } catch (error) {
    if (attempt.stopped === 'cancelled') throw cancelled('while requesting a GitHub OIDC token');
    if (attempt.stopped === 'deadline') throw policy.deadlineFailure('requesting a GitHub OIDC token', error);
    if (attempt.stopped === 'timeout')
      throw new TransientOidcError(`no answer within ${Math.round(policy.timeoutMs / 1000)} s`);
    if (isRunFailure(error) || error instanceof TransientOidcError) throw error;
    // fetch() rejects with a TypeError when the connection fails or drops.
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new TransientOidcError(`no answer (${cause?.code ?? cause?.message ?? (error as Error).message})`);
  } finally {
    attempt.done();
  }
}
