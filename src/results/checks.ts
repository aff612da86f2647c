import type { Log } from '../util/log.ts';

/** One row of the validation table: which requirement, whether it holds, and what to do when it does not. */
/** `unverified`: the facts needed were missing or unreadable; never counted as a pass. */
export type CheckStatus = 'pass' | 'fail' | 'warn' | 'skip' | 'unverified';

export interface CheckResult {
  id: string;
  /** Requirement number as defined in docs/requirements.md, e.g. R7. */
  requirement: string;
  title: string;
  status: CheckStatus;
  detail: string;
  /** The Windows 365 errorCode this check prevents. */
  errorCode: string | null;
  fix: string | null;
}

export function failed(checks: readonly CheckResult[]): CheckResult[] {
  return checks.filter((c) => c.status === 'fail');
}

/** One log line per check: failures and unverified checks as errors, warnings as warnings. */
export function logChecks(log: Log, checks: readonly CheckResult[]): void {
  for (const c of checks) {
    const line = `${c.status.toUpperCase().padEnd(4)} ${c.id} (${c.requirement}): ${c.detail}`;
    // A fix the detail already states is not repeated.
    const fix = c.fix && !c.detail.includes(c.fix) ? c.fix : '';
    if (c.status === 'fail' || c.status === 'unverified') log.error(fix ? `${line} Fix: ${fix}` : line);
    else if (c.status === 'warn') log.warning(fix ? `${line} ${fix}` : line);
    else log.info(line);
  }
}
