import { getClient, type Client, type PathUncheckedResponse } from '@azure-rest/core-client';
import type { TokenCredential } from '@azure/identity';
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
  /** Attempts for requests that are safe to repeat (default 8). */
  maxAttempts?: number;
}

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
  readonly #maxAttempts: number;
  /** HTTP requests sent, retries included. */
  requests = 0;

  constructor(options: GraphClientOptions) {
    this.#origin = new URL(options.endpoint).origin;
    this.#clock = options.clock;
    this.#log = options.log;
    this.#maxAttempts = options.maxAttempts ?? 8;
    this.#client = getClient(options.endpoint, options.credential, {
      credentials: { scopes: [options.scope] },
      retryOptions: { maxRetries: 0 },
      userAgentOptions: { userAgentPrefix: options.userAgent },
      additionalPolicies: [
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
    const response = await this.#withRetries('GET', path, () => this.#send('GET', path, { query }));
    return response.body as T;
  }

  /** GET every page of a collection, following @odata.nextLink. */
  async list<T>(path: string, query?: Record<string, string>): Promise<T[]> {
    const items: T[] = [];
    let next: string | undefined = path;
    let first = true;
    while (next) {
      const url: string = next;
      const page = await this.#withRetries('GET', url, () => this.#send('GET', url, first ? { query } : {}));
      const body = page.body as { value?: T[]; '@odata.nextLink'?: string };
      if (!Array.isArray(body.value)) throw new Error(`Graph GET ${path} returned no 'value' array.`);
      items.push(...body.value);
      next = body['@odata.nextLink'];
      if (next !== undefined && new URL(next).origin !== this.#origin) {
        // Never send the bearer token to a host other than the Graph endpoint.
        throw new Error(
          `Graph returned a nextLink to another host (${new URL(next).origin}); refusing to follow it.`,
        );
      }
      first = false;
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
      const e = error as { code?: string; message?: string; statusCode?: number };
      if (e.statusCode === undefined) {
        throw new GraphTransportError(
          `Graph ${method} ${shortPath(path)}: no answer (${e.code ?? e.message ?? 'connection failed'})`,
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

  async #withRetries(
    method: Method,
    path: string,
    attempt: (n: number) => Promise<PathUncheckedResponse>,
  ): Promise<PathUncheckedResponse> {
    for (let n = 1; ; n++) {
      try {
        return await attempt(n);
      } catch (error) {
        const retryable =
          error instanceof GraphTransportError ||
          (error instanceof GraphError && RETRYABLE.has(error.status));
        if (!retryable || n >= this.#maxAttempts) throw error;
        const wait = retryDelayMs(error, n);
        this.#log.warning(
          `${(error as Error).message}; retrying in ${Math.round(wait / 1000)} s (attempt ${n + 1} of ${this.#maxAttempts}).`,
        );
        await this.#clock.sleep(wait);
      }
    }
  }
}

/** Retry-After when the server sent one, else exponential back-off from 2 s, capped at a minute. */
export function retryDelayMs(error: unknown, attempt: number): number {
  if (error instanceof GraphError && error.retryAfterMs !== undefined) return error.retryAfterMs;
  const base = Math.min(60_000, 2_000 * 2 ** (attempt - 1));
  return base / 2 + Math.random() * (base / 2);
}

/** Parses Retry-After: seconds, or an HTTP date. */
export function retryAfterMs(header: string | undefined, clock: Clock): number | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(header.trim())) return Number(header) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - clock.now());
}

function shortPath(path: string): string {
  return path.replace(/^https?:\/\/[^/]+/, '').replace(/\?.*$/, '');
}
