import type { RunError } from '../results/outcome.ts';
import type { CheckResult } from '../results/checks.ts';
import type { Services } from '../results/services.ts';
import { runSysprepCheck } from './check.ts';
import { FactsError, readFacts, type Facts } from './facts.ts';

/** The sysprep-check rows and the base the VM booted from, or why the facts could not be checked. */
export type CheckStage =
  | { done: false; checks: CheckResult[]; baseImage: string | null }
  | { done: true; outcome: 'error'; message: string; error: RunError };

/**
 * Sysprep-checks the facts the build downloaded. The facts describe the VM just before sysprep, so the rules run in
 * their pre-sysprep phase; that the image came out generalized is the ARM check's job.
 */
export async function checkStage(
  factsPath: string | null,
  deps: Pick<Services, 'log' | 'clock'>,
): Promise<CheckStage> {
  if (!factsPath) return { done: false, checks: [], baseImage: null };
  try {
    const facts = await readFacts(factsPath);
    const sysprep = await deps.log.group('Sysprep-check the build VM', async () =>
      runSysprepCheck(facts, { phase: 'pre-sysprep', teamsRequested: true, now: new Date(deps.clock.now()) }),
    );
    return { done: false, checks: sysprep.checks, baseImage: baseImageOf(facts) };
  } catch (error) {
    if (!(error instanceof FactsError)) throw error;
    return {
      done: true,
      outcome: 'error',
      message: error.message,
      error: { kind: `facts:${error.code}`, message: error.message },
    };
  }
}

/** publisher/offer/sku exactVersion as the VM saw it; the template's image_version may only say "latest". */
function baseImageOf(facts: Facts): string | null {
  if (!facts.baseImage.readable) return null;
  const { publisher, offer, sku, version, exactVersion } = facts.baseImage.value;
  if (!publisher || !offer || !sku) return null;
  return `${publisher}/${offer}/${sku} ${exactVersion ?? version ?? 'unknown version'}`;
}
