import type { AdditionalPolicyConfig } from '@azure/core-client';
import { RestError, type PipelineRequest, type PipelineResponse } from '@azure/core-rest-pipeline';
import { cancelled, isRunFailure } from './failures.ts';
import { parseRetryAfter, type RequestPolicy } from './policy.ts';

/** A wait for a 429 or 503 whose Retry-After could not be read: back off instead of not retrying at all. */
const UNREADABLE_RETRY_AFTER_SECONDS = 5;

/**
 * The run's request policy as Azure SDK pipeline policies, for every SDK client (Graph's REST client, ARM's
 * Compute client, and Entra ID token and discovery requests of @azure/identity):
 * - per call: the cancel signal, so the SDK's own retry and long-running-operation waits end on a cancel;
 * - per attempt (inside the SDK's retries): a timeout that covers the answer's body, the run's deadline, and every
 *   server-requested wait (Retry-After, retry-after-ms, x-ms-retry-after-ms) capped and bounded by the deadline.
 */
export function azurePolicies(policy: RequestPolicy): AdditionalPolicyConfig[] {
  return [
    {
      position: 'perCall',
      policy: {
        name: 'w365RunSignal',
        sendRequest: async (request, next) => {
          if (!policy.signal) return next(request);
          const original = request.abortSignal;
          request.abortSignal = original
            ? AbortSignal.any([asSignal(original), policy.signal])
            : policy.signal;
          try {
            return await next(request);
          } catch (error) {
            if (policy.signal.aborted && !isRunFailure(error)) throw cancelled(`during ${describe(request)}`);
            throw error;
          } finally {
            request.abortSignal = original;
          }
        },
      },
    },
    {
      position: 'perRetry',
      policy: {
        name: 'w365Attempt',
        sendRequest: async (request, next) => {
          policy.check(describe(request));
          const attempt = policy.attempt();
          const original = request.abortSignal;
          request.abortSignal = original
            ? AbortSignal.any([asSignal(original), attempt.signal])
            : attempt.signal;
          try {
            return boundServerWaits(await next(request), policy);
          } catch (error) {
            if (attempt.stopped === 'cancelled') throw cancelled(`during ${describe(request)}`);
            if (attempt.stopped === 'deadline') throw policy.deadlineFailure(describe(request), error);
            if (attempt.stopped === 'timeout') {
              // ETIMEDOUT: the SDK's retry strategy retries it like any other lost answer.
              throw new RestError(
                `${describe(request)}: no answer within ${Math.round(policy.timeoutMs / 1000)} s`,
                { code: 'ETIMEDOUT', request },
              );
            }
            throw error;
          } finally {
            attempt.done();
            request.abortSignal = original;
          }
        },
      },
    },
  ];
}

/** Rewrites the server's wait headers to one capped Retry-After the SDK's retry and LRO code can read. */
function boundServerWaits(response: PipelineResponse, policy: RequestPolicy): PipelineResponse {
  const { headers } = response;
  const raw = ['retry-after-ms', 'x-ms-retry-after-ms', 'retry-after'].filter((h) => headers.has(h));
  if (raw.length === 0) return response;
  let asked: number | undefined;
  for (const name of raw) {
    const value = headers.get(name) ?? '';
    const ms = parseRetryAfter(value, Date.now());
    // retry-after-ms and x-ms-retry-after-ms count milliseconds, not seconds.
    asked ??= ms === undefined || name === 'retry-after' ? ms : ms / 1000;
    headers.delete(name);
  }
  const throttled = response.status === 429 || response.status === 503;
  if (asked === undefined || !Number.isFinite(asked)) {
    if (throttled) headers.set('retry-after', String(UNREADABLE_RETRY_AFTER_SECONDS));
    return response;
  }
  const bounded = Math.min(asked, policy.maxServerWaitMs, Math.max(0, policy.remainingMs()));
  headers.set('retry-after', String(Math.ceil(bounded / 1000)));
  return response;
}

/** The SDK types signals as AbortSignalLike; AbortSignal.any needs real ones. */
function asSignal(like: NonNullable<PipelineRequest['abortSignal']>): AbortSignal {
  if (like instanceof AbortSignal) return like;
  const controller = new AbortController();
  if (like.aborted) controller.abort();
  else like.addEventListener('abort', () => controller.abort(), { once: true });
  return controller.signal;
}

function describe(request: PipelineRequest): string {
  const url = new URL(request.url);
  return `${request.method} ${url.host}${url.pathname}`;
}
