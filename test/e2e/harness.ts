import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Report } from '../../src/report/report.ts';
import { afterEach } from 'vitest';
import { startFakeCloud, type FakeCloud, type FakeCloudOptions } from '../../fake-cloud/index.ts';

export const DIST = resolve(import.meta.dirname, '../../dist/index.js');
/** The clock scale the end-to-end tests run the action and the fake at: a 2-minute upload takes 2 s. */
export const SCALE = 60;

/** Starts a fake cloud per test (closed after it), with a scaled clock and a 2-minute upload by default. */
export function useFakeCloud(
  defaults: FakeCloudOptions = {},
): (options?: FakeCloudOptions) => Promise<FakeCloud> {
  let current: FakeCloud | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return async (options = {}) => {
    current = await startFakeCloud({ timeScale: SCALE, uploadSeconds: 120, ...defaults, ...options });
    return current;
  };
}

/** Graph POSTs that create a device image. */
export function creates(fake: FakeCloud) {
  return fake.requests.filter(
    (r) => r.service === 'graph' && r.method === 'POST' && r.path.endsWith('/deviceImages'),
  );
}

export interface ActionRun {
  code: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  report: Report | undefined;
}

export interface RunOptions {
  /** Extra or overriding environment variables. */
  env?: Record<string, string | undefined>;
  /** W365_IMAGE_TIME_SCALE for the action; match the fake's timeScale. */
  timeScale?: number;
  /** Standard input closed and no OIDC variables: as a job without id-token: write. */
  withoutOidc?: boolean;
  /** Sends SIGINT (as the runner does on cancel) once stdout contains this text. */
  interruptWhenOutput?: string;
  /** SIGKILLs the action (a crashed runner) as soon as this holds for the fake's state. */
  killWhen?: (fake: FakeCloud) => boolean;
  /** Sends SIGINT (a cancelled job) once this holds for the fake's state, e.g. while a request hangs. */
  interruptWhen?: (fake: FakeCloud) => boolean;
  /** The bundle to run (default DIST): a copy elsewhere plays the action checked out at another path. */
  entry?: string;
}

/** The inputs that point the action at the fake with OIDC. */
export function fakeInputs(fake: FakeCloud): Record<string, string> {
  return {
    'tenant-id': fake.tenantId,
    'client-id': fake.clientId,
    'arm-endpoint': fake.url,
    'graph-endpoint': fake.url,
    'authority-host': fake.url,
  };
}

/**
 * Runs dist/index.js the way the Actions runner does: a fresh process, inputs as INPUT_* variables, outputs through
 * the GITHUB_OUTPUT file and the job summary through GITHUB_STEP_SUMMARY.
 */
export async function runAction(
  fake: FakeCloud,
  inputs: Record<string, string>,
  options: RunOptions = {},
): Promise<ActionRun> {
  const dir = await mkdtemp(join(tmpdir(), 'w365-e2e-'));
  const outputFile = join(dir, 'output');
  const summaryFile = join(dir, 'summary.md');
  await writeFile(outputFile, '');
  await writeFile(summaryFile, '');
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GITHUB_ACTIONS: 'true',
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_RUN_NUMBER: '17',
    RUNNER_TEMP: dir,
    NODE_EXTRA_CA_CERTS: fake.caFile,
    W365_IMAGE_TIME_SCALE: String(options.timeScale ?? 1),
    ...(options.withoutOidc
      ? {}
      : {
          ACTIONS_ID_TOKEN_REQUEST_URL: fake.oidcRequestUrl,
          ACTIONS_ID_TOKEN_REQUEST_TOKEN: fake.oidcRequestToken,
        }),
  };
  for (const [name, value] of Object.entries(inputs))
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
  Object.assign(env, options.env);
  const { killWhen, interruptWhen } = options;
  const { code, stdout, stderr } = await spawnNode(
    [options.entry ?? DIST],
    env,
    options.interruptWhenOutput,
    killWhen && (() => killWhen(fake)),
    interruptWhen && (() => interruptWhen(fake)),
  );
  const reportPath = join(dir, 'w365-image-report.json');
  const outputs = parseOutputFile(await readFile(outputFile, 'utf8'));
  let report: Report | undefined;
  try {
    report = JSON.parse(await readFile(outputs['report-path'] ?? reportPath, 'utf8')) as Report;
  } catch {
    report = undefined;
  }
  return { code, stdout, stderr, outputs, summary: await readFile(summaryFile, 'utf8'), report };
}

export function spawnNode(
  args: string[],
  env: Record<string, string | undefined>,
  interruptWhenOutput?: string,
  killWhen?: () => boolean,
  interruptWhen?: () => boolean,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, {
      env: env as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (interruptWhenOutput && !interrupted && stdout.includes(interruptWhenOutput)) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const watcher = killWhen
      ? setInterval(() => {
          if (killWhen()) child.kill('SIGKILL');
        }, 2)
      : undefined;
    const interrupter = interruptWhen
      ? setInterval(() => {
          if (!interrupted && interruptWhen()) {
            interrupted = true;
            child.kill('SIGINT');
          }
        }, 10)
      : undefined;
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(watcher);
      clearInterval(interrupter);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** Parses the runner's `name<<DELIMITER ... DELIMITER` output file format. */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const match = /^([^<=]+)<<(.+)$/.exec(lines[i] ?? '');
    if (!match) continue;
    const [, name, delimiter] = match as unknown as [string, string, string];
    const value: string[] = [];
    for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i] ?? '');
    outputs[name] = value.join('\n');
  }
  return outputs;
}
