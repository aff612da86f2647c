import { constants } from 'node:fs';
import { access, mkdir, readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Log } from '../util/log.ts';
import { findFacts, ManifestError, readManifest } from './manifest.ts';
import {
  findExecutable,
  PackerNotFoundError,
  runPacker,
  SETUP_PACKER_HINT,
  type PackerRun,
} from './packerCommand.ts';
import {
  actionVariables,
  ActionVariablesError,
  parsePackerVars,
  PackerVarsError,
  sensitiveEnv,
  UnsafePathError,
  varArgs,
  type ActionVariableInput,
} from './variables.ts';
import { countOf } from '../util/plural.ts';

/** `build`: init, validate, build (creates Azure resources). `validate`: init, fmt -check, validate (no Azure). */
export type BuildMode = 'build' | 'validate';

export interface BuildOptions {
  mode: BuildMode;
  /** Folder holding the template's *.pkr.hcl files. */
  templateDir: string;
  /** Packer's working directory; relative paths resolve against it. Default: the current directory. */
  cwd?: string;
  /** `-var-file` arguments, in order. */
  varFiles?: readonly string[];
  /** The `packer-vars` text: one name=value per line. */
  packerVars?: string;
  /** The variables the action owns; passed after the user's, so they win. */
  action: Omit<ActionVariableInput, 'outputDirectory' | 'manifestFileName' | 'factsFileName'>;
  /** Receives the manifest and the facts. Default: `output` under cwd. */
  outputDirectory?: string;
  manifestFileName?: string;
  factsFileName?: string;
  machineReadable?: boolean;
  /** Environment for Packer. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  log: Log;
  /** Limit for the whole run, in ms. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** How long Packer may clean up after SIGINT before SIGKILL. Default: 10 minutes. */
  killGraceMs?: number;
  /** Output lines kept for the report. Default: 40. */
  tailLines?: number;
  /** Packer executable name or path. Default: `packer` on PATH. */
  packer?: string;
}

export interface BuildStep {
  command: string;
  exitCode: number | null;
  durationMs: number;
}

export interface BuildResult {
  mode: BuildMode;
  /** The managed image resource ID (build mode). */
  imageId?: string;
  factsPath?: string;
  manifestPath?: string;
  /** The manifest's custom_data: the provenance the template recorded. */
  provenance?: Record<string, string>;
  packerVersion?: string;
  durationMs: number;
  steps: BuildStep[];
  /** The last lines of the last Packer command. */
  outputTail: string[];
}

export type BuildErrorCode =
  | 'packer-missing'
  | 'packer-vars-invalid'
  | 'oidc-unavailable'
  | 'init-failed'
  | 'fmt-failed'
  | 'validate-failed'
  | 'build-failed'
  | 'timeout'
  | 'cancelled'
  | 'manifest-missing'
  | 'facts-missing'
  | 'unsafe-path'
  | 'output-unwritable';

export class BuildError extends Error {
  override name = 'BuildError';
  readonly code: BuildErrorCode;
  readonly outputTail: string[];
  readonly steps: BuildStep[];
  /** Set when the image exists although the run failed afterwards (e.g. no facts file). */
  readonly imageId: string | undefined;
  constructor(
    code: BuildErrorCode,
    message: string,
    extra: { outputTail?: string[]; steps?: BuildStep[]; imageId?: string } = {},
  ) {
    super(message);
    this.code = code;
    this.outputTail = extra.outputTail ?? [];
    this.steps = extra.steps ?? [];
    this.imageId = extra.imageId;
  }
}

const DEFAULT_KILL_GRACE_MS = 10 * 60_000;
const DEFAULT_TAIL_LINES = 40;

export async function runBuild(options: BuildOptions): Promise<BuildResult> {
  const started = Date.now();
  const deadline = options.timeoutMs === undefined ? undefined : started + options.timeoutMs;
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const { log } = options;
  const outputDirectory = resolve(cwd, options.outputDirectory ?? 'output');
  const manifestPath = resolve(outputDirectory, options.manifestFileName ?? 'packer-manifest.json');
  const factsPath = resolve(outputDirectory, options.factsFileName ?? 'w365-facts.json');
  const steps: BuildStep[] = [];

  let userVars: Map<string, string>;
  let owned: ReturnType<typeof actionVariables>;
  try {
    userVars = parsePackerVars(options.packerVars ?? '');
    owned = actionVariables(
      {
        ...options.action,
        outputDirectory,
        manifestFileName: options.manifestFileName ?? 'packer-manifest.json',
        factsFileName: options.factsFileName ?? 'w365-facts.json',
      },
      env,
      { requireAuth: options.mode === 'build' },
    );
  } catch (error) {
    if (
      error instanceof PackerVarsError ||
      error instanceof ActionVariablesError ||
      error instanceof UnsafePathError
    ) {
      throw new BuildError(error.code, error.message);
    }
    throw error;
  }
  for (const value of owned.sensitive.values()) log.mask(value);
  for (const name of userVars.keys()) {
    // A pinned image_version the action resolved to the same value is no conflict.
    if (owned.plain.get(name) === userVars.get(name)) continue;
    if (owned.plain.has(name) || owned.sensitive.has(name))
      log.warning(`packer-vars sets '${name}', which the action sets itself: the action's value is used.`);
  }

  const packer = await findExecutable(options.packer ?? 'packer', env);
  if (!packer) {
    throw new BuildError('packer-missing', `Packer is not on PATH. ${SETUP_PACKER_HINT}`);
  }
  const packerEnv: NodeJS.ProcessEnv = {
    ...packerEnvironment(env),
    ...sensitiveEnv(owned.sensitive),
    CHECKPOINT_DISABLE: '1',
  };
  const variableArgs = [
    // Template checks need values for the variables a real build must be given; the user's own values win.
    ...(options.mode === 'validate'
      ? varArgs(await validationPlaceholders(options.varFiles ?? [], userVars))
      : []),
    ...(options.varFiles ?? []).map((file) => `-var-file=${file}`),
    ...varArgs(userVars),
    ...varArgs(owned.plain),
  ];

  const userVarArgs = new Set(varArgs(userVars).filter((arg) => arg !== '-var'));
  let outputTail: string[] = [];
  const run = async (subcommand: string, args: string[], failure: BuildErrorCode): Promise<PackerRun> => {
    // packer-vars may carry secrets: the log shows their names only.
    const shown = args.map((arg) => (userVarArgs.has(arg) ? arg.replace(/=[\s\S]*$/, '=…') : arg));
    const command = `packer ${[subcommand, ...shown].join(' ')}`;
    const remaining = deadline === undefined ? undefined : deadline - Date.now();
    const result = await log.group(command, async () => {
      try {
        return await runPacker([subcommand, ...args], {
          packer,
          cwd,
          env: packerEnv,
          log,
          timeoutMs: remaining,
          signal: options.signal,
          killGraceMs: options.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
          tailLines: options.tailLines ?? DEFAULT_TAIL_LINES,
        });
      } catch (error) {
        if (error instanceof PackerNotFoundError)
          throw new BuildError('packer-missing', error.message, { steps });
        throw error;
      }
    });
    steps.push({ command: `packer ${subcommand}`, exitCode: result.exitCode, durationMs: result.durationMs });
    outputTail = result.tail;
    if (result.interrupted === 'timeout') {
      throw new BuildError(
        'timeout',
        `packer ${subcommand} did not finish within ${countOf(Math.round((options.timeoutMs ?? 0) / 60_000), 'minute')}; Packer was interrupted${result.killed ? ' and then killed: check Azure for leftover resources' : ' and started deleting its temporary resource group (pkr-Resource-Group-*)'}.${lastWords(result.tail)}`,
        { outputTail, steps },
      );
    }
    if (result.interrupted === 'cancelled') {
      throw new BuildError(
        'cancelled',
        `The job was cancelled during packer ${subcommand}; Packer was interrupted${result.killed ? ' and then killed: check Azure for leftover resources' : ' and started deleting its temporary resource group (pkr-Resource-Group-*)'}.${lastWords(result.tail)}`,
        { outputTail, steps },
      );
    }
    if (result.exitCode !== 0) {
      throw new BuildError(
        failure,
        `packer ${subcommand} failed (exit code ${result.exitCode}).${lastWords(result.tail)}`,
        { outputTail, steps },
      );
    }
    return result;
  };

  const version = await run('version', [], 'init-failed');
  const packerVersion = version.tail.map((l) => /Packer v(\d+\.\d+\.\d+\S*)/.exec(l)?.[1]).find(Boolean);

  await run('init', [options.templateDir], 'init-failed');
  if (options.mode === 'validate') {
    await run('fmt', ['-check', '-diff', options.templateDir], 'fmt-failed');
    await run('validate', [...variableArgs, options.templateDir], 'validate-failed');
    return { mode: 'validate', packerVersion, durationMs: Date.now() - started, steps, outputTail };
  }

  await run('validate', [...variableArgs, options.templateDir], 'validate-failed');
  await prepareOutputFolder(outputDirectory);
  const buildFlags = ['-color=false', ...(options.machineReadable ? ['-machine-readable'] : [])];
  await run('build', [...buildFlags, ...variableArgs, options.templateDir], 'build-failed');

  let imageId: string | undefined;
  try {
    const manifest = await readManifest(manifestPath);
    imageId = manifest.artifactId;
    await findFacts(factsPath);
    return {
      mode: 'build',
      imageId,
      factsPath,
      manifestPath,
      provenance: manifest.customData,
      packerVersion,
      durationMs: Date.now() - started,
      steps,
      outputTail,
    };
  } catch (error) {
    if (error instanceof ManifestError)
      throw new BuildError(error.code, error.message, { outputTail, steps, imageId });
    throw error;
  }
}

/** Packer's own failure text: from its first HCL diagnostic ("Error: ...") on, else its last lines. */
function lastWords(tail: readonly string[]): string {
  const diagnostic = tail.findIndex((l) => /^Error: /.test(l));
  const shown = diagnostic !== -1 ? tail.slice(diagnostic, diagnostic + 20) : tail.slice(-10);
  return shown.length > 0 ? `\n${shown.join('\n')}` : '';
}

/**
 * Placeholders for `packer validate` without a var file (a fork's pull request): the template requires an image
 * name and group and one of location / build_resource_group_name, and checks nothing against Azure.
 */
async function validationPlaceholders(
  varFiles: readonly string[],
  userVars: ReadonlyMap<string, string>,
): Promise<Map<string, string>> {
  const given = new Set(userVars.keys());
  for (const file of varFiles) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const match of text.matchAll(/^\s*([A-Za-z_][\w-]*)\s*=/gm)) given.add(match[1] as string);
  }
  const placeholders = new Map<string, string>([
    ['managed_image_name', 'w365-template-check'],
    ['managed_image_resource_group_name', 'w365-template-check'],
  ]);
  if (!given.has('location') && !given.has('build_resource_group_name'))
    placeholders.set('location', 'westeurope');
  for (const name of given) placeholders.delete(name);
  return placeholders;
}

/** What Packer and the template's hook see: the runner's environment without the action's inputs and tokens. */
function packerEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(env).filter(
      ([name]) =>
        !name.startsWith('INPUT_') &&
        !['ACTIONS_RUNTIME_TOKEN', 'ACTIONS_ID_TOKEN_REQUEST_TOKEN', 'GITHUB_TOKEN'].includes(name),
    ),
  );
}

/**
 * Creates Packer's output folder and proves it writable before the build: the manifest is written only at the very
 * end, after the VM was built and captured, and the image ID would be lost with it.
 */
async function prepareOutputFolder(folder: string): Promise<void> {
  try {
    if (/^\/(proc|sys|dev)(\/|$)/.test(folder)) throw new Error('a kernel filesystem holds no build output');
    await mkdir(folder, { recursive: true });
    if (!(await stat(folder)).isDirectory()) throw new Error('not a folder');
    await access(folder, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw new BuildError(
      'output-unwritable',
      `Packer's output folder ${folder} cannot be used (${(error as Error).message}); the manifest and the facts file go there. Nothing was built. Check that RUNNER_TEMP (or the current folder) is a writable folder.`,
    );
  }
}
