import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runSysprepCheckCommand } from '../../src/check/command.ts';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/facts/${name}.json`, import.meta.url));

async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runSysprepCheckCommand(argv, {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    env,
    now: () => new Date('2026-11-26T12:00:00Z'),
  });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

describe('w365-image sysprep-check', () => {
  it('exits 0 and prints the table for a clean VM', async () => {
    const { code, stdout } = await run(['--facts', fixture('clean-win11-25h2')]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^PASS\s+vm\.edition\s+\(R1\)\s+EditionID is Enterprise\./m);
    expect(stdout).toContain('from VM pkrvm3x7k1q9d2');
    expect(stdout).toMatch(/Sysprep check passed \(18 pass, 1 skip\)\.$/);
  });

  it('is called the way the Packer hook calls it: <command> --facts <path>, path in its own argument', async () => {
    const { code } = await run(['--teams', 'true', '--facts', fixture('clean-win11-25h2')]);
    expect(code).toBe(0);
  });

  it('exits 1 on a failing VM and prints the failure, its fix and the error it prevents', async () => {
    const { code, stdout } = await run([`--facts=${fixture('bitlocker-on')}`]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/^FAIL!\s+vm\.bitlocker-off\s+\(R3\)\s+C: \(OperatingSystem\) is FullyEncrypted/m);
    expect(stdout).toContain('Prevents: sysprep 0x80310039.');
    expect(stdout).toMatch(/FAILED \(.*\): vm\.bitlocker-off\./);
  });

  it('exits 1 when an error rule cannot be verified', async () => {
    const { code, stdout } = await run(['--facts', fixture('bitlocker-section-error')]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/^UNVERIFIED!\s+vm\.bitlocker-off/m);
  });

  it('--teams true checks the Teams components', async () => {
    expect((await run(['--facts', fixture('teams-missing')])).code).toBe(0);
    const teams = await run(['--facts', fixture('teams-missing'), '--teams', 'true']);
    expect(teams.code).toBe(1);
    expect(teams.stdout).toContain('vm.teams-components');
  });

  it('--phase post-capture expects a generalized image state', async () => {
    const { code, stdout } = await run(['--facts', fixture('clean-win11-25h2'), '--phase', 'post-capture']);
    expect(code).toBe(1);
    expect(stdout).toContain('expected IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE post-capture');
  });

  it('--json prints the results as JSON', async () => {
    const { code, stdout } = await run(['--facts', fixture('appx-per-user'), '--json']);
    expect(code).toBe(1);
    const parsed = JSON.parse(stdout) as {
      passed: boolean;
      phase: string;
      checks: { id: string; status: string; detail: string; errorCode: string | null; severity: string }[];
    };
    expect(parsed.passed).toBe(false);
    expect(parsed.phase).toBe('pre-sysprep');
    const appx = parsed.checks.find((c) => c.id === 'vm.appx-provisioned');
    expect(appx).toMatchObject({ status: 'fail', errorCode: 'sysprep 0x80073cf2', severity: 'error' });
    expect(appx?.detail).toContain('Microsoft.WidgetsPlatformRuntime');
    expect(appx?.detail).toContain('PKRVM3X7K1Q9D2\\packer');
  });

  it('takes the facts path from W365_FACTS_PATH (the hook also sets it)', async () => {
    expect((await run([], { W365_FACTS_PATH: fixture('clean-win11-25h2') })).code).toBe(0);
  });

  it('--help prints the usage and exits 0', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: w365-image sysprep-check --facts FILE');
  });

  it.each([
    [[], '--facts FILE is required'],
    [['--facts'], '--facts needs a value'],
    [['--facts', 'a.json', '--teams', 'yes'], '--teams must be true or false'],
    [['--facts', 'a.json', '--phase', 'after'], '--phase must be pre-sysprep or post-capture'],
    [['--facts', 'a.json', '--bogus'], "Unexpected argument '--bogus'"],
    [['--facts', 'a.json', '--facts', 'b.json'], '--facts is given twice'],
  ])('usage error %j exits 2', async (argv, message) => {
    const { code, stderr } = await run(argv);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
  });

  it('exits 2 with the reason for an unknown schemaVersion or a missing file', async () => {
    const unknown = await run(['--facts', fixture('unknown-schema-version')]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('error [facts-schema-version]');
    const missing = await run(['--facts', fixture('nope')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('error [facts-unreadable]');
  });
});
