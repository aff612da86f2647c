import { constants } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { scrubSecrets } from '../util/untrusted.ts';
import { cell } from './markdown.ts';
import type { Report } from './report.ts';
import { renderSummary } from './summary.ts';

/** The step outputs named in action.yml. */
export interface Outputs {
  'image-id': string;
  'device-image-id': string;
  'display-name': string;
  version: string;
  status: string;
  'updated-policies': string;
  'deleted-images': string;
  'report-path': string;
  'base-image-version': string;
  changed: string;
  'record-artifact': string;
}

export function outputsOf(report: Report, reportPath: string): Outputs {
  return {
    'image-id': report.image?.id ?? report.inputs.imageId,
    'device-image-id': report.registration?.deviceImageId ?? '',
    'display-name': report.inputs.displayName,
    version: report.inputs.version,
    status: report.outcome,
    'updated-policies': JSON.stringify(report.rollout?.updatedPolicies ?? []),
    'deleted-images': JSON.stringify(report.rollout?.deletedImages ?? []),
    'report-path': reportPath,
    'base-image-version': report.base?.version ?? '',
    changed: String(report.changed ?? false),
    'record-artifact': report.recordArtifact?.saved ? report.recordArtifact.name : '',
  };
}

export interface Published {
  /** Markdown for the job summary (the CLI prints it). */
  summary: string;
  outputs: Outputs;
  /** What could not be written, when the report file could not. */
  problem: string | undefined;
}

/**
 * Writes the JSON report and returns the summary and outputs. A report that cannot be written (the disk filled up,
 * the folder went away since the check at the start) costs only the file: the summary and the outputs are still
 * returned, the summary says what is missing and the report-path output is empty.
 */
export async function publishReport(report: Report, reportPath: string): Promise<Published> {
  let problem: string | undefined;
  try {
    await mkdir(dirname(reportPath), { recursive: true });
    // O_NONBLOCK: a FIFO put there since the start check fails at once instead of waiting for a reader.
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NONBLOCK;
    const text = scrubSecrets(JSON.stringify(report, null, 2)) + '\n';
    await writeFile(reportPath, text, { encoding: 'utf8', flag: flags });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    problem = `Could not write the JSON report to ${reportPath} (${reason}); the outputs and the job summary are complete. Set report-path to a writable file, such as \${{ runner.temp }}/w365-image-report.json.`;
  }
  let summary = renderSummary(report);
  if (problem) summary += `\n> ⚠️ ${cell(problem)}\n`;
  summary = scrubSecrets(summary);
  return { summary, outputs: outputsOf(report, problem ? '' : reportPath), problem };
}
