import { WINDOWS_RELEASES } from '../check/releases.ts';
import type { CheckResult } from '../results/checks.ts';
import type { Outcome } from '../results/outcome.ts';
import { formatDuration } from '../util/duration.ts';
import { historyLines } from './historySummary.ts';
import { cell, codeSpan, fenced } from './markdown.ts';
import type { Report } from './report.ts';

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

/** The checks table, one row a check. */
export function checksTable(checks: readonly CheckResult[]): string[] {
  return [
    '| Check | Requirement | Result | Detail | Fix |',
    '| --- | --- | --- | --- | --- |',
    ...checks.map(
      (c) =>
        `| ${codeSpan(c.id)} | ${cell(c.requirement)} | ${ICON[c.status]} | ${cell(c.detail)} | ${cell(c.fix)} |`,
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
      `**Managed image:** [${cell(report.image.name)}](${report.image.portalUrl}) in ${codeSpan(report.image.resourceGroup)}`,
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
        `| Base | ${codeSpan(`${report.base.publisher}/${report.base.offer}/${report.base.sku}`)} ${codeSpan(report.base.version)} (${report.base.requested === 'latest' ? 'newest' : 'pinned'} in ${cell(report.base.location)}) |`,
      );
    if (b.baseImage) lines.push(`| Base image the VM booted (instance metadata) | ${cell(b.baseImage)} |`);
    if (b.imageId) lines.push(`| Managed image | ${codeSpan(b.imageId)} |`);
    if (b.error) lines.push(`| Failed | ${codeSpan(b.error)} |`);
    lines.push('');
    if (b.outputTail.length > 0)
      lines.push(
        '<details><summary>Packer output (last lines)</summary>',
        '',
        ...fenced(b.outputTail),
        '</details>',
        '',
      );
  }
  lines.push(...historyLines(report, { collapse: false }));
  lines.push('### Checks', '', ...checksTable(report.checks), '');
  const r = report.registration;
  if (r) {
    lines.push('### Registration', '', '| | |', '| --- | --- |');
    lines.push(`| Device image ID | ${codeSpan(r.deviceImageId)} |`);
    lines.push(`| Status | ${cell(r.status)} |`);
    if (r.errorCode) {
      lines.push(`| Error code | ${codeSpan(r.errorCode)} |`);
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
  if (report.error) lines.push('### Error', '', ...fenced(report.error.message), '');
  const t = report.timings;
  lines.push(
    (t.buildSeconds !== null ? `Build ${formatDuration(t.buildSeconds * 1000)}, ` : '') +
      `validation ${t.validateSeconds} s` +
      (t.registerSeconds !== null ? `, registration ${formatDuration(t.registerSeconds * 1000)}` : '') +
      `, total ${formatDuration(t.totalSeconds * 1000)}.`,
  );
  return lines.join('\n') + '\n';
}
