import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { blocks, runSysprepCheck } from '../../src/check/check.ts';
import { FactsError, parseFacts, readFacts } from '../../src/check/facts.ts';
import { SYSPREP_RULES, type RuleContext, type SysprepRule } from '../../src/check/rules.ts';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/facts/${name}.json`, import.meta.url));
const NOW = new Date('2026-11-26T12:00:00Z');
const context = (extra: Partial<RuleContext> = {}): RuleContext => ({
  phase: 'pre-sysprep',
  teamsRequested: false,
  now: NOW,
  ...extra,
});

async function check(name: string, extra: Partial<RuleContext> = {}) {
  return runSysprepCheck(await readFacts(fixture(name)), context(extra));
}

async function cleanDocument(): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(fixture('clean-win11-25h2'), 'utf8')) as Record<string, unknown>;
}

describe('sysprep-check on a clean Windows 11 25H2 Cloud PC build', () => {
  it('passes every rule (Teams included when requested)', async () => {
    const result = await check('clean-win11-25h2', { teamsRequested: true });
    expect(result.checks.map((c) => [c.id, c.status])).toEqual(SYSPREP_RULES.map((r) => [r.id, 'pass']));
    expect(result.passed).toBe(true);
  });

  it('only warns about servicing that settles by itself (file renames, a busy TiWorker)', async () => {
    const doc = await cleanDocument();
    Object.assign(doc.pendingReboot as object, {
      pendingFileRenameOperations: true,
      pendingFileRenameOperationsCount: 2,
      tiWorkerRunning: true,
    });
    const result = runSysprepCheck(parseFacts(JSON.stringify(doc), 'settling.json'), context());
    const rule = result.checks.find((c) => c.id === 'vm.no-pending-reboot');
    expect(rule?.status).toBe('warn');
    expect(rule?.detail).toContain('2 PendingFileRenameOperations entries');
    expect(result.passed).toBe(true);
  });

  it('skips the Teams rule when Teams was not requested, and still passes', async () => {
    const result = await check('clean-win11-25h2');
    expect(result.checks.find((c) => c.id === 'vm.teams-components')?.status).toBe('skip');
    expect(result.passed).toBe(true);
  });

  it("notes that the Azure provisioning answer file with the VM's name is deleted before sysprep", async () => {
    const result = await check('clean-win11-25h2');
    expect(result.checks.find((c) => c.id === 'vm.computer-name-customizable')?.detail).toContain(
      'C:\\Windows\\Panther\\Unattend.xml (ComputerName pkrvm3x7k1q9d2)',
    );
  });
});

const FAILING: [fixture: string, rule: string, named: string[], extra?: Partial<RuleContext>][] = [
  ['entra-joined', 'vm.not-joined', ['AzureAdJoined : YES']],
  [
    'domain-joined',
    'vm.not-joined',
    ['DomainJoined : YES', 'PartOfDomain is True (domain corp.contoso.com)'],
  ],
  [
    'intune-enrolled',
    'vm.no-mdm-enrollment',
    ["ProviderID 'MS DM Server' (Intune)", 'imagebuilder@contoso.com'],
  ],
  ['configmgr-client', 'vm.no-configmgr', ['CcmExec is present (Running)', 'HKLM\\SOFTWARE\\Microsoft\\CCM']],
  [
    'recovery-partition',
    'vm.no-recovery-partition',
    ['disk 0 partition 4 (Recovery, {de94bba4-06d1-4d40-a16a-bfd50179d6ac}, 750 MB'],
  ],
  [
    'bitlocker-on',
    'vm.bitlocker-off',
    ['C: (OperatingSystem) is FullyEncrypted', 'protection On', 'XtsAes128'],
  ],
  ['pending-reboot', 'vm.no-pending-reboot', ['RebootPending', '3 PendingFileRenameOperations']],
  [
    'appx-per-user',
    'vm.appx-provisioned',
    [
      'Microsoft.WidgetsPlatformRuntime (Microsoft.WidgetsPlatformRuntime_1.6.9.0_x64__8wekyb3d8bbwe) for user PKRVM3X7K1Q9D2\\packer',
    ],
  ],
  ['multi-session', 'vm.single-session', ['ServerRdsh', 'ProductType is 3']],
  ['n-edition', 'vm.edition', ['EnterpriseN: an N edition']],
  ['ltsc', 'vm.edition', ['EnterpriseS: an LTSC edition']],
  ['out-of-servicing', 'vm.servicing', ['Windows 11 23H2 (build 22631)', '22631.6199', 'ended 2026-11-10']],
  ['fslogix', 'vm.no-avd-fslogix', ['service frxsvc', 'Microsoft FSLogix Apps 2.9.8884.27471']],
  [
    'avd-agent',
    'vm.no-avd-fslogix',
    [
      'service RDAgentBootLoader',
      'Remote Desktop Services Infrastructure Agent 1.0.9742.1100',
      'SxS Network Stack',
    ],
  ],
  ['too-many-start-apps', 'vm.start-menu-apps', ['3142 Start-menu apps']],
  ['fixed-computer-name', 'vm.computer-name-customizable', ['C:\\ProgramData\\Contoso\\golden-unattend.xml']],
  [
    'teams-missing',
    'vm.teams-components',
    ['IsWVDEnvironment is absent', 'RDWebRTCSvc', 'MSTeams'],
    { teamsRequested: true },
  ],
  ['image-state-undeployable', 'vm.image-state', ['IMAGE_STATE_UNDEPLOYABLE', 'an earlier sysprep failed']],
  ['defender-onboarded', 'vm.defender-not-onboarded', ['OnboardingState is 1']],
  ['vm-extensions', 'vm.no-vm-extensions', ['MDE.Windows', 'AzureMonitorWindowsAgent']],
  ['trusted-launch', 'vm.generation-and-security-type', ['security type TrustedLaunch']],
];

describe('each failing fixture fails exactly its rule and names the offending item', () => {
  it.each(FAILING)('%s fails %s', async (name, rule, named, extra) => {
    const result = await check(name, extra);
    const failing = result.checks.filter(blocks);
    expect(failing.map((c) => c.id)).toEqual([rule]);
    const [only] = failing;
    expect(only?.status).toBe('fail');
    for (const text of named) expect(only?.detail).toContain(text);
    expect(only?.fix).toBeTruthy();
    expect(result.passed).toBe(false);
  });

  it('a Start-menu count that could not be taken is a warning, not a blocked build', async () => {
    const result = await check('start-menu-section-error');
    expect(result.checks.find((c) => c.id === 'vm.start-menu-apps')?.status).toBe('warn');
    expect(result.passed).toBe(true);
  });

  it('the Teams fixture passes when Teams was not requested', async () => {
    expect((await check('teams-missing')).passed).toBe(true);
  });
});

describe('facts that cannot be read', () => {
  it('a section with an error is unverified, never pass, and fails the check (fail closed)', async () => {
    const result = await check('bitlocker-section-error');
    const bitLocker = result.checks.find((c) => c.id === 'vm.bitlocker-off');
    expect(bitLocker?.status).toBe('unverified');
    expect(bitLocker?.detail).toContain('Get-BitLockerVolume');
    expect(result.checks.filter(blocks).map((c) => c.id)).toEqual(['vm.bitlocker-off']);
    expect(result.passed).toBe(false);
  });

  it('every rule that needs a missing section is unverified, never pass', async () => {
    const { schemaVersion, collectedAt, collector, computerName } = await cleanDocument();
    const sparse = { schemaVersion, collectedAt, collector, computerName };
    const facts = parseFacts(JSON.stringify(sparse), 'sparse.json');
    const result = runSysprepCheck(facts, context({ teamsRequested: true }));
    // The Start-menu count alone is a warning when it cannot be taken (a count is not worth a blocked build).
    expect(result.checks.map((c) => c.status)).toEqual(
      SYSPREP_RULES.map((r) => (r.id === 'vm.start-menu-apps' ? 'warn' : 'unverified')),
    );
    expect(result.passed).toBe(false);
  });

  it('a null field inside a readable section is unverified', async () => {
    const document = await cleanDocument();
    (document.os as Record<string, unknown>).currentBuild = null;
    (document.imageState as Record<string, unknown>).value = null;
    const result = runSysprepCheck(parseFacts(JSON.stringify(document), 'nulls.json'), context());
    expect(result.checks.find((c) => c.id === 'vm.servicing')?.status).toBe('unverified');
    expect(result.checks.find((c) => c.id === 'vm.image-state')?.status).toBe('unverified');
  });

  it('a field of the wrong type makes its section unverified and says which field', async () => {
    const document = await cleanDocument();
    (document.startMenu as Record<string, unknown>).appCount = '87';
    const result = runSysprepCheck(parseFacts(JSON.stringify(document), 'typed.json'), context());
    const start = result.checks.find((c) => c.id === 'vm.start-menu-apps');
    expect(start?.status).toBe('warn');
    expect(start?.detail).toContain(
      'startMenu.appCount is the string "87", but packer/facts.schema.json expects an integer or null',
    );
  });

  it('a failing fact wins over an unreadable one in the same rule', async () => {
    const document = await cleanDocument();
    const join = document.join as Record<string, Record<string, unknown>>;
    join.wmi = {
      partOfDomain: null,
      domain: null,
      error: 'Microsoft.Management.Infrastructure.CimException: Access denied',
    };
    (join.dsregcmd as Record<string, unknown>).azureAdJoined = 'YES';
    const result = runSysprepCheck(parseFacts(JSON.stringify(document), 'mixed.json'), context());
    expect(result.checks.find((c) => c.id === 'vm.not-joined')?.status).toBe('fail');
  });

  it('an unverified warning rule is reported but does not fail the check', async () => {
    const warning: SysprepRule = {
      id: 'test.warning',
      requirement: 'R0',
      severity: 'warning',
      errorCode: null,
      title: 'A warning rule',
      fix: 'Nothing.',
      evaluate: () => ({ status: 'unverified', detail: 'Cannot verify: test.' }),
    };
    const failingWarning: SysprepRule = {
      ...warning,
      id: 'test.warning-fail',
      evaluate: () => ({ status: 'fail', detail: 'x' }),
    };
    const facts = await readFacts(fixture('clean-win11-25h2'));
    const result = runSysprepCheck(facts, context(), [...SYSPREP_RULES, warning, failingWarning]);
    expect(result.checks.at(-2)?.status).toBe('unverified');
    expect(result.checks.at(-1)?.status).toBe('warn');
    expect(result.passed).toBe(true);
  });
});

describe('phase and servicing dates', () => {
  it('ImageState IMAGE_STATE_COMPLETE passes before sysprep and fails after capture', async () => {
    const pre = await check('clean-win11-25h2', { phase: 'pre-sysprep' });
    const post = await check('clean-win11-25h2', { phase: 'post-capture' });
    expect(pre.checks.find((c) => c.id === 'vm.image-state')?.status).toBe('pass');
    const after = post.checks.find((c) => c.id === 'vm.image-state');
    expect(after?.status).toBe('fail');
    expect(after?.detail).toContain('expected IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE');
  });

  it('a generalized ImageState fails before sysprep and passes after capture', async () => {
    const document = await cleanDocument();
    (document.imageState as Record<string, unknown>).value = 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE';
    const facts = parseFacts(JSON.stringify(document), 'generalized.json');
    const pre = runSysprepCheck(facts, context()).checks.find((c) => c.id === 'vm.image-state');
    expect(pre?.status).toBe('fail');
    expect(pre?.detail).toContain('sysprep already ran');
    const post = runSysprepCheck(facts, context({ phase: 'post-capture' })).checks.find(
      (c) => c.id === 'vm.image-state',
    );
    expect(post?.status).toBe('pass');
  });

  it('warns within 90 days of the end of servicing and fails the day after', async () => {
    const facts = await readFacts(fixture('out-of-servicing'));
    const on = (iso: string) =>
      runSysprepCheck(facts, context({ now: new Date(iso) })).checks.find((c) => c.id === 'vm.servicing');
    expect(on('2026-07-01T00:00:00Z')?.status).toBe('pass');
    expect(on('2026-09-01T00:00:00Z')?.status).toBe('warn');
    expect(on('2026-11-10T23:00:00Z')?.status).toBe('warn');
    expect(on('2026-11-11T00:00:00Z')?.status).toBe('fail');
    expect(runSysprepCheck(facts, context({ now: new Date('2026-09-01T00:00:00Z') })).passed).toBe(true);
  });

  it('an unknown build newer than the table warns; an unknown older build fails', async () => {
    const document = await cleanDocument();
    const os = document.os as Record<string, unknown>;
    os.currentBuild = 29010;
    const newer = runSysprepCheck(parseFacts(JSON.stringify(document), 'n.json'), context());
    expect(newer.checks.find((c) => c.id === 'vm.servicing')?.status).toBe('warn');
    os.currentBuild = 18363;
    const older = runSysprepCheck(parseFacts(JSON.stringify(document), 'o.json'), context());
    expect(older.checks.find((c) => c.id === 'vm.servicing')?.status).toBe('fail');
  });
});

describe('facts documents that cannot be used at all', () => {
  it('an unknown schemaVersion is a FactsError naming the file and what to do', async () => {
    const error = await readFacts(fixture('unknown-schema-version')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FactsError);
    expect((error as FactsError).code).toBe('facts-schema-version');
    expect((error as FactsError).message).toContain('unknown-schema-version.json has schemaVersion 2');
    expect((error as FactsError).message).toContain('same w365-image release');
  });

  it.each([
    ['not json', 'facts-invalid-json'],
    ['[1,2]', 'facts-not-object'],
    ['"text"', 'facts-not-object'],
    ['{}', 'facts-schema-version'],
  ])('%s -> %s', (text, code) => {
    expect(() => parseFacts(text, 'bad.json')).toThrow(expect.objectContaining({ code }));
  });

  it('accepts a byte order mark, as Windows PowerShell writes one', async () => {
    const text = await readFile(fixture('clean-win11-25h2'), 'utf8');
    expect(parseFacts(`\uFEFF${text}`, 'bom.json').os.readable).toBe(true);
  });

  it('a missing file is a FactsError', async () => {
    await expect(readFacts(fixture('does-not-exist'))).rejects.toMatchObject({ code: 'facts-unreadable' });
  });
});
