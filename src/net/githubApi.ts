import { getOctokit } from '@actions/github';
import { REQUEST_TIMEOUT_MS } from './policy.ts';

export interface GitHubApiOptions {
  /** GitHub Enterprise Server's API URL; github.com when absent. */
  baseUrl?: string | undefined;
  /** The run's cancel signal. */
  signal?: AbortSignal | undefined;
  timeoutMs?: number;
}

/**
 * An Octokit whose every request has a timeout and ends on the run's cancel: GitHub's API is a service we do not
 * control, and a request that never answers would otherwise keep the step alive until the job's limit.
 */
export function githubApi(token: string, options: GitHubApiOptions = {}): ReturnType<typeof getOctokit> {
  const timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
  const boundedFetch: typeof fetch = (input, init) => {
    const signals = [AbortSignal.timeout(timeoutMs)];
    if (init?.signal) signals.push(init.signal);
    if (options.signal) signals.push(options.signal);
    return fetch(input, { ...init, signal: AbortSignal.any(signals) });
  };
  return getOctokit(token, {
    ...(options.baseUrl ? { baseUrl: options.baseUrl.replace(/\/+$/, '') } : {}),
    request: { fetch: boundedFetch },
  });
}
