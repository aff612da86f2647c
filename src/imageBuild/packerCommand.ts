import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import type { Log } from '../util/log.ts';

export const SETUP_PACKER_HINT =
  "Install Packer >= 1.14 on the runner first: add a step 'uses: hashicorp/setup-packer@v3' with 'version: \"1.14.2\"' (or newer) before this action.";

export class PackerNotFoundError extends Error {
  override name = 'PackerNotFoundError';
  readonly code = 'packer-missing';
}

export interface PackerRunOptions {
  /** The packer executable: a path, or a name looked up on env.PATH. */
  packer: string;
  cwd: string;
  /** The whole environment Packer sees. */
  env: NodeJS.ProcessEnv;
  log: Log;
  /** After this long Packer gets SIGINT (it then deletes what it created), and SIGKILL after `killGraceMs`. */
  timeoutMs?: number;
  /** Job cancellation: SIGINT, then SIGKILL after `killGraceMs` if Packer has not exited. */
  signal?: AbortSignal;
  killGraceMs: number;
  /** How many of the last output lines to keep. */
  tailLines: number;
}

export interface PackerRun {
  exitCode: number | null;
  /** Why Packer was interrupted, if it was. */
  interrupted: 'timeout' | 'cancelled' | null;
  /** SIGKILL was needed: Packer ignored SIGINT for the whole grace period. */
  killed: boolean;
  tail: string[];
  durationMs: number;
}

/** Resolves `packer` to an executable file on PATH (PATHEXT on Windows), or undefined. */
export async function findExecutable(name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const extensions =
    process.platform === 'win32'
      ? ['', ...(env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';').map((e) => e.toLowerCase())]
      : [''];
  const candidates =
    isAbsolute(name) || name.includes('/') || name.includes('\\')
      ? [name]
      : (env.PATH ?? env.Path ?? '')
          .split(delimiter)
          .filter(Boolean)
          .map((dir) => join(dir, name));
  for (const candidate of candidates) {
    for (const ext of extensions) {
      try {
        await access(candidate + ext, constants.X_OK);
        return candidate + ext;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** Runs one Packer command, streaming its output line by line to the log. Never rejects on a non-zero exit. */
export async function runPacker(args: readonly string[], options: PackerRunOptions): Promise<PackerRun> {
  const { log } = options;
  const started = Date.now();
  const tail: string[] = [];
  if (options.signal?.aborted)
    return { exitCode: null, interrupted: 'cancelled', killed: false, tail, durationMs: 0 };

  const subprocess = execa(options.packer, args, {
    cwd: options.cwd,
    env: options.env,
    extendEnv: false,
    stdin: 'ignore',
    all: true,
    buffer: false,
    reject: false,
    forceKillAfterDelay: false,
    // Packer re-executes itself under a wrapper that ignores SIGINT, and its plugins are further processes: signals
    // go to the whole process group, as a terminal's Ctrl-C does.
    detached: true,
  });
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      if (subprocess.pid !== undefined) process.kill(-subprocess.pid, signal);
    } catch {
      subprocess.kill(signal);
    }
  };
  let interrupted: PackerRun['interrupted'] = null;
  let killed = false;
  let killTimer: NodeJS.Timeout | undefined;
  const interrupt = (why: 'timeout' | 'cancelled') => {
    if (interrupted) return;
    interrupted = why;
    log.warning(
      why === 'timeout'
        ? `Packer ran longer than ${Math.round((options.timeoutMs ?? 0) / 1000)} s: interrupting it so it deletes its Azure resources.`
        : 'Job cancelled: interrupting Packer so it deletes its Azure resources.',
    );
    signalGroup('SIGINT');
    killTimer = setTimeout(() => {
      killed = true;
      log.error(
        `Packer did not exit ${Math.round(options.killGraceMs / 1000)} s after SIGINT: killing it. Check Azure for leftover resources.`,
      );
      signalGroup('SIGKILL');
    }, options.killGraceMs);
  };
  const timeoutTimer =
    options.timeoutMs === undefined
      ? undefined
      : setTimeout(() => interrupt('timeout'), Math.max(0, options.timeoutMs));
  const onAbort = () => interrupt('cancelled');
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const lines = subprocess.all ? createInterface({ input: subprocess.all, crlfDelay: Infinity }) : undefined;
  lines?.on('line', (line) => {
    log.info(line);
    tail.push(line);
    if (tail.length > options.tailLines) tail.shift();
  });
  const closed = lines
    ? new Promise<void>((resolve) => lines.once('close', () => resolve()))
    : Promise.resolve();

  try {
    const result = await subprocess;
    await closed;
    if ((result as { code?: string }).code === 'ENOENT') {
      throw new PackerNotFoundError(`Packer was not found (${options.packer}). ${SETUP_PACKER_HINT}`);
    }
    return {
      exitCode: result.exitCode ?? null,
      interrupted,
      killed,
      tail,
      durationMs: Date.now() - started,
    };
  } finally {
    clearTimeout(timeoutTimer);
    clearTimeout(killTimer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}
