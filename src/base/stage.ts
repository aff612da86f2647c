import type { MarketplaceClient } from '../azure/marketplace.ts';
import { templateDigest, templateValues } from '../imageBuild/templateInputs.ts';
import { PackerVarsError } from '../imageBuild/variables.ts';
import type { Config } from '../config/inputs.ts';
import { isRunFailure } from '../net/failures.ts';
import type { GraphClient } from '../graph/client.ts';
import { BUNDLED_TEMPLATE } from '../paths.ts';
import type { Clock } from '../util/clock.ts';
import type { Log } from '../util/log.ts';
import { resolveBase, type BaseImage } from './base.ts';
import { failed, type CheckResult } from '../results/checks.ts';
import type { RunError } from '../results/outcome.ts';

export interface BaseStageDeps {
  log: Log;
  clock: Clock;
  marketplace: () => MarketplaceClient;
  graph: () => GraphClient;
}

export interface BaseStage {
  checks: CheckResult[];
  templateDigest: string | null;
  /** Undefined: the run stops here, before Packer, with `message` (and `error` when it was not a check). */
  base: BaseImage | undefined;
  message: string;
  error: RunError | null;
}

/** Reads what the template will build from and resolves its exact base through ARM, before Packer runs. */
export async function baseStage(config: Config, deps: BaseStageDeps): Promise<BaseStage> {
  const templateDir = config.template ?? BUNDLED_TEMPLATE;
  let digest: string | null = null;
  try {
    const values = await templateValues(templateDir, config.varFiles, config.packerVars);
    digest = await templateDigest(templateDir, config.varFiles, config.packerVars);
    const resolution = await resolveBase({
      values,
      marketplace: deps.marketplace(),
      graph: deps.graph(),
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
