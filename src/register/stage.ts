import type { Config } from '../config/inputs.ts';
import type { Registration, Target } from '../results/registration.ts';
import type { Services } from '../results/services.ts';
import { findUploadOfSource, registerImage, type RegisterServices } from './register.ts';
import { retryFailedUpload, type RetryResult } from './retry.ts';

/**
 * One source, one upload: an earlier run's upload of this very image is adopted, whatever its version. Returns the
 * target with the version the device image will have.
 */
export async function adoptEarlierUpload(
  target: Target,
  services: Pick<Services, 'graph' | 'log'>,
): Promise<Target> {
  const earlier = await findUploadOfSource(services.graph, target.displayName, target.source.id);
  if (!earlier) return target;
  services.log.info(
    `Device image ${earlier.id} '${earlier.displayName}' version ${earlier.version} (${earlier.status}) was already made from this managed image by an earlier run: adopting it${earlier.version === target.version ? '' : ` with its version ${earlier.version} (this run would have used ${target.version})`} instead of uploading the same image again.`,
  );
  return { ...target, version: earlier.version };
}

/** Uploads the image (or resumes this version's earlier upload) and waits for Windows 365's verdict. */
export function registerStage(
  config: Config,
  target: Target,
  resumeHint: string,
  services: RegisterServices,
): Promise<Registration> {
  return services.log.group('Register with Windows 365', () =>
    registerImage(
      {
        displayName: target.displayName,
        version: target.version,
        sourceImageResourceId: target.source.id,
        timeoutMs: config.waitTimeoutMinutes * 60_000,
        resumeHint,
      },
      services,
    ),
  );
}

/** The registration after upload-retries: a transient failure retried on the same device image, with its own time. */
export async function retryStage(
  config: Config,
  first: Registration,
  resumeHint: string,
  services: RegisterServices,
): Promise<{ registration: Registration; retry: RetryResult | undefined }> {
  if (first.outcome !== 'failed' || config.uploadRetries <= 0)
    return { registration: first, retry: undefined };
  services.graph.policy.extendDeadline(
    services.clock.now() + config.waitTimeoutMinutes * 60_000,
    `wait-timeout-minutes: ${config.waitTimeoutMinutes}`,
  );
  const retry = await services.log.group('Retry the upload', () =>
    retryFailedUpload(
      first.deviceImage,
      { retries: config.uploadRetries, timeoutMs: config.waitTimeoutMinutes * 60_000, resumeHint },
      services,
    ),
  );
  services.log.info(retry.detail);
  return {
    registration: retry.registration ? { ...retry.registration, created: first.created } : first,
    retry,
  };
}
