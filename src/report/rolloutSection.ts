import type { RetryResult } from '../register/retry.ts';
import type { RolloutResult } from '../rollout/complete.ts';
import type { RolloutPlan } from '../rollout/plan.ts';
import { describeImage, REPROVISION_NOTE } from '../rollout/policies.ts';
import type { PruneResult } from '../rollout/retention.ts';
import { countOf } from '../util/plural.ts';
import { cell, codeSpan, oneLine } from './markdown.ts';
import { renderRolloutPlan } from './rolloutPlan.ts';

/** The report's rollout section: what was (or, in a dry run, would be) changed. */
export interface RolloutSection {
  dryRun: boolean;
  /** Policies patched to the new image (would be, in a dry run). */
  updatedPolicies: string[];
  /** Device images deleted (would be, in a dry run). */
  deletedImages: string[];
  /** Markdown lines for the job summary. */
  summary: string[];
}

/** The report's rollout section for a dry run: the plan, and what the dry run could not check. */
export function dryRunSection(plan: RolloutPlan, notChecked: readonly string[] = []): RolloutSection {
  const summary = renderRolloutPlan(plan, { title: 'Dry run: what a real run would do' });
  if (notChecked.length > 0) {
    summary.push('', '**Not checked in this dry run:**');
    for (const line of notChecked) summary.push(`- ${oneLine(line)}`);
  }
  return {
    dryRun: true,
    updatedPolicies: plan.patch.filter((p) => p.action === 'patch').map((p) => p.policyId),
    deletedImages: plan.prune.map((p) => p.image.id),
    summary,
  };
}

/** The report's rollout section for a real run. */
export function rolloutSection(
  freed: PruneResult | undefined,
  retry: RetryResult | undefined,
  rollout: RolloutResult | undefined,
): RolloutSection {
  const summary: string[] = [];
  // Without a retry the failure is already the run's message: only an actual retry is worth a line.
  if (retry && retry.attempts.length > 0) {
    // A retry that failed again is the run's message (with its fix): list the attempts only.
    const results = retry.attempts.map((a) => `${a.outcome}${a.errorCode ? ` (${a.errorCode})` : ''}`);
    summary.push(
      `Upload retried ${countOf(retry.attempts.length, 'time')}: ${oneLine(results.join(', '))}.`,
      '',
    );
  }
  const policies = rollout?.repoint.policies ?? [];
  if (policies.length > 0) {
    summary.push('| Provisioning policy | Before | After | Change |', '| --- | --- | --- | --- |');
    for (const p of policies) {
      summary.push(
        `| ${cell(p.policyName)} | ${cell(describeImage(p.from))} | ${cell(describeImage(p.to))} | ${p.action} |`,
      );
    }
    summary.push('', REPROVISION_NOTE, '');
  }
  const deleted = [...(freed?.deleted ?? []), ...(rollout?.prune.deleted ?? [])];
  const skipped = [...(freed?.skipped ?? []), ...(rollout?.prune.skipped ?? [])];
  for (const d of deleted)
    summary.push(
      `- Deleted device image '${oneLine(d.image.displayName)}' ${oneLine(d.image.version)} (${d.outcome}).`,
    );
  for (const s of skipped)
    summary.push(
      `- Kept device image '${oneLine(s.image.displayName)}' ${oneLine(s.image.version)}: ${oneLine(s.detail)}`,
    );
  const source = rollout?.source;
  if (source) {
    summary.push(
      source.action === 'deleted' || source.action === 'already-gone'
        ? `- Source managed image ${source.action === 'deleted' ? 'deleted' : 'was already gone'}: ${codeSpan(source.imageId)}`
        : `- Source managed image kept (${source.action}): ${oneLine(source.detail)}`,
    );
  }
  return {
    dryRun: false,
    updatedPolicies: policies.filter((p) => p.action === 'patched').map((p) => p.policyId),
    deletedImages: deleted.filter((d) => d.outcome === 'deleted').map((d) => d.image.id),
    summary,
  };
}
