import type { CheckResult } from '../results/checks.ts';
import type { Facts } from './facts.ts';
import { SYSPREP_RULES, type RuleContext, type Severity, type SysprepRule } from './rules.ts';

export interface SysprepCheckResult extends CheckResult {
  severity: Severity;
}

export interface SysprepCheck {
  checks: SysprepCheckResult[];
  /** No rule failed, and no `error` rule was left unverified (fail closed). */
  passed: boolean;
}

/** Evaluates every rule against the facts; all failures are reported, not just the first. */
export function runSysprepCheck(
  facts: Facts,
  context: RuleContext,
  rules: readonly SysprepRule[] = SYSPREP_RULES,
): SysprepCheck {
  const checks = rules.map((rule): SysprepCheckResult => {
    const verdict = rule.evaluate(facts, context);
    const status = verdict.status === 'fail' && rule.severity === 'warning' ? 'warn' : verdict.status;
    const { detail } = verdict;
    return {
      id: rule.id,
      requirement: rule.requirement,
      title: rule.title,
      status,
      detail,
      errorCode: rule.errorCode,
      fix: status === 'pass' || status === 'skip' ? null : rule.fix,
      severity: rule.severity,
    };
  });
  return { checks, passed: checks.every((c) => !blocks(c)) };
}

/** Whether this result stops the build. */
export function blocks(check: SysprepCheckResult): boolean {
  return check.status === 'fail' || (check.status === 'unverified' && check.severity === 'error');
}

/** A plain-text table for the terminal (and the Packer build log). */
export function formatSysprepCheck(result: SysprepCheck, facts: Facts, context: RuleContext): string {
  const lines = [
    `Sysprep check (${context.phase}) of ${facts.source}${facts.computerName ? ` from VM ${facts.computerName}` : ''}${facts.collectedAt ? `, collected ${facts.collectedAt}` : ''}`,
    '',
  ];
  const idWidth = Math.max(...result.checks.map((c) => c.id.length));
  for (const c of result.checks) {
    const mark = blocks(c) ? `${c.status.toUpperCase()}!` : c.status.toUpperCase();
    lines.push(`${mark.padEnd(11)} ${c.id.padEnd(idWidth)} ${`(${c.requirement})`.padEnd(8)} ${c.detail}`);
    if (c.fix) {
      const prevents = c.errorCode ? ` Prevents: ${c.errorCode}.` : '';
      lines.push(`${''.padEnd(12)}${''.padEnd(idWidth)} ${''.padEnd(8)} Fix: ${c.fix}${prevents}`);
    }
  }
  const counts = new Map<string, number>();
  for (const c of result.checks) counts.set(c.status, (counts.get(c.status) ?? 0) + 1);
  const tally = [...counts].map(([status, n]) => `${n} ${status}`).join(', ');
  const blocking = result.checks.filter(blocks).map((c) => c.id);
  lines.push(
    '',
    result.passed
      ? `Sysprep check passed (${tally}).`
      : `Sysprep check FAILED (${tally}): ${blocking.join(', ')}. Unverified error rules count as failures.`,
  );
  return lines.join('\n');
}
