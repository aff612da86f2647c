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
