import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runSysprepCheckCommand } from '../../src/commands/sysprepCheck.ts';

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

  it('an unexpected failure is one error line and exit 2, never a stack', async () => {
    const err: string[] = [];
    const code = await runSysprepCheckCommand(['--facts', fixture('clean-win11-25h2')], {
      stdout: () => {},
      stderr: (t) => err.push(t),
      env: {},
      now: () => {
        throw new TypeError('clock unavailable');
      },
    });
    expect(code).toBe(2);
    expect(err.join('\n')).toBe('error: the sysprep check could not run: clock unavailable');
  });

  describe('facts files no collector would write', () => {
    const write = async (text: string) => {
      const file = join(await mkdtemp(join(tmpdir(), 'w365-facts-')), 'w365-facts.json');
      await writeFile(file, text);
      return file;
    };
    const noStack = (text: string) => {
      expect(text).not.toMatch(/RangeError|\n\s+at /);
    };

    it('nested 5,000 deep: exit 2 with facts-too-deep, no RangeError', async () => {
      const clean = JSON.parse(await readFile(fixture('clean-win11-25h2'), 'utf8')) as Record<
        string,
        unknown
      >;
      const text = JSON.stringify({ ...clean, extra: 0 }).replace(
        '"extra":0',
        `"extra":${'['.repeat(5_000)}${']'.repeat(5_000)}`,
      );
      const result = await run(['--facts', await write(text)]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('error [facts-too-deep]');
      expect(result.stderr).toContain('more than 32 levels deep');
      noStack(result.stderr);
    });

    it('a 20 MB value: exit 2 with facts-too-large, the value never echoed', async () => {
      const big = 'Z'.repeat(20 * 1024 * 1024);
      const result = await run(['--facts', await write(`{"schemaVersion":1,"computerName":"${big}"}`)]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('error [facts-too-large]');
      expect(result.stderr.length).toBeLessThan(1_000);
      noStack(result.stderr);
    });

    it('a 1 MB string under the size limit makes its section unreadable and is quoted by 40 characters', async () => {
      const clean = JSON.parse(await readFile(fixture('clean-win11-25h2'), 'utf8')) as {
        os: Record<string, unknown>;
      };
      clean.os.editionId = 'E'.repeat(1024 * 1024);
      const result = await run(['--facts', await write(JSON.stringify(clean))]);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/UNVERIFIED!?\s+vm\.edition/);
      expect(result.stdout).toContain(`"${'E'.repeat(40)}"… (1048576 characters)`);
      expect(result.stdout.length).toBeLessThan(20_000);
    });

    it('values from the VM cannot print a workflow command, in the table or the JSON', async () => {
      const clean = JSON.parse(await readFile(fixture('clean-win11-25h2'), 'utf8')) as Record<
        string,
        unknown
      >;
      clean.computerName = 'pkrvm\n::error title=Forged::x\n::add-mask::Device ##[warning]v1';
      const file = await write(JSON.stringify(clean));
      for (const args of [
        ['--facts', file],
        ['--facts', file, '--json'],
      ]) {
        const result = await run(args);
        expect(result.stdout).toContain('pkrvm');
        const lines = result.stdout.split('\n');
        expect(lines.some((l) => /^\s*::(error|add-mask)/.test(l) || l.includes('##[warning]'))).toBe(false);
      }
    });

    it('a huge schemaVersion string is quoted by its start only', async () => {
      const result = await run(['--facts', await write(`{"schemaVersion":"${'9'.repeat(100_000)}"}`)]);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('error [facts-schema-version]');
      expect(result.stderr.length).toBeLessThan(1_000);
    });
  });
});
