/** One row of the validation table: which requirement, whether it holds, and what to do when it does not. */
export type CheckStatus = 'pass' | 'fail' | 'warn' | 'skip';

export interface CheckResult {
  id: string;
  /** PLATFORM requirement number, e.g. R7. */
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
