import { templateDigest, templateValues } from '../imageBuild/templateInputs.ts';
import { PackerVarsError } from '../imageBuild/variables.ts';
import type { Config } from '../config/inputs.ts';
import { isRunFailure } from '../net/failures.ts';
import { BUNDLED_TEMPLATE } from '../paths.ts';
import type { Found, PreviousRecord } from '../record/store.ts';
import { resolveBase, type BaseImage } from './base.ts';
import { checkFreshness, type Freshness } from './freshness.ts';
import { failed, type CheckResult } from '../results/checks.ts';
import type { RunError } from '../results/outcome.ts';
import type { Services } from '../results/services.ts';
import { TOOL_VERSION } from '../version.ts';

export interface BaseStage {
  checks: CheckResult[];
  templateDigest: string | null;
  /** Undefined: the run stops here, before Packer, with `message` (and `error` when it was not a check). */
  base: BaseImage | undefined;
  message: string;
  error: RunError | null;
}

/** Reads what the template will build from and resolves its exact base through ARM, before Packer runs. */
export async function baseStage(
  config: Config,
  deps: Pick<Services, 'log' | 'clock' | 'marketplace' | 'graph'>,
): Promise<BaseStage> {
  const templateDir = config.template ?? BUNDLED_TEMPLATE;
  let digest: string | null = null;
  try {
    const values = await templateValues(templateDir, config.varFiles, config.packerVars);
    digest = await templateDigest(templateDir, config.varFiles, config.packerVars);
    const resolution = await resolveBase({
      values,
      marketplace: deps.marketplace(),
      graph: deps.graph,
      now: new Date(deps.clock.now()),
    });
    const failures = failed(resolution.checks);
    if (!resolution.base) {
      return {
        checks: resolution.checks,
        templateDigest: digest,
        base: undefined,
        message: `${failures.map((c) => c.detail).join(' ')} Nothing was built.`,
        error: null,
      };
    }
    const { base } = resolution;
    deps.log.info(
      `Base: ${base.publisher}/${base.offer}/${base.sku} ${base.version} in ${base.location} (${base.requested === 'latest' ? 'newest' : 'pinned'}); Packer gets image_version=${base.version}.`,
    );
    return { checks: resolution.checks, templateDigest: digest, base, message: '', error: null };
  } catch (error) {
    if (isRunFailure(error)) throw error;
    const message = error instanceof Error ? error.message : String(error);
    const kind = error instanceof PackerVarsError ? `build:${error.code}` : 'base:unresolved';
    return {
      checks: [],
      templateDigest: digest,
      base: undefined,
      message:
        kind === 'base:unresolved'
          ? `Could not resolve the base image before building: ${message.split('\n')[0] ?? message} Nothing was built.`
          : message,
      error: { kind, message },
    };
  }
}

/** Where earlier image records are found (the action: this repository's artifacts). */
export interface RecordFinder {
  findPrevious(displayName: string): Promise<Found>;
}

/** The previous record of the display name, the skip-if-unchanged verdict, and whether the run stops here. */
export interface Comparison {
  previous: PreviousRecord | null;
  /** Why there is no previous record. */
  previousNote: string | null;
  freshness: Freshness | null;
  /** Up to date (nothing to build), or the comparison failed; undefined: build. */
  stop: { outcome: 'up-to-date' | 'error'; message: string; error: RunError | null } | undefined;
}

/**
 * Finds the previous record of the display name and, with skip-if-unchanged, compares it with what this run would
 * build. Without records (in a terminal) or without a display name there is nothing to compare with.
 */
export async function compareWithPrevious(
  config: Config,
  resolved: { base: BaseImage; templateDigest: string },
  records: RecordFinder | undefined,
  services: Pick<Services, 'log' | 'graph'>,
): Promise<Comparison> {
  const { log } = services;
  const found: Comparison = { previous: null, previousNote: null, freshness: null, stop: undefined };
  const displayName = config.displayName;
  try {
    if (!displayName) {
      return { ...found, previousNote: 'no display-name: records are kept per display name' };
    }
    if (!records) {
      found.previousNote = 'records are kept as workflow artifacts: none outside GitHub Actions';
    } else {
      const previous = await log.group('Find the previous image record', () =>
        records.findPrevious(displayName),
      );
      if (previous.found) {
        found.previous = previous.previous;
        log.info(
          `Previous record: '${displayName}' ${previous.previous.record.version} (artifact ${previous.previous.artifactId}).`,
        );
      } else {
        found.previousNote = previous.reason;
        log.info(`No previous record: ${previous.reason}.`);
      }
    }
    if (!config.skipIfUnchanged) return found;
    const { base } = resolved;
    const freshness = await checkFreshness({
      displayName,
      record: found.previous?.record,
      base,
      templateDigest: resolved.templateDigest,
      toolVersion: TOOL_VERSION,
      graph: services.graph,
    });
    found.freshness = freshness;
    if (!freshness.upToDate) {
      log.info(`Building: ${freshness.reason}.`);
      return found;
    }
    const image = freshness.newestReady;
    const message = `Up to date: '${displayName}' ${image?.version ?? ''} (${image?.id ?? ''}) was built from ${base.sku} ${base.version} with the same template and w365-image ${TOOL_VERSION} (base not refreshed yet). Nothing was built or uploaded.`;
    return { ...found, stop: { outcome: 'up-to-date', message, error: null } };
  } catch (error) {
    // A build that cannot be compared would cost a full build and then fail to register the same way.
    const reason = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    const message = `Could not compare with the newest ready image of '${config.displayName ?? ''}' (skip-if-unchanged): ${reason} Nothing was built.`;
    return {
      ...found,
      stop: { outcome: 'error', message, error: { kind: 'freshness:unavailable', message } },
    };
  }
}
