/**
 * Failures that are facts about the run, not about the image: the caller may not sign in, the job was cancelled,
 * the run's deadline came, or a service kept failing to answer. They end the run with `status: error` (or
 * `cancelled`) and a fix for that cause, never with a failed image check.
 */
/**
 * auth: Entra ID, GitHub's OIDC endpoint, the Azure CLI or ARM refused who we are or what we may do.
 * cancelled: the job was cancelled (SIGINT or SIGTERM).
 * deadline: a request or a server-requested wait would have run past the run's deadline (wait-timeout-minutes).
 * unreachable: a service did not answer usably after bounded retries (timeouts, dropped connections, 5xx).
 * paging: Graph kept pointing the paging at pages already read, or past the page limit.
 */
export type RunFailureKind = 'auth' | 'cancelled' | 'deadline' | 'unreachable' | 'paging';

export class RunFailure extends Error {
  override name = 'RunFailure';
  readonly kind: RunFailureKind;
  /** What to do about it, for the report and the log. */
  readonly fix: string;
  constructor(kind: RunFailureKind, message: string, fix: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
    this.fix = fix;
  }
}

export const CANCEL_FIX =
  'Re-run the job. An upload that already started goes on in Windows 365; a re-run with the same display-name and version resumes it.';

export function cancelled(what: string): RunFailure {
  return new RunFailure('cancelled', `Cancelled ${what}.`, CANCEL_FIX);
}

export function isRunFailure(error: unknown, kind?: RunFailureKind): error is RunFailure {
  return error instanceof RunFailure && (kind === undefined || error.kind === kind);
}
