// Measures what the README promises; prints figures, asserts nothing (these machines are noisy).
//   cold start of dist/index.js to its first request, bundle size, peak memory,
//   Graph requests and detection delay for a simulated 90-minute upload,
//   how fast a run stops on an image Windows 365 cannot see.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { startFakeCloud, type FakeCloud } from '../fake-cloud/index.ts';

const root = resolve(import.meta.dirname, '..');
const dist = resolve(root, 'dist/index.js');
mkdirSync(resolve(root, '.tmp'), { recursive: true });
writeFileSync(resolve(root, '.tmp/bench-output'), '');
writeFileSync(resolve(root, '.tmp/bench-summary.md'), '');

function actionEnv(fake: FakeCloud, imageId: string, timeScale: number, extra: Record<string, string> = {}) {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_EXTRA_CA_CERTS: fake.caFile,
    ACTIONS_ID_TOKEN_REQUEST_URL: fake.oidcRequestUrl,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: fake.oidcRequestToken,
    W365_IMAGE_TIME_SCALE: String(timeScale),
    GITHUB_ACTIONS: 'true',
    GITHUB_RUN_NUMBER: '1',
    RUNNER_TEMP: resolve(root, '.tmp'),
    GITHUB_OUTPUT: resolve(root, '.tmp/bench-output'),
    GITHUB_STEP_SUMMARY: resolve(root, '.tmp/bench-summary.md'),
    'INPUT_IMAGE-ID': imageId,
    'INPUT_TENANT-ID': fake.tenantId,
    'INPUT_CLIENT-ID': fake.clientId,
    'INPUT_ARM-ENDPOINT': fake.url,
    'INPUT_GRAPH-ENDPOINT': fake.url,
    'INPUT_AUTHORITY-HOST': fake.url,
    ...extra,
  };
}

/** Runs the action; samples the child's peak RSS (VmHWM) and the time to the fake's first request. */
async function runOnce(fake: FakeCloud, env: NodeJS.ProcessEnv) {
  const before = fake.requests.length;
  const started = performance.now();
  const child = spawn(process.execPath, [dist], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  let firstRequestMs: number | undefined;
  let peakKb = 0;
  const sampler = setInterval(() => {
    if (firstRequestMs === undefined && fake.requests.length > before)
      firstRequestMs = performance.now() - started;
    try {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      peakKb = Math.max(peakKb, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
    } catch {
      // the process has exited
    }
  }, 1);
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((done) => child.on('close', done));
  clearInterval(sampler);
  return {
    code,
    firstRequestMs,
    totalMs: performance.now() - started,
    peakMb: peakKb / 1024,
    stdout,
    stderr,
  };
}

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const bundle = readFileSync(dist);
console.log(
  `bundle: dist/index.js ${(statSync(dist).size / 1024 / 1024).toFixed(2)} MiB, ${(gzipSync(bundle).length / 1024).toFixed(0)} KiB gzipped`,
);

// Cold start: validate only (register: false), five runs, time from spawn to the first request the fake sees.
{
  const fake = await startFakeCloud();
  const image = fake.addManagedImage({ resourceGroup: 'bench', name: 'cold-start' });
  const starts: number[] = [];
  const peaks: number[] = [];
  for (let i = 0; i < 5; i++) {
    const run = await runOnce(fake, actionEnv(fake, image.id, 1, { INPUT_REGISTER: 'false' }));
    if (run.code !== 0 || run.firstRequestMs === undefined)
      throw new Error(
        `cold-start run failed (${run.code}, first request ${run.firstRequestMs}): ${run.stdout}${run.stderr}`,
      );
    starts.push(run.firstRequestMs);
    peaks.push(run.peakMb);
  }
  console.log(
    `cold start to first request: median ${median(starts).toFixed(0)} ms (runs: ${starts.map((s) => s.toFixed(0)).join(', ')} ms)`,
  );
  console.log(`peak RSS, validate only: ${Math.max(...peaks).toFixed(0)} MiB`);
  await fake.close();
}

// A 90-minute upload on a clock running 300x: count Graph requests and how late readiness is seen.
{
  const timeScale = 300;
  const uploadSeconds = 90 * 60;
  const fake = await startFakeCloud({ timeScale, uploadSeconds });
  const image = fake.addManagedImage({ resourceGroup: 'bench', name: 'ninety-minutes' });
  const run = await runOnce(fake, actionEnv(fake, image.id, timeScale, { INPUT_VERSION: '1.0.0' }));
  if (run.code !== 0) throw new Error(`90-minute run failed: ${run.stdout}${run.stderr}`);
  const graph = fake.requests.filter((r) => r.service === 'graph');
  const create = graph.find((r) => r.method === 'POST');
  const last = graph.at(-1);
  if (!create || !last) throw new Error('no Graph requests recorded');
  const detectionSeconds = (last.at - create.at) / 1000 - uploadSeconds;
  const report = JSON.parse(await readFile(resolve(root, '.tmp/w365-image-report.json'), 'utf8')) as {
    registration: { polls: number };
  };
  console.log(
    `90-minute upload (clock x${timeScale}): ${graph.length} Graph requests (${report.registration.polls} polls), readiness seen ${detectionSeconds.toFixed(0)} s after it happened, peak RSS ${run.peakMb.toFixed(0)} MiB, ${(run.totalMs / 1000).toFixed(1)} s wall`,
  );
  console.log(`token requests: ${fake.counters.accessTokens}, GitHub ID tokens: ${fake.counters.idTokens}`);
  await fake.close();
}

// An image Windows 365 cannot see: wall time from spawn until the action stops (before any upload), real clock.
{
  const fake = await startFakeCloud();
  const image = fake.addManagedImage({ resourceGroup: 'bench', name: 'hidden', windows365CanRead: false });
  const run = await runOnce(fake, actionEnv(fake, image.id, 1));
  const posts = fake.requests.filter((r) => r.service === 'graph' && r.method === 'POST').length;
  if (run.code !== 1 || posts !== 0)
    throw new Error(`hidden-image run did not stop before the upload: ${run.stdout}`);
  console.log(
    `image Windows 365 cannot see: stopped after ${(run.totalMs / 1000).toFixed(1)} s, ${posts} POSTs`,
  );
  await fake.close();
}

// Faults: how long after a SIGINT the step ends during a hung request and during a day-long Retry-After, and how
// long a hung request lives with wait-timeout-minutes: 1 (clock x60: the deadline is 1 s of wall time).
{
  const fake = await startFakeCloud();
  const image = fake.addManagedImage({ resourceGroup: 'bench', name: 'faults' });
  const cancelAfter = async (fault: Parameters<FakeCloud['inject']>[0], ready: (out: string) => boolean) => {
    fake.inject(fault);
    const child = spawn(process.execPath, [dist], {
      env: actionEnv(fake, image.id, 1),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let sent: number | undefined;
    const tick = setInterval(() => {
      if (sent === undefined && ready(stdout)) {
        sent = performance.now();
        child.kill('SIGINT');
      }
    }, 5);
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    await new Promise((done) => child.on('close', done));
    clearInterval(tick);
    return sent === undefined ? NaN : performance.now() - sent;
  };
  const hung = await cancelAfter({ kind: 'hang', service: 'graph', count: 1_000 }, () =>
    fake.requests.some((r) => r.injected === 'hang'),
  );
  const backoff = await cancelAfter(
    { kind: 'status', status: 429, retryAfterSeconds: 86_400, service: 'graph', count: 1_000 },
    (out) => out.includes('retrying in'),
  );
  console.log(
    `SIGINT to exit: ${hung.toFixed(0)} ms during a hung request, ${backoff.toFixed(0)} ms during a Retry-After of a day`,
  );
  await fake.close();
  const deadlineFake = await startFakeCloud({ timeScale: 60 });
  const deadlineImage = deadlineFake.addManagedImage({ resourceGroup: 'bench', name: 'deadline' });
  deadlineFake.inject({ kind: 'hang', service: 'arm', count: 1_000 });
  const run = await runOnce(
    deadlineFake,
    actionEnv(deadlineFake, deadlineImage.id, 60, { 'INPUT_WAIT-TIMEOUT-MINUTES': '1' }),
  );
  console.log(
    `a hung request with wait-timeout-minutes: 1 (clock x60) ends the step after ${(run.totalMs / 1000).toFixed(1)} s wall (exit ${run.code})`,
  );
  await deadlineFake.close();
}
