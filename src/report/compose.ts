import { explainAuthError } from '../azure/credential.ts';
import type { ManagedImageId } from '../azure/resourceId.ts';
import type { BaseImage } from '../base/base.ts';
import type { Cloud } from '../config/clouds.ts';
import type { Config } from '../config/inputs.ts';
import type { BuildSection } from '../imageBuild/stage.ts';
import { isRunFailure, type RunFailure } from '../net/failures.ts';
import type { CheckResult } from '../results/checks.ts';
import type { Outcome } from '../results/outcome.ts';
import { RegistrationError, type Registration } from '../results/registration.ts';
import { RolloutError } from '../rollout/errors.ts';
import type { RolloutSection } from './rolloutSection.ts';
import type { Clock } from '../util/clock.ts';
import type { Log } from '../util/log.ts';
import { scrubDeep } from '../util/untrusted.ts';
import { TOOL_VERSION } from '../version.ts';
import { emptyHistory, withHistory, type History } from './history.ts';
import { portalUrl, registrationSection, type Report } from './report.ts';

/** What the report needs to know of the run itself, beyond what its stages found. */
export interface ReportContext {
  readonly config: Config;
  readonly cloud: Cloud;
  readonly clock: Clock;
  readonly log: Log;
  /** clock.now() when the run started. */
  readonly startedAt: number;
  /** This workflow run's page, for the image record. */
  readonly runUrl: string | undefined;
}

/** What the stages found so far: the pipeline makes a new one from each stage's result. */
export interface RunSoFar {
  readonly imageId: string;
  readonly displayName: string;
  readonly version: string;
  readonly build: BuildSection | null;
  readonly base: BaseImage | null;
  readonly templateDigest: string | null;
  /** The validated managed image and where it lives. */
  readonly image: ManagedImageId | undefined;
  readonly location: string | null;
  readonly checks: readonly CheckResult[];
  readonly history: History;
  readonly timings: Omit<Report['timings'], 'totalSeconds'>;
}

/** Nothing found yet: the inputs as given. */
export function startOfRun(config: Config): RunSoFar {
  return {
    imageId: config.imageId,
    displayName: config.displayName ?? '',
    version: config.version ?? '',
    build: null,
    base: null,
    templateDigest: null,
    image: undefined,
    location: null,
    checks: [],
    history: emptyHistory(),
    timings: { buildSeconds: null, validateSeconds: 0, registerSeconds: null },
  };
}

export interface ReportSections {
  registration?: Report['registration'];
  rollout?: Report['rollout'];
  error?: Report['error'];
}

/** Whole seconds since `since`. */
export function secondsSince(ctx: ReportContext, since: number): number {
  return Math.round((ctx.clock.now() - since) / 1000);
}

/** The report of the run as it ends now, scrubbed once for every writer (file, summary, PR comment, outputs, CLI). */
export function composeReport(
  ctx: ReportContext,
  so: RunSoFar,
  outcome: Outcome,
  message: string,
  sections: ReportSections = {},
): Report {
  const { config } = ctx;
  const finished = ctx.clock.now();
  const report: Report = {
    schemaVersion: 1,
    tool: { name: 'w365-image', version: TOOL_VERSION },
    outcome,
    message,
    startedAt: new Date(ctx.startedAt).toISOString(),
    finishedAt: new Date(finished).toISOString(),
    timings: { ...so.timings, totalSeconds: Math.round((finished - ctx.startedAt) / 1000) },
    inputs: {
      imageId: so.imageId,
      build: config.build,
      displayName: so.displayName,
      version: so.version,
      versionDerived: config.versionDerived,
      register: config.register,
      auth: config.auth,
      azureEnvironment: config.cloud,
      waitTimeoutMinutes: config.waitTimeoutMinutes,
    },
    build: so.build,
    base: so.base,
    templateDigest: so.templateDigest,
    image: so.image
      ? { ...so.image, location: so.location, portalUrl: portalUrl(ctx.cloud, config.tenantId, so.image.id) }
      : null,
    checks: [...so.checks],
    registration: sections.registration ?? null,
    rollout: sections.rollout ?? null,
    error: sections.error ?? null,
  };
  return scrubDeep<Report>(withHistory(report, so.history, ctx.runUrl));
}

/** The report for a run stopped by a RunFailure: cancelled, or an error with the fix for its cause. */
export function stoppedReport(ctx: ReportContext, so: RunSoFar, failure: RunFailure): Report {
  return composeReport(
    ctx,
    so,
    failure.kind === 'cancelled' ? 'cancelled' : 'error',
    `${failure.message} Fix: ${failure.fix}`,
    { error: { kind: failure.kind, message: `${failure.message}\nFix: ${failure.fix}` } },
  );
}

/** Advice to re-run says exactly what to re-run with (after a build, the same inputs would build again). */
export function withResumeHint(text: string, resumeHint: string | undefined): string {
  return resumeHint && /re-run/i.test(text) && !text.includes(resumeHint) ? `${text}\n${resumeHint}` : text;
}

/** The report for a registration, rollout or plan that threw: its kind, the resume hint and any sign-in help. */
export function failedReport(
  ctx: ReportContext,
  so: RunSoFar,
  error: unknown,
  resumeHint: string | undefined,
): Report {
  if (isRunFailure(error)) return stoppedReport(ctx, so, error);
  const kind = error instanceof RegistrationError || error instanceof RolloutError ? error.kind : 'graph';
  const message = withResumeHint(error instanceof Error ? error.message : String(error), resumeHint);
  if (resumeHint && message.endsWith(resumeHint)) ctx.log.info(resumeHint);
  const help = explainAuthError(message);
  return composeReport(
    ctx,
    so,
    kind === 'cancelled' ? 'cancelled' : 'error',
    message.split('\n')[0] ?? message,
    {
      error: { kind, message: help ? `${message}\n${help}` : message },
    },
  );
}

/** The report of a finished registration: Windows 365's verdict on the device image, and what the rollout did. */
export function registeredReport(
  ctx: ReportContext,
  so: RunSoFar,
  registration: Registration,
  graphRequests: number,
  rollout: RolloutSection,
  resumeHint: string,
): Report {
  const section = registrationSection(registration, graphRequests, ctx.cloud);
  const sections = { registration: section, rollout };
  const name = `'${so.displayName}' ${registration.deviceImage.version} (${registration.deviceImage.id})`;
  switch (registration.outcome) {
    case 'ready':
      return composeReport(
        ctx,
        so,
        'ready',
        `Device image ${name} is ready for provisioning policies.`,
        sections,
      );
    case 'warning':
      return composeReport(
        ctx,
        so,
        'warning',
        `Device image ${name} is usable but Windows 365 reported a warning: ${registration.deviceImage.statusDetails ?? 'see Intune'}.`,
        sections,
      );
    case 'failed':
      return composeReport(
        ctx,
        so,
        'failed',
        withResumeHint(
          `Windows 365 rejected ${name}: ${section.errorCode}. ${section.cause} Fix: ${section.fix}`,
          resumeHint,
        ),
        sections,
      );
    case 'timeout':
      return composeReport(
        ctx,
        so,
        'timeout',
        `Device image ${name} is still ${registration.deviceImage.status} after ${ctx.config.waitTimeoutMinutes} minutes. The upload goes on in Windows 365: re-run to resume waiting (no second upload). ${resumeHint}`,
        sections,
      );
  }
}
