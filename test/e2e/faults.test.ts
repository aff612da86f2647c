import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FakeCloud } from '../../fake-cloud/index.ts';
import { DIST, fakeInputs, runAction, SCALE, spawnNode, useFakeCloud, type ActionRun } from './harness.ts';

const cloud = useFakeCloud();

const graphRequests = (f: FakeCloud) => f.requests.filter((r) => r.service === 'graph');
const hanging = (f: FakeCloud) => f.requests.some((r) => r.injected === 'hang');

/** The run ended as an error of this kind, explained, and nothing blames the image. */
function expectRunError(run: ActionRun, kind: string): void {
  expect(run.code, run.stdout + run.stderr).toBe(1);
  expect(run.outputs.status).toBe(kind === 'cancelled' ? 'cancelled' : 'error');
  expect(run.report?.error?.kind).toBe(kind);
  expect(run.report?.error?.message).toContain('Fix: ');
  expect(run.report?.checks.some((c) => c.status === 'fail')).toBe(false);
  expect(run.summary).not.toContain('does not meet');
  expect(run.stdout + run.stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
}

describe('authentication and authorization failures are errors with a fix, never a failed image check', () => {
  it('a 403 from ARM names the role to grant', async () => {
    const f = await cloud();
    const image = f.addManagedImage({ resourceGroup: 'images', name: 'secret', forbidden: true });
    const run = await runAction(f, { 'image-id': image.id, ...fakeInputs(f) });
    expectRunError(run, 'auth');
    expect(run.report?.error?.message).toContain('Reader');
    // The annotation carries the fix, not only the summary.
    expect(run.stdout).toMatch(/::error::.*Fix: .*Reader/);
    expect(graphRequests(f)).toHaveLength(0);
  });

  it('a 401 from GitHub OIDC names the id-token permission', async () => {
    const f = await cloud();
    const image = f.addManagedImage({ resourceGroup: 'images', name: 'img' });
    f.inject({ kind: 'status', status: 401, service: 'github', count: 100 });
    const run = await runAction(f, { 'image-id': image.id, ...fakeInputs(f) });
    expectRunError(run, 'auth');
    expect(run.report?.error?.message).toContain('id-token: write');
    expect(f.requests.filter((r) => r.service === 'github').length).toBeLessThanOrEqual(4);
  });

  it('a GitHub OIDC endpoint that keeps dropping the connection is retried, then an auth error', async () => {
    const f = await cloud();
    const image = f.addManagedImage({ resourceGroup: 'images', name: 'img' });
    f.inject({ kind: 'drop', service: 'github', count: 1_000 });
    const run = await runAction(f, { 'image-id': image.id, ...fakeInputs(f) }, { timeScale: 60 });
    expectRunError(run, 'auth');
    expect(run.report?.error?.message).toContain('githubstatus');
    expect(f.requests.filter((r) => r.service === 'github').length).toBeGreaterThan(1);
  });

  it('a terminal without the Azure CLI is told to install it and run az login', async () => {
    const f = await cloud();
    const image = f.addManagedImage({ resourceGroup: 'images', name: 'img' });
    const run = await spawnNode(
      [DIST, '--image-id', image.id, '--arm-endpoint', f.url, '--report-path', reportPath('no-az')],
      { HOME: process.env.HOME, PATH: resolve('/nonexistent-bin'), NODE_EXTRA_CA_CERTS: f.caFile },
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('status=error');
    expect(run.stdout).toContain('https://aka.ms/azure-cli');
    expect(run.stdout).toContain('az login');
    expect(run.stdout).not.toContain('does not meet');
    expect(run.stdout + run.stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  });
});

describe('a cancelled job ends within seconds as cancelled', () => {
  it('while a Graph request hangs', { timeout: 30_000 }, async () => {
    const f = await cloud();
    const image = f.addManagedImage({ resourceGroup: 'images', name: 'img' });
    f.inject({ kind: 'hang', service: 'graph', count: 100 });
    const run = await runAction(f, { 'image-id': image.id, ...fakeInputs(f) }, { interruptWhen: hanging });
    expectRunError(run, 'cancelled');
    expect(run.stdout).toContain('Received SIGINT');
    expect(f.counters.deviceImageCreates).toBe(0);
  });

  it('while a policy PATCH of the rollout hangs', { timeout: 30_000 }, async () => {
    const f = await cloud({ uploadSeconds: 60 });
    const image = f.addManagedImage({ resourceGroup: 'images', name: 'img' });
    const policy = f.addProvisioningPolicy({
      displayName: 'Sales',
      imageId: 'MicrosoftWindowsDesktop_windows-ent-cpc_win11-24h2-ent-cpc',
      imageType: 'gallery',
    });
    f.inject({ kind: 'hang', service: 'graph', method: 'PATCH', count: 100 });
    const run = await runAction(
      f,
      { 'image-id': image.id, 'provisioning-policies': policy.id, ...fakeInputs(f) },
      { timeScale: SCALE, interruptWhen: hanging },
    );
    expectRunError(run, 'cancelled');
    expect(f.counters.deviceImageCreates).toBe(1);
  });

  it('while backing off for a Retry-After of a day', { timeout: 30_000 }, async () => {
    const f = await cloud();
    const image = f.addManagedImage({ resourceGroup: 'images', name: 'img' });
    f.inject({ kind: 'status', status: 429, retryAfterSeconds: 86_400, service: 'graph', count: 100 });
    const run = await runAction(
      f,
      { 'image-id': image.id, ...fakeInputs(f) },
      { interruptWhenOutput: 'retrying in 600 s' },
    );
    expectRunError(run, 'cancelled');
    expect(graphRequests(f)).toHaveLength(1);
  });
});

describe('the run deadline, on the real clock', () => {
  it(
    'a request that never answers ends the step at wait-timeout-minutes: 1',
    { timeout: 150_000 },
    async () => {
      const f = await cloud();
      const image = f.addManagedImage({ resourceGroup: 'images', name: 'img' });
      f.inject({ kind: 'hang', service: 'arm', count: 100 });
      const run = await runAction(f, { 'image-id': image.id, 'wait-timeout-minutes': '1', ...fakeInputs(f) });
      expectRunError(run, 'deadline');
      expect(run.report?.error?.message).toContain('wait-timeout-minutes: 1');
      expect(run.report?.timings.totalSeconds).toBeLessThan(90);
    },
  );
});

function reportPath(name: string): string {
  return resolve(import.meta.dirname, `../../.tmp/${name}-report.json`);
}
