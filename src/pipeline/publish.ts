import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { renderSummary, type Report } from './report.ts';

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

/** Writes the JSON report and returns the summary markdown. */
export async function writeReport(report: Report, reportPath: string): Promise<string> {
  await mkdir(dirname(reportPath), { recursive: true });
  await writeFile(reportPath, JSON.stringify(report, null, 2) + '\n', 'utf8');
  return renderSummary(report);
}
