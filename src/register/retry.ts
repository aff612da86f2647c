import { GraphError, GraphTransportError, retryDelayMs } from '../graph/client.ts';
import { findDeviceImageById, retryDeviceImageUpload, type DeviceImage } from '../graph/deviceImages.ts';
import { explainErrorCode } from '../graph/errorCodes.ts';
import type { Registration, RegistrationOutcome } from '../results/registration.ts';
import { messageOf } from '../util/errors.ts';
import { isRunFailure } from '../net/failures.ts';
import { waitForVerdict, type RegisterServices } from './register.ts';

export interface RetryOptions {
  /** upload-retries: how many times to call retryUpload (0 = never). */
  retries: number;
  /** How long each retried upload may take before giving up waiting (the upload itself goes on). */
  timeoutMs: number;
  /** How long to wait for Graph to show a retried upload as started before giving up (default 2 minutes). */
  settleMs?: number;
  /** The exact inputs (or command line) that resume, appended to "re-run" advice. */
  resumeHint?: string | undefined;
}

export interface RetryAttempt {
  attempt: number;
  /** The errorCode that was retried. */
  retriedErrorCode: string;
  outcome: RegistrationOutcome;
  errorCode: string | undefined;
  waitedMs: number;
}

export type RetryStopReason =
  /** The last upload ended ready or warning. */
  | 'succeeded'
  /** The image was not failed (nothing to retry). */
  | 'not-failed'
  /** The error is deterministic: retrying the same image cannot help. */
  | 'not-transient'
  /** upload-retries is 0. */
  | 'no-retries'
  /** Every retry failed. */
  | 'retries-exhausted'
  /** A retried upload was still pending when timeoutMs ran out. */
  | 'timeout'
  /** Windows 365 did not take the retry (refused, or the image did not restart). */
  | 'not-accepted'
  /** The image was deleted meanwhile. */
  | 'vanished';

export interface RetryResult {
  /** The image as last seen. */
  deviceImage: DeviceImage;
  outcome: RegistrationOutcome;
  attempts: RetryAttempt[];
  /** The last waiter answer; undefined when nothing was retried. */
  registration: Registration | undefined;
  stopped: RetryStopReason;
  detail: string;
}

const SEND_ATTEMPTS = 4;

/**
 * Retries a failed upload with Graph beta retryUpload (never the deprecated reupload), only for transient errors
 * (ERROR_CODES[code].transient, i.e. internalServerError), up to `retries` times, waiting for each verdict on the
 * retried image itself (a retry never starts a second upload). A deterministic error (sourceImageNotGeneralized and
 * the like) is never retried.
 */
export async function retryFailedUpload(
  image: DeviceImage,
  options: RetryOptions,
  deps: RegisterServices,
): Promise<RetryResult> {
  const { log } = deps;
  const attempts: RetryAttempt[] = [];
  let current = image;
  let registration: Registration | undefined;
  const done = (stopped: RetryStopReason, detail: string): RetryResult => ({
    deviceImage: current,
    outcome: registration?.outcome ?? outcomeOf(current),
    attempts,
    registration,
    stopped,
    detail,
  });

  for (let attempt = 1; ; attempt++) {
    if (current.status !== 'failed') {
      return attempts.length > 0
        ? done('succeeded', `The retried upload of ${current.id} is ${current.status}.`)
        : done('not-failed', `Device image ${current.id} is ${current.status}: nothing to retry.`);
    }
    const code = current.errorCode ?? 'none';
    const help = explainErrorCode(code);
    if (!help.transient) {
      return done(
        'not-transient',
        `Device image ${current.id} failed with ${code}, which a retry cannot fix: ${help.fix}`,
      );
    }
    if (options.retries <= 0) {
      return done('no-retries', `Device image ${current.id} failed with ${code}; upload-retries is 0.`);
    }
    if (attempt > options.retries) {
      return done(
        'retries-exhausted',
        `Device image ${current.id} failed with ${code} after ${attempts.length} retr${attempts.length === 1 ? 'y' : 'ies'}. ${help.fix}`,
      );
    }
    log.info(
      `Device image ${current.id} failed with ${code} (${help.cause}); retrying the upload (${attempt} of ${options.retries}).`,
    );
    const sent = await sendRetry(current, deps);
    if (sent.kind === 'vanished') {
      return done('vanished', `Device image ${current.id} was deleted before it could be retried.`);
    }
    if (sent.kind === 'refused') return done('not-accepted', sent.detail);
    const started = await untilRestarted(current, sent.image, options.settleMs ?? 120_000, deps);
    if (!started) {
      return done(
        'vanished',
        `Device image ${current.id} was deleted after retryUpload; re-run the job to upload again.`,
      );
    }
    if (started.status === 'failed' && started.lastModifiedDateTime === current.lastModifiedDateTime) {
      current = started;
      return done(
        'not-accepted',
        `Graph accepted retryUpload for ${current.id}, but the image still shows the old failure. Retry it in Intune, or re-run the job.`,
      );
    }
    const began = deps.clock.now();
    registration = await waitForVerdict(
      started,
      { created: false, timeoutMs: options.timeoutMs, resumeHint: options.resumeHint },
      deps,
    );
    current = registration.deviceImage;
    attempts.push({
      attempt,
      retriedErrorCode: code,
      outcome: registration.outcome,
      errorCode: registration.failure?.errorCode,
      waitedMs: deps.clock.now() - began,
    });
    if (registration.outcome === 'timeout') {
      return done(
        'timeout',
        `The retried upload of ${current.id} is still ${current.status}; re-run to resume waiting (no second upload).${options.resumeHint ? ` ${options.resumeHint}` : ''}`,
      );
    }
  }
}

type SendResult =
  | { kind: 'sent'; image: DeviceImage | undefined }
  | { kind: 'vanished' }
  | { kind: 'refused'; detail: string };

/**
 * One retryUpload, made safe to repeat: when the answer is lost or a server error, the image is re-read and the
 * POST is sent again only while it still shows the same failure.
 */
async function sendRetry(image: DeviceImage, deps: RegisterServices): Promise<SendResult> {
  for (let n = 1; ; n++) {
    try {
      await retryDeviceImageUpload(deps.graph, image.id);
      return { kind: 'sent', image: undefined };
    } catch (error) {
      if (isRunFailure(error)) throw error;
      if (error instanceof GraphError && error.status === 404) return { kind: 'vanished' };
      const ambiguous =
        error instanceof GraphTransportError ||
        (error instanceof GraphError && (error.status >= 500 || error.status === 429));
      const now = await findDeviceImageById(deps.graph, image.id);
      if (!now) return { kind: 'vanished' };
      if (restarted(image, now)) return { kind: 'sent', image: now };
      if (!ambiguous || n >= SEND_ATTEMPTS) {
        return {
          kind: 'refused',
          detail: `Windows 365 did not retry the upload of ${image.id}: ${messageOf(error)}. Retry it in Intune (Custom images > Retry upload), or re-run the job.`,
        };
      }
      const delay = retryDelayMs(error, n);
      deps.log.warning(`${messageOf(error)}; trying retryUpload again in ${Math.round(delay / 1000)} s.`);
      await deps.graph.pause(delay, 'before sending retryUpload again');
    }
  }
}

/** Graph shows that a new upload began (or already ended) after the failure we saw. */
function restarted(before: DeviceImage, now: DeviceImage): boolean {
  return now.status !== 'failed' || now.lastModifiedDateTime !== before.lastModifiedDateTime;
}

/** Re-reads the image until it shows the retry (Graph may lag behind the 204), for at most settleMs. */
async function untilRestarted(
  before: DeviceImage,
  known: DeviceImage | undefined,
  settleMs: number,
  deps: RegisterServices,
): Promise<DeviceImage | undefined> {
  const deadline = deps.clock.now() + settleMs;
  let now = known ?? (await findDeviceImageById(deps.graph, before.id));
  while (now && !restarted(before, now) && deps.clock.now() < deadline) {
    await deps.graph.pause(
      Math.min(10_000, Math.max(0, deadline - deps.clock.now())),
      'waiting for the retried upload to show',
    );
    now = await findDeviceImageById(deps.graph, before.id);
  }
  return now;
}

function outcomeOf(image: DeviceImage): RegistrationOutcome {
  if (image.status === 'ready' || image.status === 'warning' || image.status === 'failed')
    return image.status;
  return 'timeout';
}
