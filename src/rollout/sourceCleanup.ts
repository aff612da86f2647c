import type { ManagedImageClient } from '../azure/managedImage.ts';
import type { ManagedImageId } from '../azure/resourceId.ts';
import { findDeviceImageById, listDeviceImages, sameSource } from '../graph/deviceImages.ts';
import { explainErrorCode } from '../graph/errorCodes.ts';
import { isRunFailure } from '../net/failures.ts';
import { messageOf } from '../util/errors.ts';
import type { Services } from '../results/services.ts';

export interface SourceCleanupInput {
  /** The device image made from the source. */
  deviceImageId: string;
  source: ManagedImageId;
  /** Milliseconds between polls of ARM's delete operation (tests set it small). */
  pollIntervalMs?: number;
}

/** Graph and the log, and the managed image client the caller built. */
export type SourceCleanupServices = Pick<Services, 'graph' | 'log'> & { images: ManagedImageClient };

export type SourceKeptReason =
  /** The device image is not ready (pending, failed, warning, unknown) or is gone. */
  | 'not-ready'
  /** The device image was made from another managed image. */
  | 'other-source'
  /** Another device image still needs this source (an upload in progress, or a failed one that can be retried). */
  | 'needed-by-other-upload';

export type SourceCleanupResult =
  | { action: 'deleted'; imageId: string }
  | { action: 'already-gone'; imageId: string }
  | { action: 'kept'; imageId: string; reason: SourceKeptReason; detail: string }
  | {
      action: 'failed';
      imageId: string;
      status: number | undefined;
      code: string | undefined;
      detail: string;
    };

/**
 * Deletes the source managed image once Windows 365 holds its own copy. Re-reads the device image right before and
 * deletes only when it is `ready` and was made from this source, and no other upload still needs the source. Waits
 * for ARM's long-running delete. A source already gone is fine. Never throws for a failed delete: the image is ready,
 * so this is housekeeping; the result says what to do.
 */
export async function cleanUpSourceImage(
  input: SourceCleanupInput,
  deps: SourceCleanupServices,
): Promise<SourceCleanupResult> {
  const { graph, images, log } = deps;
  const imageId = input.source.id;
  const kept = (reason: SourceKeptReason, detail: string): SourceCleanupResult => {
    log.info(`Keeping the source image ${imageId}: ${detail}`);
    return { action: 'kept', imageId, reason, detail };
  };

  const device = await findDeviceImageById(graph, input.deviceImageId);
  if (!device) return kept('not-ready', `device image ${input.deviceImageId} does not exist.`);
  // 'warning' is usable but undocumented: keep the source rather than guess that Windows 365 is done with it.
  if (device.status !== 'ready') {
    return kept(
      'not-ready',
      `device image ${device.id} is ${device.status}; the source is deleted only once it is ready.`,
    );
  }
  if (!sameSource(device.sourceImageResourceId, imageId)) {
    return kept(
      'other-source',
      `device image ${device.id} was made from ${device.sourceImageResourceId}, not from this image.`,
    );
  }
  const others = (await listDeviceImages(graph)).filter(
    (i) =>
      i.id !== device.id &&
      sameSource(i.sourceImageResourceId, imageId) &&
      // Anything not settled may still need the source: pending, retryable failures, and statuses Graph adds later.
      !(
        i.status === 'ready' ||
        i.status === 'warning' ||
        (i.status === 'failed' && !explainErrorCode(i.errorCode).transient)
      ),
  );
  if (others.length > 0) {
    return kept(
      'needed-by-other-upload',
      `device image ${others.map((i) => `'${i.displayName}' ${i.version} (${i.id}, ${i.status})`).join(', ')} was also made from it and may still need it.`,
    );
  }

  // Only a 404 matters here; any other read failure (but a cancel) leaves the answer to the delete itself.
  const read = await images.read(input.source).catch((error: unknown) => {
    if (isRunFailure(error, 'cancelled')) throw error;
    return { ok: false as const, status: undefined, code: undefined, message: messageOf(error) };
  });
  if (!read.ok && read.status === 404) {
    log.info(`The source image ${imageId} was already deleted.`);
    return { action: 'already-gone', imageId };
  }
  log.info(`Deleting the source image ${imageId}: device image ${device.id} is ready.`);
  const deletion = await images.delete(
    input.source,
    input.pollIntervalMs === undefined ? {} : { pollIntervalMs: input.pollIntervalMs },
  );
  if (deletion.ok) {
    if (deletion.notFound) return { action: 'already-gone', imageId };
    log.info(`Deleted the source image ${imageId}.`);
    return { action: 'deleted', imageId };
  }
  const detail = `Could not delete the source image ${imageId}: ${deletion.message}. The device image is ready and does not need it: delete it yourself, or give the identity a role with Microsoft.Compute/images/delete on its resource group and re-run.`;
  log.warning(detail);
  return { action: 'failed', imageId, status: deletion.status, code: deletion.code, detail };
}
