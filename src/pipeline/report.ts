import type { Cloud } from '../config/clouds.ts';
import type { ManagedImageId } from '../azure/resourceId.ts';
import type { ImageDiff } from '../record/diff.ts';
import type { ImageRecord } from '../record/record.ts';
import type { BaseImage } from './base.ts';
import type { Freshness } from './freshness.ts';
import type { CheckResult } from './checks.ts';
import { historyLines } from './historySummary.ts';
import { formatDuration, type Registration } from './register.ts';
import { WINDOWS_RELEASES } from '../check/releases.ts';

export type Outcome =
  | 'ready'
  | 'warning'
  | 'validated'
  | 'up-to-date'
  | 'dry-run'
  | 'template-valid'
  | 'invalid'
  | 'failed'
  | 'timeout'
  | 'cancelled'
  | 'error';

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
  build: {
    mode: string;
    imageId: string | null;
    factsPath: string | null;
    packerVersion: string | null;
    /** The base the build VM booted from, exact version from the instance metadata service (the facts). */
    baseImage?: string | null;
    /** BuildError code when the build failed. */
    error: string | null;
    /** Packer's last output lines when the build failed. */
    outputTail: string[];
  } | null;
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
  rollout: {
    dryRun: boolean;
    /** Policies patched to the new image (would be, in a dry run). */
    updatedPolicies: string[];
    /** Device images deleted (would be, in a dry run). */
    deletedImages: string[];
    /** Markdown lines for the job summary. */
    summary: string[];
  } | null;
  error: { kind: string; message: string } | null;
}

/** Outcomes after which the job step succeeds. */
export function succeeded(outcome: Outcome): boolean {
  return (
    outcome === 'ready' ||
    outcome === 'warning' ||
    outcome === 'validated' ||
    outcome === 'up-to-date' ||
    outcome === 'template-valid' ||
    outcome === 'dry-run'
  );
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

const ICON: Record<CheckResult['status'], string> = {
  pass: '✅ pass',
  fail: '❌ fail',
  warn: '⚠️ warn',
  skip: '➖ skip',
  unverified: '❔ cannot verify',
};
export const HEADLINE: Record<Outcome, string> = {
  ready: '✅ Registered: ready in Windows 365',
  warning: '⚠️ Registered with a warning',
  validated: '✅ Validated (not registered)',
  'up-to-date': '💤 Up to date: nothing built',
  'dry-run': '📝 Dry run: nothing was changed',
  'template-valid': '✅ Packer template is valid (nothing built)',
  cancelled: '⏹️ Cancelled',
  invalid: '❌ The image does not meet Windows 365 requirements',
  failed: '❌ Windows 365 rejected the image',
  timeout: '⏳ Upload still pending',
  error: '❌ Error',
};

/** Text from outside made safe inside a ``` block: it cannot close the block and go on as markdown. */
export function unfenced(text: string): string {
  return text.replaceAll('```', "'''");
}

/** Text made safe for one markdown table cell. */
export function cell(text: string | null | undefined): string {
  return (text ?? '').replaceAll('|', '\\|').replaceAll('\r', '').replaceAll('\n', '<br>');
}

/**
 * The OS Windows 365 reports for a device image, for example `Windows 11 Enterprise 25H2`. Graph's `osBuildNumber`
 * holds the release label (`25H2`); when it holds a build number instead (`26200.7171`), the release table names it.
 */
export function osDescription(operatingSystem: string | null, osBuildNumber: string): string {
  const os = operatingSystem ?? 'Windows';
  const build = /^(\d{5})(?:\.\d+)?$/.exec(osBuildNumber);
  if (!build) return `${os} ${osBuildNumber}`;
  const release = WINDOWS_RELEASES.find((r) => r.build === Number(build[1]));
  return release ? `${os} ${release.version} (build ${osBuildNumber})` : `${os} build ${osBuildNumber}`;
}

/** Inline code, or nothing for an empty value (an empty code span renders as two stray backticks). */
export function codeSpan(text: string | null | undefined): string {
  return text ? '`' + text.replaceAll('`', "'") + '`' : '';
}

/** The checks table, one row a check. */
export function checksTable(checks: readonly CheckResult[]): string[] {
  return [
    '| Check | Requirement | Result | Detail | Fix |',
    '| --- | --- | --- | --- | --- |',
    ...checks.map(
      (c) =>
        `| \`${c.id}\` | ${cell(c.requirement)} | ${ICON[c.status]} | ${cell(c.detail)} | ${cell(c.fix)} |`,
    ),
  ];
}

/** Markdown for the job summary (and the CLI's closing print). */
export function renderSummary(report: Report): string {
  const lines: string[] = [];
  lines.push(`## w365-image: ${HEADLINE[report.outcome]}`, '', cell(report.message), '');
  const imageId = report.inputs.imageId || report.build?.imageId || '';
  if (report.image) {
    lines.push(
      `**Managed image:** [${report.image.name}](${report.image.portalUrl}) in ${codeSpan(report.image.resourceGroup)}`,
    );
  } else if (imageId) {
    lines.push(`**Managed image:** ${codeSpan(imageId)}`);
  } else if (report.outcome !== 'up-to-date') {
    lines.push(
      `**Managed image:** none (${report.build?.mode === 'validate' ? 'template checks only' : 'not built'})`,
    );
  }
  // Template checks name no device image; elsewhere an empty part is left out, never shown as an empty code span.
  const device = [cell(report.inputs.displayName), codeSpan(report.inputs.version)].filter((p) => p !== '');
  if (report.outcome === 'up-to-date') lines.push(`**Device image:** ${cell(report.inputs.displayName)}`);
  else if (report.outcome !== 'template-valid' && device.length > 0)
    lines.push(`**Device image:** ${device.join(' ')}`);
  lines.push('');
  const b = report.build;
  if (b) {
    lines.push(
      '### Build',
      '',
      '| | |',
      '| --- | --- |',
      `| Mode | ${b.mode === 'validate' ? 'template checks only' : 'Packer build'} |`,
    );
    if (b.packerVersion) lines.push(`| Packer | ${cell(b.packerVersion)} |`);
    if (report.base)
      lines.push(
        `| Base | \`${report.base.publisher}/${report.base.offer}/${report.base.sku}\` \`${report.base.version}\` (${report.base.requested === 'latest' ? 'newest' : 'pinned'} in ${cell(report.base.location)}) |`,
      );
    if (b.baseImage) lines.push(`| Base image the VM booted (instance metadata) | ${cell(b.baseImage)} |`);
    if (b.imageId) lines.push(`| Managed image | \`${b.imageId}\` |`);
    if (b.error) lines.push(`| Failed | \`${b.error}\` |`);
    lines.push('');
    if (b.outputTail.length > 0)
      lines.push(
        '<details><summary>Packer output (last lines)</summary>',
        '',
        '```',
        ...b.outputTail.map(unfenced),
        '```',
        '</details>',
        '',
      );
  }
  lines.push(...historyLines(report, { collapse: false }));
  lines.push('### Checks', '', ...checksTable(report.checks), '');
  const r = report.registration;
  if (r) {
    lines.push('### Registration', '', '| | |', '| --- | --- |');
    lines.push(`| Device image ID | \`${r.deviceImageId}\` |`);
    lines.push(`| Status | ${r.status} |`);
    if (r.errorCode) {
      lines.push(`| Error code | \`${r.errorCode}\` |`);
      // The headline message of a failed upload already gives the cause and the fix: say them once.
      if (r.cause && !report.message.includes(r.cause)) lines.push(`| Cause | ${cell(r.cause)} |`);
      if (r.fix && !report.message.includes(r.fix)) lines.push(`| Fix | ${cell(r.fix)} |`);
    }
    if (r.osBuildNumber) lines.push(`| OS | ${cell(osDescription(r.operatingSystem, r.osBuildNumber))} |`);
    lines.push(`| Upload | ${r.created ? 'started by this run' : 'resumed from an earlier run'} |`);
    lines.push(
      `| Waited | ${formatDuration(r.waitedSeconds * 1000)} (${r.polls} polls, ${r.graphRequests} Graph requests) |`,
    );
    lines.push(
      `| Intune | [Intune admin center](${r.intuneUrl}) > Devices > Windows 365 > Custom images |`,
      '',
    );
  }
  if (report.rollout && report.rollout.summary.length > 0) {
    lines.push(report.rollout.dryRun ? '' : '### Rollout', '', ...report.rollout.summary, '');
  }
  if (report.error) lines.push('### Error', '', '```', unfenced(report.error.message), '```', '');
  const t = report.timings;
  lines.push(
    (t.buildSeconds !== null ? `Build ${formatDuration(t.buildSeconds * 1000)}, ` : '') +
      `validation ${t.validateSeconds} s` +
      (t.registerSeconds !== null ? `, registration ${formatDuration(t.registerSeconds * 1000)}` : '') +
      `, total ${formatDuration(t.totalSeconds * 1000)}.`,
  );
  return lines.join('\n') + '\n';
}
