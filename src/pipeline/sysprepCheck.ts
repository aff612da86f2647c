import { runSysprepCheck } from '../check/check.ts';
import { readFacts } from '../check/facts.ts';
import type { CheckResult } from './checks.ts';

/**
 * The sysprep-check over the facts the build downloaded. The facts describe the VM just before sysprep, so the
 * rules run in their pre-sysprep phase; that the image came out generalized is the ARM check's job.
 */
export async function checkBuildFacts(
  factsPath: string,
  now: Date,
): Promise<{ checks: CheckResult[]; passed: boolean }> {
  const facts = await readFacts(factsPath);
  return runSysprepCheck(facts, { phase: 'pre-sysprep', teamsRequested: true, now });
}
