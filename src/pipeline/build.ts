import { join } from 'node:path';
import { runBuild, type BuildResult } from '../build/build.ts';
import type { Config } from '../config/inputs.ts';
import { BUNDLE, BUNDLED_TEMPLATE } from '../paths.ts';
import type { Log } from '../util/log.ts';
import { TOOL_VERSION } from '../version.ts';

export interface BuildStepDeps {
  log: Log;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal | undefined;
}

/**
 * Runs the Packer template with the action's variables. The template calls back into this bundle's sysprep-check on
 * the runner (before sysprep), so a bad VM stops the build before capture.
 */
export function buildImage(config: Config, deps: BuildStepDeps): Promise<BuildResult> {
  const workDir = deps.env.RUNNER_TEMP || process.cwd();
  const sysprepCheckCommand = `"${process.execPath}" "${BUNDLE}" sysprep-check --phase pre-sysprep --teams true`;
  return runBuild({
    mode: config.build === 'validate' ? 'validate' : 'build',
    templateDir: config.template ?? BUNDLED_TEMPLATE,
    varFiles: config.varFiles,
    packerVars: config.packerVars,
    action: {
      subscriptionId: config.subscriptionId ?? '',
      tenantId: config.tenantId,
      clientId: config.clientId,
      auth: config.auth,
      templateVersion: TOOL_VERSION,
      sysprepCheckCommand,
    },
    outputDirectory: join(workDir, 'w365-image-packer'),
    env: deps.env,
    log: deps.log,
    timeoutMs: config.buildTimeoutMinutes * 60_000,
    signal: deps.signal,
  });
}
