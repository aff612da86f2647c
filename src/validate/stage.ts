import { versionFromImage } from '../azure/imageVersion.ts';
import type { Config } from '../config/inputs.ts';
import { findDeviceImagesNamed, listSourceImages, sameSource } from '../graph/deviceImages.ts';
import { isRunFailure, type RunFailure } from '../net/failures.ts';
import { failed, logChecks, type CheckResult } from '../results/checks.ts';
import type { Outcome } from '../results/outcome.ts';
import type { Target } from '../results/registration.ts';
import type { Services } from '../results/services.ts';
import { countOf } from '../util/plural.ts';
import { checkWindows365CanSee, validateImage, windows365ViewSkipped, type Validation } from './validate.ts';

/** After a build, how long to wait for a freshly captured image to show up in Windows 365's view. */
const NEW_IMAGE_SETTLE_MS = 3 * 60_000;

export type ValidateServices = Pick<Services, 'log' | 'clock' | 'signal' | 'graph' | 'images'>;

/**
 * The managed image checks as ARM shows them, then (when registering) whether Windows 365 itself can see the image.
 * Logs every row. A sign-in failure, a cancel or the deadline throws the RunFailure.
 */
export async function validateStage(
  config: Config,
  imageId: string,
  services: ValidateServices,
): Promise<Validation> {
  const { log } = services;
  return log.group('Validate the managed image', async () => {
    const result = await validateImage({
      imageId,
      subscriptionId: config.build === 'build' ? undefined : config.subscriptionId,
      read: (id) => services.images().read(id),
    });
    const parsed = result.imageId;
    const view =
      result.image && parsed && config.register
        ? await checkWindows365CanSee({
            image: parsed,
            listSourceImages: () => listSourceImages(services.graph),
            clock: services.clock,
            settleMs: config.build === 'build' ? NEW_IMAGE_SETTLE_MS : 0,
            signal: services.signal,
          })
        : result.image && parsed
          ? windows365ViewSkipped('register is false (asking Windows 365 needs Graph access).')
          : undefined;
    const checked = view ? { ...result, checks: [...result.checks, view] } : result;
    logChecks(log, checked.checks);
    return checked;
  });
}

/** The device image the validated managed image becomes: its display name, its version and the run's checks. */
export interface Named {
  displayName: string;
  version: string;
  /** Every check of the run, with the image checks a deleted source no longer needs turned into skips. */
  checks: CheckResult[];
}

/**
 * Names the device image: display-name (or the managed image's name) and version (given, taken from an earlier
 * registration of a deleted source, or derived from the image). Returns the RunFailure that stopped a look-up.
 */
export async function nameStage(
  config: Config,
  validation: Validation,
  checks: readonly CheckResult[],
  services: Pick<Services, 'log' | 'graph'>,
): Promise<Named | RunFailure> {
  const { log } = services;
  const image = validation.imageId;
  const displayName = displayNameOf(config, validation);
  let version = config.version ?? '';
  let named = [...checks];
  // A re-run after a crash during the source clean-up: the managed image is gone, but Windows 365 already holds
  // its ready copy, so the rest of the rollout can still finish.
  if (validation.sourceGone && image && config.register && onlySourceChecksFailed(checks)) {
    const sourceId = image.id;
    const earlier = await findDeviceImagesNamed(services.graph, displayName).catch((error: unknown) => {
      if (isRunFailure(error)) return error;
      log.debug(`Could not look for an earlier registration: ${(error as Error).message}`);
      return [];
    });
    if (isRunFailure(earlier)) return earlier;
    const registered = earlier.find(
      (d) =>
        d.displayName === displayName &&
        (config.version === undefined || d.version === config.version) &&
        sameSource(d.sourceImageResourceId, sourceId) &&
        (d.status === 'ready' || d.status === 'warning'),
    );
    if (registered) {
      version = registered.version;
      log.info(
        `The managed image is gone, but device image ${registered.id} made from it is already ${registered.status}: continuing the rollout.`,
      );
      named = named.map((c) =>
        c.id.startsWith('image.') && c.status !== 'pass'
          ? {
              ...c,
              status: 'skip',
              detail: `Not needed: the image was deleted after Windows 365 accepted it as device image ${registered.id}.`,
              fix: null,
            }
          : c,
      );
    }
  }
  if (config.version === undefined && !version && image && validation.image) {
    const derived = versionFromImage(image.id, validation.image);
    version = derived.version;
    log.info(`Version ${version}, derived from ${derived.from}: every run for this image computes the same.`);
  }
  return { displayName, version, checks: named };
}

/** Where the run stops after validation (a failed check, or register: false), or else the device image to register. */
export function validationVerdict(
  config: Config,
  validation: Validation,
  named: Named,
): { outcome: Outcome; message: string } | Target {
  const { checks } = named;
  const failures = failed(checks).concat(checks.filter((c) => c.status === 'unverified'));
  const image = validation.imageId;
  if (!image || failures.length > 0) {
    return {
      outcome: 'invalid',
      message: `${countOf(failures.length, 'check')} failed: ${failures.map((c) => c.id).join(', ')}. Nothing was uploaded.`,
    };
  }
  if (!config.register) {
    return {
      outcome: 'validated',
      message: 'Every check passed; register is false, so nothing was uploaded.',
    };
  }
  return { displayName: named.displayName, version: named.version, source: image };
}

/** display-name, or else the managed image's own name. */
export function displayNameOf(config: Config, validation: Validation): string {
  return config.displayName ?? validation.imageId?.name ?? '';
}

/** Only the checks that a deleted source image fails (it cannot be read, or is being deleted). */
function onlySourceChecksFailed(checks: readonly CheckResult[]): boolean {
  return failed(checks).every((c) => c.id === 'image.readable' || c.id === 'image.provisioning-state');
}
