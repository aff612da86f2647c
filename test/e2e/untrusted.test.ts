import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeGitHub, TOKEN, type FakeGitHub } from '../../fake-cloud/github-api.ts';
import type { FakeCloud } from '../../fake-cloud/index.ts';
import { creates, DIST, fakeInputs, runAction, SCALE, spawnNode, useFakeCloud } from './harness.ts';

const cloud = useFakeCloud();

const JWT = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/;
/** stdout without the masking commands, whose whole point is to carry the secret to the runner. */
const published = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n');
/** The lines the runner would run as workflow commands. */
const commands = (stdout: string) => stdout.split(/\r\n|\r|\n/).filter((l) => /^\s*::[a-z-]+/i.test(l));
const azure = (f: FakeCloud) => f.requests.filter((r) => r.service === 'arm' || r.service === 'graph');

describe('text from the cloud cannot forge workflow commands', () => {
  it('policy names with ::error and ::add-mask:: stay text; the whole unresolved-policies error reaches the annotation', async () => {
    const f = await cloud();
    const image = f.addManagedImage({ resourceGroup: 'images', name: 'win11-cpc' });
    f.addProvisioningPolicy({
      displayName: 'Eng\n::error title=Forged::owned by a policy name\n::add-mask::Device',
      imageId: 'MicrosoftWindowsDesktop_windows-ent-cpc_win11-25h2-ent-cpc',
      imageType: 'gallery',
    });
    const run = await runAction(
      f,
      { 'image-id': image.id, 'provisioning-policies': 'Missing Policy', ...fakeInputs(f) },
      { timeScale: SCALE },
    );
    expect(run.code).toBe(1);
    expect(run.report?.error?.kind).toBe('policy-refs');
    const issued = commands(run.stdout);
    expect(issued.some((l) => /^\s*::error title=Forged/.test(l))).toBe(false);
    expect(issued).not.toContain('::add-mask::Device');
    // The name itself is still shown, as text.
    expect(run.stdout.replaceAll('\u200b', '')).toContain('::error title=Forged::owned by a policy name');
    // One error annotation carries every line of the message, newlines escaped as %0A.
    const failure = issued.filter((l) => l.startsWith('::error::'));
    expect(failure).toHaveLength(1);
    expect(failure[0]).toContain('no policy was changed:%0A');
    expect(failure[0]).toContain('Missing Policy');
    expect(failure[0]).toContain('List each policy by its ID or exact display name');
    expect(creates(f)).toHaveLength(0);
  });
});

describe('secrets an endpoint echoes never reach what we publish', () => {
  it('a token endpoint that echoes the client assertion: no token in the report, summary, outputs or log', async () => {
    const f = await cloud();
    const image = f.addManagedImage({ resourceGroup: 'images', name: 'win11-cpc' });
    f.inject({ service: 'entra', method: 'POST', path: '/oauth2/v2.0/token', kind: 'echo', count: 50 });
    const run = await runAction(f, { 'image-id': image.id, ...fakeInputs(f) }, { timeScale: SCALE });
    expect(run.code).toBe(1);
    // The echo happened and its text reached the report, with the assertion replaced.
    expect(f.requests.some((r) => r.injected === 'echo')).toBe(true);
    const reportText = JSON.stringify(run.report);
    expect(reportText).toContain('client_assertion=***');
    expect(reportText).not.toMatch(JWT);
    expect(run.summary).not.toMatch(JWT);
    expect(JSON.stringify(run.outputs)).not.toMatch(JWT);
    expect(published(run.stdout)).not.toMatch(JWT);
    expect(run.stderr).not.toMatch(JWT);
    expect(run.stdout).not.toMatch(/\n\s+at /);
  });

  it('the CLI prints no echoed token either', async () => {
    const f = await cloud();
    const image = f.addManagedImage({ resourceGroup: 'images', name: 'win11-cpc' });
    f.inject({ service: 'entra', method: 'POST', path: '/oauth2/v2.0/token', kind: 'echo', count: 50 });
    const dir = await mkdtemp(join(tmpdir(), 'w365-cli-'));
    const inputs = fakeInputs(f);
    const args = [DIST, '--image-id', image.id, '--report-path', join(dir, 'report.json')];
    for (const [name, value] of Object.entries(inputs)) args.push(`--${name}`, value);
    const run = await spawnNode(args, {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_EXTRA_CA_CERTS: f.caFile,
      ACTIONS_ID_TOKEN_REQUEST_URL: f.oidcRequestUrl,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: f.oidcRequestToken,
    });
    expect(run.code).toBe(1);
    expect(f.counters.idTokens).toBeGreaterThan(0);
    expect(run.stdout + run.stderr).toContain('client_assertion=***');
    expect(run.stdout + run.stderr).not.toMatch(JWT);
    expect(run.stdout + run.stderr).not.toContain(f.oidcRequestToken);
  });
});

describe('the pull request comment', () => {
  let github: FakeGitHub | undefined;
  afterEach(async () => {
    await github?.close();
    github = undefined;
  });

  it('carries no token an echoing token endpoint put into the error', async () => {
    const f = await cloud();
    github = await startFakeGitHub('octo', 'images');
    const image = f.addManagedImage({ resourceGroup: 'images', name: 'pr-7' });
    f.inject({ service: 'entra', method: 'POST', path: '/oauth2/v2.0/token', kind: 'echo', count: 50 });
    const event = join(await mkdtemp(join(tmpdir(), 'w365-event-')), 'event.json');
    await writeFile(event, JSON.stringify({ pull_request: { number: 7 } }));
    const run = await runAction(
      f,
      { 'image-id': image.id, 'github-token': TOKEN, ...fakeInputs(f) },
      {
        timeScale: SCALE,
        env: {
          GITHUB_EVENT_NAME: 'pull_request',
          GITHUB_EVENT_PATH: event,
          GITHUB_REPOSITORY: 'octo/images',
          GITHUB_API_URL: github.url,
        },
      },
    );
    expect(run.code).toBe(1);
    expect(github.comments).toHaveLength(1);
    const body = github.comments[0]?.body ?? '';
    expect(body).toContain('client_assertion=***');
    expect(body).not.toMatch(JWT);
  });
});

describe('report-path is checked before the first change', () => {
  const badPaths: [string, (dir: string) => Promise<string>, RegExp][] = [
    ['a folder', async (dir) => dir, /is a folder/],
    [
      'a file as its parent',
      async (dir) => {
        await writeFile(join(dir, 'file'), 'x');
        return join(dir, 'file', 'report.json');
      },
      /is a file, not a folder/,
    ],
    ['a path under /proc', async () => '/proc/self/w365-image-report.json', /kernel filesystem/],
    [
      'a FIFO (a writer would wait for a reader for ever)',
      async (dir) => {
        execFileSync('mkfifo', [join(dir, 'fifo.json')]);
        return join(dir, 'fifo.json');
      },
      /not a regular file/,
    ],
  ];

  it.each(badPaths)(
    '%s: the step fails at once, naming report-path, with no request to Azure',
    async (_, make, why) => {
      const f = await cloud();
      const image = f.addManagedImage({ resourceGroup: 'images', name: 'win11-cpc' });
      const dir = await mkdtemp(join(tmpdir(), 'w365-report-'));
      const run = await runAction(
        f,
        { 'image-id': image.id, 'report-path': await make(dir), ...fakeInputs(f) },
        { timeScale: SCALE },
      );
      expect(run.code).toBe(1);
      const failure = commands(run.stdout).find((l) => l.startsWith('::error::')) ?? '';
      expect(failure).toContain("Input 'report-path'");
      expect(failure).toMatch(why);
      expect(azure(f)).toHaveLength(0);
      expect(run.stdout).not.toMatch(/\n\s+at /);
    },
  );

  it('a report that still cannot be written at the end: outputs and summary are written, the step says what is missing', async () => {
    const f = await cloud();
    const image = f.addManagedImage({ resourceGroup: 'images', name: 'win11-cpc' });
    const dir = join(await mkdtemp(join(tmpdir(), 'w365-report-')), 'reports');
    await mkdir(dir);
    const running = runAction(
      f,
      { 'image-id': image.id, 'report-path': join(dir, 'report.json'), ...fakeInputs(f) },
      { timeScale: SCALE },
    );
    // Once the upload has started, a file takes the report folder's place.
    for (let i = 0; creates(f).length === 0 && i < 4_000; i++) await new Promise((r) => setTimeout(r, 5));
    expect(creates(f)).toHaveLength(1);
    await rm(dir, { recursive: true });
    await writeFile(dir, 'not a folder');
    const run = await running;
    expect(run.code).toBe(1);
    expect(run.outputs.status).toBe('ready');
    expect(run.outputs['device-image-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(run.outputs['report-path']).toBe('');
    expect(run.summary).toContain('Registered: ready in Windows 365');
    expect(run.summary).toContain('Could not write the JSON report');
    const failure = commands(run.stdout).find((l) => l.startsWith('::error::')) ?? '';
    expect(failure).toContain(`Could not write the JSON report to ${join(dir, 'report.json')}`);
    expect(run.stdout).not.toMatch(/\n\s+at /);
  });
});

describe('oversized inputs', () => {
  it('a 120 KB display-name never reaches Graph and is not echoed whole', async () => {
    const f = await cloud();
    const image = f.addManagedImage({ resourceGroup: 'images', name: 'win11-cpc' });
    const run = await runAction(
      f,
      { 'image-id': image.id, 'display-name': 'N'.repeat(120_000), ...fakeInputs(f) },
      { timeScale: SCALE },
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("Input 'display-name': is 120000 characters long");
    expect(run.stdout.length).toBeLessThan(2_000);
    expect(azure(f)).toHaveLength(0);
  });
});

describe('numeric inputs through dist', () => {
  it('wait-timeout-minutes 0x10, 1e-300 and 0.00001 are refused before any request', async () => {
    const f = await cloud();
    const image = f.addManagedImage({ resourceGroup: 'images', name: 'win11-cpc' });
    for (const value of ['0x10', '1e-300', '0.00001']) {
      const run = await runAction(
        f,
        { 'image-id': image.id, 'wait-timeout-minutes': value, ...fakeInputs(f) },
        { timeScale: SCALE },
      );
      expect(run.code).toBe(1);
      expect(run.stdout).toContain(
        `::error::Input 'wait-timeout-minutes': '${value}' is not a plain decimal number of minutes from 1 to 10080.`,
      );
    }
    expect(azure(f)).toHaveLength(0);
  });
});

describe('the sysprep-check hook through dist and the fake packer', () => {
  const FAKE_PACKER = resolve(import.meta.dirname, '../fixtures/packer');
  const FACTS = resolve(import.meta.dirname, '../fixtures/facts');
  const ROOT = resolve(import.meta.dirname, '../..');
  // In a shell string the quote would end the quoting and these would print SHELL-42 and TICK-42.
  const HOSTILE = `it's "q" $(echo SHELL-$((6*7))) \`echo TICK-$((6*7))\``;

  async function buildRun(facts: string, hostile: boolean) {
    const f = await cloud();
    const image = f.addManagedImage({ resourceGroup: 'cloudpc-images', name: 'win11-cpc-17' });
    const base = await mkdtemp(join(tmpdir(), 'w365-hostile-'));
    const runnerTemp = join(base, hostile ? `temp ${HOSTILE}` : 'temp');
    const actionRoot = join(base, hostile ? `action ${HOSTILE}` : 'action');
    await mkdir(runnerTemp);
    await mkdir(actionRoot, { recursive: true });
    await cp(dirname(DIST), join(actionRoot, 'dist'), { recursive: true });
    await cp(join(ROOT, 'packer'), join(actionRoot, 'packer'), { recursive: true });
    const run = await runAction(
      f,
      {
        ...fakeInputs(f),
        'subscription-id': f.subscriptionId,
        build: 'true',
        'packer-vars':
          'managed_image_name=win11-cpc-17\nmanaged_image_resource_group_name=cloudpc-images\nlocation=westeurope',
        register: 'false',
      },
      {
        timeScale: SCALE,
        entry: join(actionRoot, 'dist', 'index.js'),
        env: {
          PATH: `${FAKE_PACKER}${delimiter}${process.env.PATH}`,
          FAKE_PACKER_FACTS: resolve(FACTS, facts),
          RUNNER_TEMP: runnerTemp,
        },
      },
    );
    return { run, image, runnerTemp };
  }

  it('a quote and $(...) in RUNNER_TEMP and in the action path stay text: the hook checks the real facts', async () => {
    const { run, image, runnerTemp } = await buildRun('clean-win11-25h2.json', true);
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs.status).toBe('validated');
    expect(run.outputs['image-id']).toBe(image.id);
    // The hook ran inside Packer, on the facts file under the hostile RUNNER_TEMP.
    expect(run.stdout).toContain(`Sysprep check (pre-sysprep) of ${join(runnerTemp, 'w365-image-packer')}`);
    expect(run.stdout).toContain('Sysprep check passed');
    expect(run.stdout + run.stderr).not.toMatch(/SHELL-42|TICK-42/);
  });

  it('facts nested 5,000 deep stop the build through the hook with facts-too-deep, no stack', async () => {
    const base = await mkdtemp(join(tmpdir(), 'w365-deep-'));
    const deep = join(base, 'deep.json');
    await writeFile(deep, `{"schemaVersion":1,"os":${'['.repeat(5_000)}${']'.repeat(5_000)}}`);
    const { run } = await buildRun(deep, false);
    expect(run.code).toBe(1);
    expect(run.report?.build?.error).toBe('build-failed');
    expect(run.stdout).toContain('error [facts-too-deep]');
    expect(run.stdout + run.stderr).not.toMatch(/RangeError|\n\s+at /);
  });
});
