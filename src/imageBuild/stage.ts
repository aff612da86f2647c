import { join } from 'node:path';
import { BuildError, runBuild, type BuildResult } from './packerBuild.ts';
import type { Config } from '../config/inputs.ts';
import { BUNDLE, BUNDLED_TEMPLATE } from '../paths.ts';
import type { Services } from '../results/services.ts';
import { TOOL_VERSION } from '../version.ts';
import type { Outcome, RunError } from '../results/outcome.ts';

/** The report's build section: what Packer did, or where it stopped. */
export interface BuildSection {
  mode: string;
  imageId: string | null;
  factsPath: string | null;
  packerVersion: string | null;
  /** The base the build VM booted from, exact version from the instance metadata service (the facts). */
  baseImage?: string | null;
  /** BuildError code when the build failed. */
  error: string | null;
  /** Packer's last output lines when the build failed. */
  outputTail: string[];
}

export type BuildServices = Pick<Services, 'log' | 'env' | 'signal'>;

/** What the build hands on: the image to validate and the facts file Packer downloaded, or why the run stops here. */
export type BuildStage = { build: BuildSection; imageId: string } & (
  { done: false } | { done: true; outcome: Outcome; message: string; error: RunError | null }
);

/**
 * The Packer build (or its template checks). Loaded only when a build is asked for, so registering an existing image
 * never loads Packer's runner.
 */
export async function buildStage(
  config: Config,
  /** The exact base version resolved before the build: Packer never sees `latest`. */
  baseImageVersion: string | undefined,
  deps: BuildServices,
): Promise<BuildStage> {
  const { log } = deps;
  if (process.platform === 'win32' && config.build === 'build') {
    const message =
      'Building needs a Linux runner (runs-on: ubuntu-latest): the template runs its sysprep-check hook through sh.';
    return {
      done: true,
      outcome: 'error',
      message,
      error: { kind: 'build:windows-runner', message },
      imageId: '',
      build: section(config, { error: 'windows-runner' }),
    };
  }
  let result: BuildResult;
  try {
    result = await log.group(
      config.build === 'validate' ? 'Check the Packer template' : 'Build the image with Packer',
      () => buildImage(config, baseImageVersion, deps),
    );
  } catch (error) {
    if (!(error instanceof BuildError)) throw error;
    return {
      done: true,
      outcome: error.code === 'cancelled' ? 'cancelled' : 'error',
      message: error.message,
      error: { kind: `build:${error.code}`, message: [error.message, ...error.outputTail].join('\n') },
      imageId: error.imageId ?? '',
      build: section(config, { imageId: error.imageId, error: error.code, outputTail: error.outputTail }),
    };
  }
  const build = section(config, result);
  const imageId = result.imageId ?? '';
  const imageSubscription = /^\/subscriptions\/([^/]+)\//i.exec(imageId)?.[1];
  if (
    imageSubscription &&
    config.subscriptionId &&
    imageSubscription.toLowerCase() !== config.subscriptionId.toLowerCase()
  ) {
    // With auth: azure-cli the plugin builds in the CLI's default subscription, whatever subscription_id says.
    const message = `Packer built the image in subscription ${imageSubscription}, not in subscription-id ${config.subscriptionId}. With auth: azure-cli, select the subscription first (az account set --subscription ${config.subscriptionId}). Nothing was uploaded.`;
    return {
      done: true,
      outcome: 'error',
      message,
      error: { kind: 'build:subscription-mismatch', message },
      imageId,
      build,
    };
  }
  if (config.build === 'validate') {
    const message = 'The Packer template passed init, fmt -check and validate; nothing was built.';
    return { done: true, outcome: 'template-valid', message, error: null, imageId, build };
  }
  return { done: false, imageId, build };
}

function section(
  config: Config,
  result: Partial<Pick<BuildResult, 'imageId' | 'factsPath' | 'packerVersion' | 'outputTail'>> & {
    error?: string;
  },
): BuildSection {
  return {
    mode: config.build,
    imageId: result.imageId ?? null,
    factsPath: result.factsPath ?? null,
    packerVersion: result.packerVersion ?? null,
    error: result.error ?? null,
    outputTail: result.error ? (result.outputTail ?? []) : [],
  };
}

/**
 * Runs the Packer template with the action's variables. The template calls back into this bundle's sysprep-check on
 * the runner (before sysprep), so a bad VM stops the build before capture.
 */
function buildImage(
  config: Config,
  baseImageVersion: string | undefined,
  deps: BuildServices,
): Promise<BuildResult> {
  const workDir = deps.env.RUNNER_TEMP || process.cwd();
  // An argument vector: Packer runs it without a shell, so a quote in RUNNER_TEMP or the action's path stays text.
  const sysprepCheckArgv = [
    process.execPath,
    BUNDLE,
    'sysprep-check',
    '--phase',
    'pre-sysprep',
    '--teams',
    'true',
  ];
  return runBuild({
    mode: config.build === 'validate' ? 'validate' : 'build',
    templateDir: config.template ?? BUNDLED_TEMPLATE,
    varFiles: config.varFiles,
    packerVars: config.packerVars,
    action:
      config.build === 'validate'
        ? // Template checks reach no Azure: the CLI auth flag satisfies the plugin's checks and is never used.
          { subscriptionId: '', auth: 'azure-cli', templateVersion: TOOL_VERSION, sysprepCheckArgv }
        : {
            subscriptionId: config.subscriptionId ?? '',
            cloudEnvironmentName: config.cloud === 'usgov' ? 'USGovernment' : 'Public',
            tenantId: config.tenantId,
            clientId: config.clientId,
            auth: config.auth,
            templateVersion: TOOL_VERSION,
            sysprepCheckArgv,
            ...(baseImageVersion ? { baseImageVersion } : {}),
          },
    outputDirectory: join(workDir, 'w365-image-packer'),
    env: deps.env,
    log: deps.log,
    timeoutMs: config.buildTimeoutMinutes * 60_000,
    signal: deps.signal,
  });
}
