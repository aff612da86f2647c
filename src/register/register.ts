import { GraphError, GraphTransportError, retryDelayMs, type GraphClient } from '../graph/client.ts';
import {
  findDeviceImages,
  findDeviceImagesNamed,
  getDeviceImage,
  postDeviceImage,
  sameSource,
  type DeviceImage,
  type NewDeviceImage,
} from '../graph/deviceImages.ts';
import { explainErrorCode } from '../graph/errorCodes.ts';
import { isRunFailure } from '../net/failures.ts';
import type { Services } from '../results/services.ts';
import { formatDuration } from '../util/duration.ts';
import { RegistrationError, type Registration, type RegistrationOutcome } from '../results/registration.ts';

export interface RegisterInput extends NewDeviceImage {
  timeoutMs: number;
  /** The exact inputs (or command line) that resume this registration, for every "re-run" message. */
  resumeHint?: string | undefined;
}

/** Graph, the clock, the log, and the cancel signal: it stops waiting (the upload itself goes on in Windows 365). */
export type RegisterServices = Pick<Services, 'graph' | 'clock' | 'log' | 'signal'>;

/** How to wait for a verdict: for an image this run created or not, how long, and how to resume afterwards. */
export interface VerdictWait {
  created: boolean;
  timeoutMs: number;
  resumeHint?: string | undefined;
}

const CREATE_ATTEMPTS = 5;
/**
 * After an ambiguous POST answer, how long to keep looking for the upload before sending the POST again. Graph does
 * not document whether a new image is listed at once: this covers a list that lags by a few minutes.
 */
const LIST_LAG_MS = 3 * 60_000;
const LIST_LOOK_INTERVAL_MS = 15_000;
const USABLE_OR_RUNNING = ['pending', 'ready', 'warning'];

/**
 * One source, one upload: the device image under this display name that an earlier run already made from the same
 * managed image and that is pending, ready or warning, whatever its version (the usable one first, then the newest).
 */
export async function findUploadOfSource(
  graph: GraphClient,
  displayName: string,
  sourceImageResourceId: string,
): Promise<DeviceImage | undefined> {
  const named = await findDeviceImagesNamed(graph, displayName);
  const rank = (i: DeviceImage) => (i.status === 'pending' ? 1 : 0);
  return named
    .filter(
      (i) =>
        i.displayName === displayName &&
        sameSource(i.sourceImageResourceId, sourceImageResourceId) &&
        USABLE_OR_RUNNING.includes(i.status),
    )
    .sort(
      (a, b) =>
        rank(a) - rank(b) || (b.lastModifiedDateTime ?? '').localeCompare(a.lastModifiedDateTime ?? ''),
    )[0];
}

/** " To resume: ..." or nothing. */
function resume(resumeHint: string | undefined): string {
  return resumeHint ? ` ${resumeHint}` : '';
}

/** A progress line at least this often while the status stays the same. */
const PROGRESS_LOG_MS = 10 * 60_000;

/**
 * Registers the image once: resumes a device image with the same display name and version, otherwise starts
 * exactly one upload (the caller has made room under the 20-image limit), then waits for Windows 365's verdict.
 */
export async function registerImage(input: RegisterInput, deps: RegisterServices): Promise<Registration> {
  const { log } = deps;
  const existing = await findOwn(input, deps);
  let image: DeviceImage;
  let created = false;
  if (existing) {
    log.info(
      `Found device image ${existing.id} '${existing.displayName}' ${existing.version} (${existing.status}) from an earlier run: resuming it instead of uploading again.`,
    );
    image = existing;
  } else {
    image = await createExactlyOnce(input, deps);
    created = true;
    log.info(
      `Upload started: device image ${image.id} '${image.displayName}' ${image.version} is ${image.status}.`,
    );
  }
  return waitForVerdict(image, { created, timeoutMs: input.timeoutMs, resumeHint: input.resumeHint }, deps);
}

/** The device image this display name + version already names, if any. Refuses one made from another source. */
async function findOwn(input: RegisterInput, deps: RegisterServices): Promise<DeviceImage | undefined> {
  const matches = await findDeviceImages(deps.graph, input.displayName, input.version);
  // Graph's eq on strings may ignore case; the pair must match exactly.
  const exact = matches.filter((m) => m.displayName === input.displayName && m.version === input.version);
  if (exact.length === 0) return undefined;
  const own = exact.filter((m) => sameSource(m.sourceImageResourceId, input.sourceImageResourceId));
  if (own.length === 0) {
    throw new RegistrationError(
      'conflict',
      `Device image '${input.displayName}' version ${input.version} already exists (${exact.map((m) => m.id).join(', ')}) but was made from ${exact[0]?.sourceImageResourceId}, not ${input.sourceImageResourceId}. Choose another version (or display-name); nothing was uploaded.`,
      exact,
    );
  }
  if (own.length > 1) {
    deps.log.warning(
      `${own.length} device images share display name '${input.displayName}' and version ${input.version}: ${own.map((m) => `${m.id} (${m.status})`).join(', ')}. Using the newest; delete the others in Intune.`,
    );
  }
  return own.sort((a, b) => (b.lastModifiedDateTime ?? '').localeCompare(a.lastModifiedDateTime ?? ''))[0];
}

/**
 * POST once; when the answer is lost or ambiguous (5xx, dropped connection, 409), look the image up before trying
 * again, so a retry never starts a second upload.
 */
async function createExactlyOnce(input: RegisterInput, deps: RegisterServices): Promise<DeviceImage> {
  const body: NewDeviceImage = {
    displayName: input.displayName,
    version: input.version,
    sourceImageResourceId: input.sourceImageResourceId,
  };
  for (let attempt = 1; ; attempt++) {
    try {
      return await postDeviceImage(deps.graph, body);
    } catch (error) {
      // Cancelled, past the deadline or refused sign-in: stop; a re-run looks for an upload this POST started.
      if (isRunFailure(error)) throw error;
      const refused = error instanceof GraphError && error.status === 429;
      const ambiguous =
        error instanceof GraphTransportError ||
        (error instanceof GraphError && (error.status >= 500 || error.status === 409));
      if (!refused && !ambiguous) {
        throw new RegistrationError(
          'create-failed',
          `Windows 365 refused the upload: ${(error as Error).message}`,
        );
      }
      const giveUp = () =>
        new RegistrationError(
          'create-failed',
          `Could not start the upload after ${attempt} attempts: ${(error as Error).message}. Re-run: it resumes any upload that did start.${resume(input.resumeHint)}`,
        );
      // A refused request (429) started nothing: no need to look before giving up.
      if (!ambiguous && attempt >= CREATE_ATTEMPTS) throw giveUp();
      const wait = retryDelayMs(error, attempt);
      deps.log.warning(
        ambiguous
          ? `${(error as Error).message}; the upload may have started: looking for it for up to ${Math.round(LIST_LAG_MS / 60_000)} minutes before anything else.`
          : `${(error as Error).message}; trying again in ${Math.round(wait / 1000)} s.`,
      );
      await deps.graph.pause(wait, 'before looking for the upload again');
      const started = ambiguous ? await lookForUpload(input, deps) : undefined;
      if (started) {
        deps.log.info(
          `The earlier request did start the upload (device image ${started.id}); not sending it again.`,
        );
        return started;
      }
      if (deps.signal?.aborted) {
        throw new RegistrationError(
          'cancelled',
          `Cancelled before the upload could be confirmed; nothing more was sent. Re-run: it resumes any upload that did start.${resume(input.resumeHint)}`,
        );
      }
      if (error instanceof GraphError && error.status === 409) {
        throw new RegistrationError('create-failed', `Windows 365 reported a conflict: ${error.message}`);
      }
      if (attempt >= CREATE_ATTEMPTS) throw giveUp();
    }
  }
}

/** Looks for the upload an ambiguous POST may have started, for up to LIST_LAG_MS (lists may lag behind). */
async function lookForUpload(input: RegisterInput, deps: RegisterServices): Promise<DeviceImage | undefined> {
  const deadline = deps.clock.now() + LIST_LAG_MS;
  for (;;) {
    const found = await findOwn(input, deps);
    const now = deps.clock.now();
    if (found || now >= deadline || deps.signal?.aborted) return found;
    deps.log.debug(`Upload of '${input.displayName}' ${input.version} not listed yet; looking again.`);
    await deps.graph.pause(
      Math.min(LIST_LOOK_INTERVAL_MS, deadline - now),
      'before looking for the upload again',
    );
  }
}

/** Poll intervals: often at first (quick failures), then about once a minute for uploads that take hours. */
export function pollDelayMs(elapsedMs: number): number {
  if (elapsedMs < 2 * 60_000) return 20_000;
  if (elapsedMs < 10 * 60_000) return 40_000;
  return 55_000;
}

/** Waits for Windows 365's verdict on one known device image; never creates one. */
export async function waitForVerdict(
  first: DeviceImage,
  wait: VerdictWait,
  deps: RegisterServices,
): Promise<Registration> {
  const { clock, log } = deps;
  const { created, timeoutMs } = wait;
  const start = clock.now();
  const deadline = start + timeoutMs;
  // Requests of this wait may run until its own deadline, also when it started later than the run's.
  deps.graph.policy.extendDeadline(deadline, `wait-timeout-minutes: ${Math.round(timeoutMs / 60_000)}`);
  let image = first;
  let polls = 0;
  let lastStatus = '';
  let lastProgressLog = start;
  for (;;) {
    const elapsed = clock.now() - start;
    if (image.status !== lastStatus || clock.now() - lastProgressLog >= PROGRESS_LOG_MS) {
      lastProgressLog = clock.now();
      log.info(
        `Device image ${image.id}: ${image.status} after ${formatDuration(elapsed)} (${polls} polls).`,
      );
      if (image.status !== lastStatus && !['pending', 'ready', 'warning', 'failed'].includes(image.status)) {
        log.warning(`Unknown status '${image.status}'; waiting for ready or failed.`);
      }
      lastStatus = image.status;
    } else {
      log.debug(
        `Device image ${image.id}: still ${image.status} after ${formatDuration(elapsed)} (poll ${polls}).`,
      );
    }
    const done = verdict(image);
    if (done) {
      return {
        deviceImage: image,
        outcome: done,
        created,
        polls,
        waitedMs: elapsed,
        failure: failureOf(image, done),
      };
    }
    const now = clock.now();
    if (now >= deadline) {
      return {
        deviceImage: image,
        outcome: 'timeout',
        created,
        polls,
        waitedMs: now - start,
        failure: undefined,
      };
    }
    await clock.sleep(Math.min(pollDelayMs(now - start), deadline - now), deps.signal);
    if (deps.signal?.aborted) {
      throw new RegistrationError(
        'cancelled',
        `Cancelled while waiting for device image ${image.id} (${image.status}). The upload goes on in Windows 365: re-run to resume waiting (no second upload).${resume(wait.resumeHint)}`,
      );
    }
    try {
      image = await getDeviceImage(deps.graph, image.id);
    } catch (error) {
      // The last poll could not finish before the deadline: the verdict is still unknown, as on a timeout.
      if (isRunFailure(error, 'deadline')) {
        return {
          deviceImage: image,
          outcome: 'timeout',
          created,
          polls,
          waitedMs: clock.now() - start,
          failure: undefined,
        };
      }
      if (error instanceof GraphError && error.status === 404) {
        throw new RegistrationError(
          'vanished',
          `Device image ${image.id} was deleted while this job waited for it (by someone else or another run). Re-run the job to upload again.`,
        );
      }
      throw error;
    }
    polls += 1;
  }
}

function verdict(image: DeviceImage): Exclude<RegistrationOutcome, 'timeout'> | undefined {
  if (image.status === 'ready') return 'ready';
  // Some tenants report 'warning': usable, with a note worth reading.
  if (image.status === 'warning') return 'warning';
  if (image.status === 'failed') return 'failed';
  return undefined;
}

function failureOf(image: DeviceImage, outcome: RegistrationOutcome): Registration['failure'] {
  if (outcome !== 'failed') return undefined;
  const errorCode = image.errorCode ?? 'none';
  return { errorCode, ...explainErrorCode(errorCode) };
}
