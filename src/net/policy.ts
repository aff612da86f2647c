import { MAX_TIMER_MS, type Clock } from '../util/clock.ts';
import { cancelled, RunFailure } from './failures.ts';

/**
 * Real milliseconds one HTTP attempt may take, answer body included. Below .NET HttpClient's 100 s default
 * (https://learn.microsoft.com/dotnet/api/system.net.http.httpclient.timeout): Graph and ARM answer in seconds.
 */
export const REQUEST_TIMEOUT_MS = 60_000;
/**
 * The longest wait a server may ask for (Retry-After) before a retry: minutes, not hours. Graph has been seen asking
 * for 315 s and SharePoint for 300 s (https://learn.microsoft.com/answers/questions/648796), so 10 minutes.
 */
export const MAX_SERVER_WAIT_MS = 10 * 60_000;
/** Attempts of a request that is safe to repeat. */
export const MAX_ATTEMPTS = 6;

export interface RequestPolicyOptions {
  clock: Clock;
  /** The run's cancel signal (SIGINT/SIGTERM). */
  signal?: AbortSignal | undefined;
  timeoutMs?: number;
  maxServerWaitMs?: number;
  attempts?: number;
}

/** Why one attempt was stopped before it got an answer. */
export type StopReason = 'cancelled' | 'deadline' | 'timeout';

/** One HTTP attempt: pass `signal` to the request and call `done()` when it has its answer (or failed). */
export interface Attempt {
  signal: AbortSignal;
  /** Set once the attempt was stopped by the policy. */
  readonly stopped: StopReason | undefined;
  done(): void;
}

/**
 * The one request policy of a run, shared by Graph, ARM, Entra ID and GitHub OIDC calls: a timeout per attempt,
 * bounded attempts, server-requested waits capped and bounded by the run's deadline, and the cancel signal in every
 * request and every wait.
 */
export class RequestPolicy {
  readonly clock: Clock;
  readonly signal: AbortSignal | undefined;
  readonly timeoutMs: number;
  readonly maxServerWaitMs: number;
  readonly attempts: number;
  #deadline: number | undefined;
  /** The deadline's input, for messages. */
  #deadlineNote = '';

  constructor(options: RequestPolicyOptions) {
    this.clock = options.clock;
    this.signal = options.signal;
    this.timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
    this.maxServerWaitMs = options.maxServerWaitMs ?? MAX_SERVER_WAIT_MS;
    this.attempts = options.attempts ?? MAX_ATTEMPTS;
  }

  /** Clock time after which no request or wait may go on (undefined: none). */
  get deadline(): number | undefined {
    return this.#deadline;
  }

  /** Sets the run's deadline (clock ms); `note` says where it comes from, for messages. */
  setDeadline(at: number, note: string): void {
    this.#deadline = at;
    this.#deadlineNote = note;
  }

  /** Lets requests and waits go on until `at` at least, when the run has a deadline at all. */
  extendDeadline(at: number, note: string): void {
    if (this.#deadline !== undefined && at > this.#deadline) {
      this.#deadline = at;
      this.#deadlineNote = note;
    }
  }

  remainingMs(): number {
    return this.#deadline === undefined ? Infinity : this.#deadline - this.clock.now();
  }

  /** Throws when the run must not start another request or wait: cancelled, or past its deadline. */
  check(what: string): void {
    if (this.signal?.aborted) throw cancelled(`while ${what}`);
    if (this.remainingMs() <= 0) throw this.deadlineFailure(what);
  }

  deadlineFailure(what: string, cause?: unknown): RunFailure {
    return new RunFailure(
      'deadline',
      `Stopped ${what}: the run reached its deadline (${this.#deadlineNote || 'its time limit'}).`,
      'Re-run the job (an upload that already started is resumed, not repeated); if a service is slow, raise wait-timeout-minutes.',
      { cause },
    );
  }

  /**
   * How long to wait before the next attempt: the server's wait (capped), else exponential back-off from 2 s.
   * Undefined when that wait would end past the deadline: waiting would be pointless.
   */
  retryWaitMs(serverWaitMs: number | undefined, attempt: number): number | undefined {
    const wait = boundedWaitMs(serverWaitMs, attempt, this.maxServerWaitMs);
    return wait < this.remainingMs() ? wait : undefined;
  }

  /** Waits on the run's clock; a cancel ends the wait at once and throws. */
  async sleep(ms: number, what: string): Promise<void> {
    this.check(what);
    await this.clock.sleep(Math.min(ms, this.maxServerWaitMs, Math.max(0, this.remainingMs())), this.signal);
    if (this.signal?.aborted) throw cancelled(`while ${what}`);
  }

  /** A signal for one attempt that aborts on cancel, on the attempt timeout (real time) and at the deadline. */
  attempt(): Attempt {
    const controller = new AbortController();
    let stopped: StopReason | undefined;
    const stop = (reason: StopReason) => {
      if (controller.signal.aborted) return;
      stopped = reason;
      controller.abort(new Error(`request stopped: ${reason}`));
    };
    const onCancel = () => stop('cancelled');
    if (this.signal?.aborted) stop('cancelled');
    this.signal?.addEventListener('abort', onCancel, { once: true });
    const timer = setTimeout(() => stop('timeout'), Math.min(this.timeoutMs, MAX_TIMER_MS));
    const finished = new AbortController();
    const remaining = this.remainingMs();
    if (Number.isFinite(remaining)) {
      if (remaining <= 0) stop('deadline');
      else
        void this.clock.sleep(remaining, finished.signal).then(() => {
          if (!finished.signal.aborted) stop('deadline');
        });
    }
    return {
      signal: controller.signal,
      get stopped() {
        return stopped;
      },
      done: () => {
        clearTimeout(timer);
        this.signal?.removeEventListener('abort', onCancel);
        finished.abort();
      },
    };
  }
}

/** The server's wait capped at `capMs`, else jittered exponential back-off from 2 s up to a minute. */
export function boundedWaitMs(serverWaitMs: number | undefined, attempt: number, capMs: number): number {
  if (serverWaitMs !== undefined && Number.isFinite(serverWaitMs))
    return Math.min(Math.max(0, serverWaitMs), capMs);
  const base = Math.min(60_000, 2_000 * 2 ** Math.max(0, attempt - 1));
  return Math.min(base / 2 + Math.random() * (base / 2), capMs);
}

/**
 * Parses Retry-After: whole or decimal seconds, or an HTTP date. Anything else (negative, words, a number in
 * another notation) is undefined: the caller backs off instead. Huge values come back as they are; callers cap.
 */
export function parseRetryAfter(header: string | null | undefined, now: number): number | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  if (/^\d{1,15}(\.\d{1,6})?$/.test(value)) return Number(value) * 1000;
  if (!/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(value)) return undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
