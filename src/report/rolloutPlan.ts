import type { DeviceImage } from '../graph/deviceImages.ts';
import type { PlannedPatch, RolloutPlan } from '../rollout/plan.ts';
import { cell, codeSpan, oneLine } from './markdown.ts';

/** 'name' version (`id`, status), for a table cell. */
function image(i: DeviceImage): string {
  return `'${cell(i.displayName)}' ${cell(i.version)} (${codeSpan(i.id)}, ${cell(i.status)})`;
}

function policyRow(p: PlannedPatch): string {
  const from = `${cell(p.from.imageType ?? '?')} '${cell(p.from.imageDisplayName)}' (${codeSpan(p.from.imageId) || 'none'})`;
  const to = `custom '${cell(p.to.imageDisplayName)}' (${codeSpan(p.to.imageId) || 'the new image'})`;
  const [action, detail] =
    p.action === 'patch'
      ? ['repoint', `${from} → ${to}`]
      : p.action === 'newer-kept'
        ? ['unchanged (uses a newer version)', `keeps ${from}`]
        : ['unchanged', `already uses ${to}`];
  return `| Policy | ${action} | ${cell(p.policyName)} (${codeSpan(p.policyId)}) | ${detail} |`;
}

/** The rollout plan as Markdown lines for the job summary: one table row a step, then the notes. */
export function renderRolloutPlan(plan: RolloutPlan, options: { title?: string } = {}): string[] {
  const lines: string[] = [`### ${options.title ?? 'Rollout plan (dry run: nothing was changed)'}`, ''];
  lines.push('| Step | Action | Target | Detail |', '| --- | --- | --- | --- |');
  const planned = plan.image;
  lines.push(
    `| Image | ${planned.action} | '${cell(planned.displayName)}' ${cell(planned.version)}${planned.id ? ` (${codeSpan(planned.id)})` : ''} | ${cell(planned.detail)} |`,
  );
  for (const c of plan.freeSlot)
    lines.push(`| Free a slot | delete | ${image(c.image)} | ${cell(c.detail)} |`);
  if (plan.blockedBy) {
    lines.push(
      `| Free a slot | **blocked** | ${plan.tenant.images} of ${plan.tenant.limit} images | No image of this display name may be deleted |`,
    );
  }
  for (const p of plan.patch) lines.push(policyRow(p));
  for (const c of plan.prune) lines.push(`| Prune | delete | ${image(c.image)} | ${cell(c.detail)} |`);
  for (const k of plan.kept) {
    if (k.reason === 'newest' || k.reason === 'protected') continue;
    lines.push(`| Prune | keep (${k.reason}) | ${image(k.image)} | ${cell(k.detail)} |`);
  }
  if (plan.source) {
    lines.push(
      `| Source image | ${plan.source.action} | ${codeSpan(plan.source.imageId)} | ${cell(plan.source.detail)} |`,
    );
  }
  if (plan.notes.length > 0) {
    lines.push('');
    for (const n of plan.notes) lines.push(`- ${oneLine(n)}`);
  }
  if (plan.blockedBy) {
    lines.push('', 'Images filling the tenant:');
    for (const s of plan.blockedBy) lines.push(`- ${image(s.image)}: ${oneLine(s.why)}`);
  }
  return lines;
}
