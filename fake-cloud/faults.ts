import { randomUUID } from 'node:crypto';
import { armError } from './arm.ts';
import { entraError } from './entra.ts';
import { graphError } from './graph.ts';
import { json, type Incoming, type Reply } from './http.ts';
import type { ServiceName } from './state.ts';

interface FaultMatch {
  service?: ServiceName;
  method?: string;
  /** A RegExp tested against the path, or a string the path must contain. */
  path?: RegExp | string;
  /** How many matching requests the fault applies to. */
  count: number;
}

export type Fault =
  | (FaultMatch & {
      kind: 'status';
      status: 401 | 403 | 429 | 500 | 502 | 503;
      retryAfterSeconds?: number;
      /** A Retry-After header sent as is (absurd, huge or not a number), instead of retryAfterSeconds. */
      retryAfter?: string;
    })
  | (FaultMatch & { kind: 'drop' })
  /** Accepts the request and never answers (the connection stays open until the client gives up). */
  | (FaultMatch & { kind: 'hang' })
  /** An HTML page instead of the service's JSON, as a proxy or a gateway sends (default status 200). */
  | (FaultMatch & { kind: 'html'; status?: number })
  /** Graph lists: the page's @odata.nextLink points back at the page itself. */
  | (FaultMatch & { kind: 'self-link' })
  /** Handles the request (the change happens), then answers 500, drops the connection, or never answers. */
  | (FaultMatch & { kind: 'after'; status?: 500 | 'drop' | 'hang' })

  /** A 400 whose error text repeats the whole request body (some token endpoints and proxies do). */
  | (FaultMatch & { kind: 'echo' });

/** Faults waiting for requests, applied in the order they were injected. */
export class FaultQueue {
  private readonly faults: Fault[] = [];

  add(fault: Fault): void {
    if (!(fault.count >= 1) || !Number.isInteger(fault.count))
      throw new Error('A fault needs an integer count >= 1');
    this.faults.push({ ...fault });
  }

  /** Takes one application of the first fault matching this request, if any. */
  take(service: ServiceName, req: Incoming): Fault | undefined {
    const fault = this.faults.find((f) => matchesFault(f, service, req));
    if (!fault) return undefined;
    fault.count -= 1;
    if (fault.count <= 0) this.faults.splice(this.faults.indexOf(fault), 1);
    return fault;
  }

  get pending(): number {
    return this.faults.length;
  }
}

function matchesFault(fault: Fault, service: ServiceName, req: Incoming): boolean {
  if (fault.service && fault.service !== service) return false;
  if (fault.method && fault.method.toUpperCase() !== req.method) return false;
  if (fault.path instanceof RegExp) return fault.path.test(req.path);
  if (typeof fault.path === 'string') return req.path.includes(fault.path);
  return true;
}

const REASONS: Record<number, [string, string]> = {
  401: ['Unauthorized', 'Bad credentials'],
  403: ['Forbidden', 'The caller is not allowed to do this.'],
  429: ['TooManyRequests', 'Too many requests. Please retry after the time in the Retry-After header.'],
  500: ['InternalServerError', 'An internal server error occurred.'],
  502: ['BadGateway', 'The gateway received an invalid response.'],
  503: ['ServiceUnavailable', 'The service is temporarily unavailable. Please retry later.'],
};

/** An error reply shaped like the service's own. Retry-After (virtual seconds) on 429 and 503. */
export function faultReply(
  service: ServiceName,
  req: Incoming,
  status: number,
  retryAfterSeconds?: number,
  retryAfter?: string,
): Reply {
  const [code, message] = REASONS[status] ?? ['Error', `Injected error ${status}.`];
  const headers: Record<string, string> = {};
  if (status === 429 || status === 503) headers['Retry-After'] = retryAfter ?? String(retryAfterSeconds ?? 1);
  let reply: Reply;
  switch (service) {
    case 'graph':
      reply = graphError(req, status, status === 429 ? 'TooManyRequests' : code, message);
      break;
    case 'arm':
      reply = armError(status, status === 429 ? 'TooManyRequests' : code, message);
      break;
    case 'entra':
      reply = entraError(
        status,
        status === 429 ? 'temporarily_unavailable' : 'server_error',
        50196,
        message,
        req,
      );
      break;
    default:
      reply = json(status, {
        message,
        documentation_url: 'https://docs.github.com/rest',
        request_id: randomUUID(),
      });
  }
  reply.headers = { ...reply.headers, ...headers };
  return reply;
}

/** The HTML error page a gateway in front of the service might send. */
export function htmlReply(status: number): Reply {
  return {
    status,
    headers: { 'Content-Type': 'text/html; charset=utf-8' },
    raw: `<!DOCTYPE html><html><head><title>${status}</title></head><body><h1>Service temporarily unavailable</h1></body></html>`,
  };
}

/** A 400 in the service's own error shape whose message quotes the request body word for word. */
export function echoReply(service: ServiceName, req: Incoming): Reply {
  const text = `The request body could not be processed: ${req.body}`;
  switch (service) {
    case 'graph':
      return graphError(req, 400, 'BadRequest', text);
    case 'arm':
      return armError(400, 'InvalidRequestContent', text);
    case 'entra':
      return entraError(400, 'invalid_request', 900144, text, req);
    default:
      return json(400, { message: text, documentation_url: 'https://docs.github.com/rest' });
  }
}
