import type { RolloutSection } from './rolloutSection.ts';
import type { BuildSection } from '../imageBuild/stage.ts';
import type { Outcome, RunError } from '../results/outcome.ts';
import type { Cloud } from '../config/clouds.ts';
import type { ManagedImageId } from '../azure/resourceId.ts';
import type { ImageDiff } from '../record/diff.ts';
import type { ImageRecord } from '../record/record.ts';
import type { BaseImage } from '../base/base.ts';
import type { Freshness } from '../base/freshness.ts';
import type { CheckResult } from '../results/checks.ts';
import type { Registration } from '../results/registration.ts';

/** The JSON report: everything the run decided, for people and for later workflow steps. */
export interface Report {
  schemaVersion: 1;
  tool: { name: 'w365-image'; version: string };
  outcome: Outcome;
  message: string;
  startedAt: string;
  finishedAt: string;
  timings: {
    buildSeconds: number | null;
    validateSeconds: number;
    registerSeconds: number | null;
    totalSeconds: number;
  };
  inputs: {
    imageId: string;
    build: string;
    displayName: string;
    version: string;
    versionDerived: boolean;
    register: boolean;
    auth: string;
    azureEnvironment: string;
    waitTimeoutMinutes: number;
  };
  build: BuildSection | null;
  /** The exact Marketplace base the build started from (build: true only). */
  base?: BaseImage | null;
  /** sha256 of the template folder, var files and packer-vars (build: true only). */
  templateDigest?: string | null;
  /** skip-if-unchanged: what was compared with the newest ready image's record. */
  freshness?: Freshness | null;
  /** The record of the previous image of this display name the run compared with. */
  previousRecord?: {
    artifactId: number;
    workflowRunId: number | null;
    version: string;
    deviceImageId: string | null;
    createdAt: string;
  } | null;
  /** Why no previous record was used (first run, expired, no token). */
  previousRecordNote?: string | null;
  /** This image's record (build: true runs that succeeded). */
  record?: ImageRecord | null;
  /** What changed since the previous record. */
  diff?: ImageDiff | null;
  /** A new image that differs from the previous record (or the first one). */
  changed?: boolean;
  /** The workflow artifact the record was saved as. */
  recordArtifact?: { name: string; saved: boolean; reason: string | null } | null;
  image: (ManagedImageId & { location: string | null; portalUrl: string }) | null;
  checks: CheckResult[];
  registration: {
    deviceImageId: string;
    displayName: string;
    version: string;
    status: string;
    errorCode: string | null;
    cause: string | null;
    fix: string | null;
    created: boolean;
    polls: number;
    waitedSeconds: number;
    graphRequests: number;
    operatingSystem: string | null;
    osBuildNumber: string | null;
    intuneUrl: string;
  } | null;
  rollout: RolloutSection | null;
  error: RunError | null;
}

/** What a failed step says: the whole error (an annotation keeps every line, `%0A`-escaped), not only its headline. */
export function failureText(report: Report): string {
  const error = report.error;
  // A build error's text repeats Packer's output, which the log already shows line by line.
  if (!error || error.kind.startsWith('build:')) return report.message;
  return error.message.startsWith(report.message) ? error.message : `${report.message}\n${error.message}`;
}

export function portalUrl(cloud: Cloud, tenantId: string | undefined, id: string): string {
  return `${cloud.portal}/#${tenantId ? `@${tenantId}` : ''}/resource${id}`;
}

export function intuneUrl(cloud: Cloud): string {
  // Custom images live under Devices > Windows 365 > Custom images; the blade has no documented deep link.
  return `${cloud.intune}/`;
}

export function registrationSection(
  registration: Registration,
  graphRequests: number,
  cloud: Cloud,
): NonNullable<Report['registration']> {
  const image = registration.deviceImage;
  return {
    deviceImageId: image.id,
    displayName: image.displayName,
    version: image.version,
    status: registration.outcome === 'timeout' ? image.status : registration.outcome,
    errorCode: registration.failure?.errorCode ?? null,
    cause: registration.failure?.cause ?? null,
    fix: registration.failure?.fix ?? null,
    created: registration.created,
    polls: registration.polls,
    waitedSeconds: Math.round(registration.waitedMs / 1000),
    graphRequests,
    operatingSystem: image.operatingSystem ?? null,
    osBuildNumber: image.osBuildNumber ?? null,
    intuneUrl: intuneUrl(cloud),
  };
}
