import type { ManagedImageId } from '../azure/resourceId.ts';
import type { DeviceImage } from '../graph/deviceImages.ts';
import type { ErrorCodeHelp } from '../graph/errorCodes.ts';

/** What a registration came to: the device image Windows 365 holds and its verdict. */
export type RegistrationOutcome = 'ready' | 'warning' | 'failed' | 'timeout';

export interface Registration {
  deviceImage: DeviceImage;
  outcome: RegistrationOutcome;
  /** This run started the upload (false: an earlier run's image was found and resumed). */
  created: boolean;
  polls: number;
  waitedMs: number;
  /** Why a failed upload failed, for outcome 'failed'. */
  failure: (ErrorCodeHelp & { errorCode: string }) | undefined;
}

export type RegistrationErrorKind = 'image-limit' | 'conflict' | 'create-failed' | 'vanished' | 'cancelled';

/** Registration stopped before or instead of an upload; `message` says why and what to do. */
export class RegistrationError extends Error {
  override name = 'RegistrationError';
  readonly kind: RegistrationErrorKind;
  readonly images: DeviceImage[];
  constructor(kind: RegistrationErrorKind, message: string, images: DeviceImage[] = []) {
    super(message);
    this.kind = kind;
    this.images = images;
  }
}

/** The device image a run registers: its display name and version, made from this managed image. */
export interface Target {
  displayName: string;
  version: string;
  source: ManagedImageId;
}

/** What a dry run plans for: with build: validate there is no image yet, so no source. */
export type PlanTarget = Omit<Target, 'source'> & { source: ManagedImageId | undefined };
