import { access, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BuildError, runBuild, type BuildOptions } from '../../src/imageBuild/packerBuild.ts';
import type { Log } from '../../src/util/log.ts';

const FAKE_DIR = fileURLToPath(new URL('../fixtures/packer', import.meta.url));
const TEMPLATE_DIR = fileURLToPath(new URL('../../packer', import.meta.url));
const facts = (name: string) => fileURLToPath(new URL(`../fixtures/facts/${name}.json`, import.meta.url));
const SUBSCRIPTION = '8c3f2a71-5d4e-4b6a-9f10-2e7d5c9b1a04';

interface RecordingLog extends Log {
  lines: string[];
  groups: string[];
  masked: string[];
}

function recordingLog(): RecordingLog {
  const lines: string[] = [];
  const groups: string[] = [];
  const masked: string[] = [];
  return {
    lines,
    groups,
    masked,
    info: (m) => lines.push(m),
    warning: (m) => lines.push(`warning: ${m}`),
    error: (m) => lines.push(`error: ${m}`),
    debug: () => {},
    group: async (title, fn) => {
      groups.push(title);
      return fn();
    },
    mask: (s) => masked.push(s),
  };
}

let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'w365-build-'));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

function options(
  extra: Partial<BuildOptions> & { fake?: NodeJS.ProcessEnv } = {},
): BuildOptions & { log: RecordingLog } {
  const { fake, ...rest } = extra;
  const log = recordingLog();
  return {
    mode: 'build',
    templateDir: TEMPLATE_DIR,
    cwd: work,
    packerVars: [
      `managed_image_name=w365-win11-25h2-20261126-1`,
      'managed_image_resource_group_name=rg-w365-images',
      'location=westeurope',
    ].join('\n'),
    action: {
      subscriptionId: SUBSCRIPTION,
      tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
      clientId: '5b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3',
      auth: 'oidc',
      templateVersion: '0.1.0',
    },
    env: {
      PATH: [FAKE_DIR, dirname(process.execPath), '/usr/bin', '/bin'].join(':'),
      HOME: work,
      ACTIONS_ID_TOKEN_REQUEST_URL:
        'https://pipelines.actions.githubusercontent.com/abc/idtoken?api-version=2.0',
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'secret-request-token-value',
      GITHUB_SHA: '4f1c9e2b7a6d3c58e0b1f2a9d8c7e6b5a4f3e2d1',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: 'contoso/cloudpc-images',
      GITHUB_RUN_ID: '19473628110',
      FAKE_PACKER_FACTS: facts('clean-win11-25h2'),
      FAKE_PACKER_ARGS_LOG: join(work, 'args.log'),
      FAKE_PACKER_MARKER: join(work, 'marker.log'),
      ...fake,
    },
    killGraceMs: 2_000,
    ...rest,
    log,
  } as BuildOptions & { log: RecordingLog };
}

async function fails(run: Promise<unknown>): Promise<BuildError> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BuildError);
  return error as BuildError;
}

async function calls(): Promise<string[][]> {
  const text = await readFile(join(work, 'args.log'), 'utf8');
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as string[]);
}

describe('runBuild against a fake Packer', () => {
  it('builds and returns the managed image ID, the facts path and the provenance', async () => {
    const o = options();
    const result = await runBuild(o);
    expect(result.mode).toBe('build');
    expect(result.imageId).toBe(
      `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-w365-images/providers/Microsoft.Compute/images/w365-win11-25h2-20261126-1`,
    );
    expect(result.factsPath).toBe(join(work, 'output', 'w365-facts.json'));
    expect(result.manifestPath).toBe(join(work, 'output', 'packer-manifest.json'));
    expect(result.packerVersion).toBe('1.14.2');
    expect(result.provenance).toMatchObject({
      'w365-git-commit': '4f1c9e2b7a6d3c58e0b1f2a9d8c7e6b5a4f3e2d1',
      'w365-run-url': 'https://github.com/contoso/cloudpc-images/actions/runs/19473628110',
      'w365-template-version': '0.1.0',
    });
    expect(result.steps.map((s) => s.command)).toEqual([
      'packer version',
      'packer init',
      'packer validate',
      'packer build',
    ]);
    expect(result.outputTail.at(-1)).toBe('ManagedImageLocation: westeurope');
    expect(o.log.lines).toContain("Build 'w365-image.azure-arm.cloudpc' finished after 1 seconds.");
    expect(o.log.groups.map((g) => g.split(' ').slice(0, 2).join(' '))).toEqual([
      'packer version',
      'packer init',
      'packer validate',
      'packer build',
    ]);
  });

  it('passes the variables in order (var files, packer-vars, then the action) and keeps the OIDC token off the command line', async () => {
    const varFile = join(work, 'my.pkrvars.hcl');
    await writeFile(varFile, 'vm_size = "Standard_D8s_v5"\n');
    const o = options({ varFiles: [varFile], machineReadable: true });
    await runBuild(o);
    const build = (await calls()).find((c) => c[0] === 'build') ?? [];
    expect(build.slice(0, 4)).toEqual(['build', '-color=false', '-machine-readable', `-var-file=${varFile}`]);
    const vars = build.filter((_, i) => build[i - 1] === '-var');
    expect(vars).toEqual([
      'managed_image_name=w365-win11-25h2-20261126-1',
      'managed_image_resource_group_name=rg-w365-images',
      'location=westeurope',
      `subscription_id=${SUBSCRIPTION}`,
      'tenant_id=72f988bf-86f1-41af-91ab-2d7cd011db47',
      'client_id=5b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3',
      'oidc_request_url=https://pipelines.actions.githubusercontent.com/abc/idtoken?api-version=2.0',
      'template_version=0.1.0',
      'git_commit=4f1c9e2b7a6d3c58e0b1f2a9d8c7e6b5a4f3e2d1',
      'run_url=https://github.com/contoso/cloudpc-images/actions/runs/19473628110',
      `output_directory=${join(work, 'output')}`,
      'manifest_file_name=packer-manifest.json',
      'facts_file_name=w365-facts.json',
    ]);
    expect(build.at(-1)).toBe(TEMPLATE_DIR);
    expect(JSON.stringify(await calls())).not.toContain('secret-request-token-value');
    expect(o.log.lines.join('\n')).not.toContain('secret-request-token-value');
    expect(o.log.groups.join('\n')).not.toContain('secret-request-token-value');
    expect(o.log.masked).toContain('secret-request-token-value');
  });

  it('runs the sysprep-check hook before capture; a failing check fails the build with the check in the output', async () => {
    const hook = [process.execPath, join(FAKE_DIR, 'sysprep-check.mjs')];
    const ok = await runBuild(options({ action: { ...options().action, sysprepCheckArgv: hook } }));
    expect(ok.imageId).toBeDefined();
    const o = options({
      action: { ...options().action, sysprepCheckArgv: hook },
      fake: { FAKE_PACKER_FACTS: facts('bitlocker-on') },
    });
    const error = await fails(runBuild(o));
    expect(error.code).toBe('build-failed');
    expect(error.message).toContain('Erroneous exit code 1 while executing local shell script');
    expect(o.log.lines.some((l) => /FAIL!\s+vm\.bitlocker-off/.test(l))).toBe(true);
  });

  it('hands the hook its command and the facts path as arguments: quotes and $(...) in the paths stay text', async () => {
    // Were the paths spliced into `sh -c`, the quote would end the quoting and the shell would print SHELL-42.
    const hostile = join(work, `it's "q" $(echo SHELL-$((6*7))) \`echo TICK-$((6*7))\``);
    await mkdir(hostile);
    await symlink(FAKE_DIR, join(hostile, 'fixtures'));
    const hook = [process.execPath, join(hostile, 'fixtures', 'sysprep-check.mjs')];
    const o = options({
      outputDirectory: join(hostile, 'output'),
      action: { ...options().action, sysprepCheckArgv: hook },
      fake: { FAKE_PACKER_FACTS: facts('bitlocker-on') },
    });
    const error = await fails(runBuild(o));
    expect(error.code).toBe('build-failed');
    // The hook read the downloaded facts at their real path and refused the VM.
    expect(o.log.lines.some((l) => /FAIL!\s+vm\.bitlocker-off/.test(l))).toBe(true);
    expect(o.log.lines.join('\n')).toContain(join(hostile, 'output', 'w365-facts.json'));
    expect(o.log.lines.join('\n')).not.toMatch(/SHELL-42|TICK-42/);
    const build = (await calls()).find((c) => c[0] === 'build') ?? [];
    expect(build).toContain(
      `sysprep_check_command=${JSON.stringify(hook).replaceAll('${', '$${').replaceAll(',', ', ')}`,
    );
  });

  it('refuses a path with {{ (Packer would read it as a template expression) before running Packer', async () => {
    const o = options({
      outputDirectory: join(work, 'a{{ .Vars }}b'),
      action: { ...options().action, sysprepCheckArgv: [process.execPath, 'hook.mjs'] },
    });
    const error = await fails(runBuild(o));
    expect(error.code).toBe('unsafe-path');
    expect(error.message).toContain("contains '{{'");
    await expect(access(join(work, 'args.log'))).rejects.toThrow();
  });

  it('an output folder that cannot be created stops before packer build, not after the capture', async () => {
    await writeFile(join(work, 'taken'), 'a file where the output folder should be');
    const o = options({ outputDirectory: join(work, 'taken', 'output') });
    const error = await fails(runBuild(o));
    expect(error.code).toBe('output-unwritable');
    expect(error.message).toContain('Nothing was built');
    expect((await calls()).map((c) => c[0])).not.toContain('build');
  });

  it('validate mode runs init, fmt -check and validate only, without OIDC', async () => {
    const o = options({
      mode: 'validate',
      env: {
        ...options().env,
        ACTIONS_ID_TOKEN_REQUEST_URL: undefined,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: undefined,
      },
    });
    const result = await runBuild(o);
    expect(result).toMatchObject({ mode: 'validate', packerVersion: '1.14.2' });
    expect(result.imageId).toBeUndefined();
    expect((await calls()).map((c) => c.slice(0, 2).join(' '))).toEqual([
      'version',
      `init ${TEMPLATE_DIR}`,
      'fmt -check',
      'validate -var',
    ]);
  });

  it.each([
    ['init-error', 'init-failed', '403 rate limit exceeded'],
    ['validate-error', 'validate-failed', 'source.pkr.hcl line 23:'],
    ['build-error', 'build-failed', 'Script exited with non-zero exit status: 1'],
    ['no-manifest', 'manifest-missing', 'wrote no manifest'],
  ])('%s -> BuildError %s with Packer’s text', async (mode, code, text) => {
    const error = await fails(runBuild(options({ fake: { FAKE_PACKER_MODE: mode } })));
    expect(error.code).toBe(code);
    expect(error.message).toContain(text);
    if (mode !== 'no-manifest') expect(error.outputTail.join('\n')).toContain(text);
  });

  it('a validate error names the file, the line and the problem', async () => {
    const error = await fails(runBuild(options({ fake: { FAKE_PACKER_MODE: 'validate-error' } })));
    expect(error.message).toContain('Error: Unsupported argument');
    expect(error.message).toContain('Did you mean "vm_size"?');
  });

  it('fmt -check failure in validate mode -> fmt-failed naming the file', async () => {
    const error = await fails(
      runBuild(options({ mode: 'validate', fake: { FAKE_PACKER_MODE: 'fmt-error' } })),
    );
    expect(error.code).toBe('fmt-failed');
    expect(error.message).toContain('build.pkr.hcl');
  });

  it('a missing facts file after a successful build -> facts-missing, with the image ID kept', async () => {
    const error = await fails(runBuild(options({ fake: { FAKE_PACKER_FACTS: '' } })));
    expect(error.code).toBe('facts-missing');
    expect(error.imageId).toContain('/providers/Microsoft.Compute/images/w365-win11-25h2-20261126-1');
  });

  it('cancellation sends SIGINT, lets Packer clean up, and reports cancelled', async () => {
    const controller = new AbortController();
    const o = options({ signal: controller.signal, fake: { FAKE_PACKER_MODE: 'hang' } });
    const running = runBuild(o);
    await waitFor(async () => (await readMarker()).includes('waiting'));
    controller.abort();
    const error = await fails(running);
    expect(error.code).toBe('cancelled');
    expect(await readMarker()).toContain('SIGINT');
    expect(error.outputTail).toContain('Cleanly cancelled builds after being interrupted.');
    expect(error.message).toContain('started deleting its temporary resource group');
  });

  it('a timeout interrupts Packer with SIGINT and reports timeout', async () => {
    const o = options({ timeoutMs: 1_500, fake: { FAKE_PACKER_MODE: 'hang' } });
    const error = await fails(runBuild(o));
    expect(error.code).toBe('timeout');
    expect(await readMarker()).toContain('SIGINT');
    expect(error.outputTail.join('\n')).toContain('Deleting resource group ...');
  });

  it('a Packer that ignores SIGINT is killed after the grace period', async () => {
    const started = Date.now();
    const o = options({
      timeoutMs: 1_500,
      killGraceMs: 500,
      fake: { FAKE_PACKER_MODE: 'hang-ignore-sigint' },
    });
    const error = await fails(runBuild(o));
    expect(error.code).toBe('timeout');
    expect(error.message).toContain('killed: check Azure for leftover resources');
    expect(await readMarker()).toContain('SIGINT ignored');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('an already-cancelled job does not start Packer', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await fails(runBuild(options({ signal: controller.signal })));
    expect(error.code).toBe('cancelled');
  });

  it('no packer on PATH -> packer-missing with the setup-packer hint', async () => {
    const o = options({ env: { ...options().env, PATH: work } });
    const error = await fails(runBuild(o));
    expect(error.code).toBe('packer-missing');
    expect(error.message).toContain('hashicorp/setup-packer@v3');
    expect(error.message).toContain('1.14');
  });

  it('OIDC without the runner token endpoint fails before Packer runs', async () => {
    const env = { ...options().env, ACTIONS_ID_TOKEN_REQUEST_TOKEN: undefined };
    const error = await fails(runBuild(options({ env })));
    expect(error.code).toBe('oidc-unavailable');
    expect(error.message).toContain('id-token: write');
  });

  it('a malformed packer-vars line fails before Packer runs', async () => {
    const error = await fails(runBuild(options({ packerVars: 'vm_size=Standard_D4s_v5\nthis is wrong' })));
    expect(error.code).toBe('packer-vars-invalid');
    expect(error.message).toContain('line 2');
  });
});

async function readMarker(): Promise<string> {
  return readFile(join(work, 'marker.log'), 'utf8').catch(() => '');
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
