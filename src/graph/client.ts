import { getClient, type Client, type PathUncheckedResponse } from '@azure-rest/core-client';
import type { TokenCredential } from '@azure/identity';
import { azurePolicies } from '../net/azurePolicies.ts';
import { isRunFailure, RunFailure } from '../net/failures.ts';
import { boundedWaitMs, MAX_SERVER_WAIT_MS, parseRetryAfter, RequestPolicy } from '../net/policy.ts';
import type { Clock } from '../util/clock.ts';
import type { Log } from '../util/log.ts';

/** A Graph answer that was not a success, with Graph's own error code. */
export class GraphError extends Error {
  override name = 'GraphError';
  readonly status: number;
  readonly code: string;
  readonly requestId: string | undefined;
  readonly retryAfterMs: number | undefined;
  constructor(
    method: string,
    path: string,
    response: PathUncheckedResponse,
    retryAfterMs: number | undefined,
  ) {
    const body = (response.body ?? {}) as {
      error?: { code?: string; message?: string; innerError?: Record<string, string> };
    };
    const code = body.error?.code ?? `HTTP${response.status}`;
    super(
      `Graph ${method} ${path} failed: ${response.status} ${code}: ${body.error?.message ?? 'no message'}`,
    );
    this.status = Number(response.status);
    this.code = code;
    this.requestId = response.headers['request-id'] ?? body.error?.innerError?.['request-id'];
    this.retryAfterMs = retryAfterMs;
  }
}

/** The request never got an HTTP answer (connection reset, timeout): the server may or may not have acted on it. */
export class GraphTransportError extends Error {
  override name = 'GraphTransportError';
}

export interface GraphClientOptions {
  endpoint: string;
  /** The Graph audience of the cloud, whatever the endpoint. */
  scope: string;
  credential: TokenCredential;
  clock: Clock;
  log: Log;
  userAgent: string;
  /** The run's request policy (timeouts, attempts, capped waits, deadline, cancel); default: the clock's, no deadline. */
  policy?: RequestPolicy;
}

/** Pages one list may read: a tenant holds at most 20 custom images and a few hundred policies. */
export const MAX_PAGES = 200;

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
const RETRYABLE = new Set([429, 500, 502, 503, 504]);

/**
 * Microsoft Graph over the Azure core REST client, with retries done here rather than by the SDK: the SDK also
 * retries POST, which could upload an image twice, and its waits cannot follow the pipeline's clock.
 */
export class GraphClient {
  readonly #client: Client;
  readonly #origin: string;
  readonly #clock: Clock;
  readonly #log: Log;
  readonly policy: RequestPolicy;
  /** HTTP requests sent, retries included. */
  requests = 0;

  constructor(options: GraphClientOptions) {
    this.#origin = new URL(options.endpoint).origin;
    this.#clock = options.clock;
    this.#log = options.log;
    this.policy = options.policy ?? new RequestPolicy({ clock: options.clock });
    this.#client = getClient(options.endpoint, options.credential, {
      credentials: { scopes: [options.scope] },
      retryOptions: { maxRetries: 0 },
      userAgentOptions: { userAgentPrefix: options.userAgent },
      additionalPolicies: [
        ...azurePolicies(this.policy),
        {
          position: 'perCall',
          policy: {
            name: 'w365PreferUnknownEnumMembers',
            // Without it Graph hides the newer errorCode values behind unknownFutureValue.
            sendRequest: (request, next) => {
              request.headers.set('Prefer', 'include-unknown-enum-members');
              return next(request);
            },
          },
        },
      ],
    });
  }

  /** GET with retries. */
  async get<T>(path: string, query?: Record<string, string>): Promise<T> {
    const response = await this.#withRetries('GET', path, () => this.#sendForJson(path, query));
    return response.body as T;
  }

  /**
   * GET every page of a collection, following @odata.nextLink: at most MAX_PAGES pages, never the same link twice
   * (a link back to a page already read would loop for ever).
   */
  async list<T>(path: string, query?: Record<string, string>): Promise<T[]> {
    const items: T[] = [];
    const first = new URL(path, this.#origin);
    for (const [name, value] of Object.entries(query ?? {})) first.searchParams.set(name, value);
    const seen = new Set<string>([first.href]);
    let next: string | undefined = path;
    let pages = 0;
    while (next) {
      const url: string = next;
      const pageQuery = pages === 0 ? query : undefined;
      const page = await this.#withRetries('GET', url, () => this.#sendForJson(url, pageQuery));
      pages += 1;
      const body = page.body as { value?: T[]; '@odata.nextLink'?: unknown };
      if (!Array.isArray(body.value)) throw new Error(`Graph GET ${path} returned no 'value' array.`);
      items.push(...body.value);
      next = nextLinkOf(body['@odata.nextLink'], path);
      if (next === undefined) break;
      if (new URL(next).origin !== this.#origin) {
        // Never send the bearer token to a host other than the Graph endpoint.
        throw new Error(
          `Graph returned a nextLink to another host (${new URL(next).origin}); refusing to follow it.`,
        );
      }
      if (seen.has(next)) {
        throw new RunFailure(
          'paging',
          `Graph GET ${shortPath(path)}: page ${pages} links back to a page already read; stopped instead of looping.`,
          'A Graph service fault: re-run later. If it persists, report it to Microsoft with the request-id from the debug log.',
        );
      }
      if (pages >= MAX_PAGES) {
        throw new RunFailure(
          'paging',
          `Graph GET ${shortPath(path)}: still more pages after ${MAX_PAGES} pages (${items.length} items); stopped.`,
          'A Graph service fault or an unexpectedly large tenant: re-run later, and report it if it persists.',
        );
      }
      seen.add(next);
    }
    return items;
  }

  /** PATCH with retries (Graph PATCH sets the same values each time). */
  async patch(path: string, body: unknown): Promise<void> {
    await this.#withRetries('PATCH', path, () => this.#send('PATCH', path, { body }));
  }

  /** DELETE with retries; a 404 on a retry means an earlier attempt succeeded. */
  async delete(path: string): Promise<void> {
    let retried = false;
    try {
      await this.#withRetries('DELETE', path, (attempt) => {
        retried = attempt > 1;
        return this.#send('DELETE', path, {});
      });
    } catch (error) {
      if (retried && error instanceof GraphError && error.status === 404) return;
      throw error;
    }
  }

  /** One POST, never repeated here: the caller decides whether repeating is safe. */
  async postOnce<T>(path: string, body?: unknown): Promise<T> {
    const response = await this.#send('POST', path, body === undefined ? {} : { body });
    return response.body as T;
  }

  /** A GET whose 2xx answer must be a JSON object; anything else counts as a lost answer (retried). */
  async #sendForJson(
    path: string,
    query: Record<string, string> | undefined,
  ): Promise<PathUncheckedResponse> {
    const response = await this.#send('GET', path, { query });
    jsonObject(response, 'GET', path);
    return response;
  }

  async #send(
    method: Method,
    path: string,
    options: { query?: Record<string, string> | undefined; body?: unknown },
  ): Promise<PathUncheckedResponse> {
    this.requests += 1;
    const resource = this.#client.pathUnchecked(path);
    const params = {
      ...(options.query ? { queryParameters: options.query } : {}),
      ...(options.body !== undefined ? { body: options.body, contentType: 'application/json' } : {}),
    };
    let response: PathUncheckedResponse;
    try {
      response = await (method === 'GET'
        ? resource.get(params)
        : method === 'POST'
          ? resource.post(params)
          : method === 'PATCH'
            ? resource.patch(params)
            : resource.delete(params));
    } catch (error) {
      // Cancelled, past the deadline, or refused by Entra ID: nothing a retry here could change.
      if (isRunFailure(error)) throw error;
      const e = error as { code?: string; message?: string; statusCode?: number };
      if (e.statusCode === undefined) {
        throw new GraphTransportError(
          `Graph ${method} ${shortPath(path)}: no answer (${e.code === 'ETIMEDOUT' ? e.message : (e.code ?? e.message ?? 'connection failed')})`,
          { cause: error },
        );
      }
      throw error;
    }
    const status = Number(response.status);
    if (status >= 200 && status < 300) return response;
    throw new GraphError(
      method,
      shortPath(path),
      response,
      retryAfterMs(response.headers['retry-after'], this.#clock),
    );
  }

  /** Waits before a repeat (a POST's look-again, a back-off): capped, bounded by the deadline, ended by a cancel. */
  async pause(ms: number, what: string): Promise<void> {
    if (ms >= this.policy.remainingMs()) throw this.policy.deadlineFailure(what);
    await this.policy.sleep(ms, what);
  }

  async #withRetries(
    method: Method,
    path: string,
    attempt: (n: number) => Promise<PathUncheckedResponse>,
  ): Promise<PathUncheckedResponse> {
    const attempts = this.policy.attempts;
    for (let n = 1; ; n++) {
      try {
        return await attempt(n);
      } catch (error) {
        const retryable =
          error instanceof GraphTransportError ||
          (error instanceof GraphError && RETRYABLE.has(error.status));
        if (!retryable || n >= attempts) throw error;
        const asked = error instanceof GraphError ? error.retryAfterMs : undefined;
        const wait = this.policy.retryWaitMs(asked, n);
        const what = `retrying Graph ${method} ${shortPath(path)}`;
        if (wait === undefined) throw this.policy.deadlineFailure(what, error);
        this.#log.warning(
          `${(error as Error).message}; retrying in ${Math.round(wait / 1000)} s (attempt ${n + 1} of ${attempts}).`,
        );
        await this.policy.sleep(wait, what);
      }
    }
  }
}

/** Retry-After when the server sent one (capped at MAX_SERVER_WAIT_MS), else exponential back-off from 2 s. */
export function retryDelayMs(error: unknown, attempt: number): number {
  const asked = error instanceof GraphError ? error.retryAfterMs : undefined;
  return boundedWaitMs(asked, attempt, MAX_SERVER_WAIT_MS);
}

/** Parses Retry-After: seconds, or an HTTP date; undefined for anything else. */
export function retryAfterMs(header: string | undefined, clock: Clock): number | undefined {
  return parseRetryAfter(header, clock.now());
}

/** A 2xx answer that should carry a JSON object; an HTML page or an empty body is a lost answer. */
function jsonObject(response: PathUncheckedResponse, method: Method, path: string): object {
  const body: unknown = response.body;
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) return body;
  const type = response.headers['content-type'] ?? 'no content type';
  throw new GraphTransportError(
    `Graph ${method} ${shortPath(path)}: answered ${response.status} with no JSON object (${type.split(';')[0]}).`,
  );
}

function nextLinkOf(value: unknown, path: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !URL.canParse(value))
    throw new Error(`Graph GET ${shortPath(path)} returned an @odata.nextLink that is not a URL.`);
  return value;
}

function shortPath(path: string): string {
  return path.replace(/^https?:\/\/[^/]+/, '').replace(/\?.*$/, '');
}
