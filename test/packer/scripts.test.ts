import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  HELPER_FILE,
  HELPER_IMPORT,
  calledCommands,
  checkScriptRules,
  commandCalls,
  definedFunctions,
  functionText,
  moduleExports,
  registryWrites,
  syntaxErrors,
  verifiedDownloads,
} from './helpers/powershell-checks.ts';
import type { Script } from './helpers/powershell-checks.ts';
import { mustReplace, packerDir, script, scripts } from './helpers/repo.ts';
import { powershellParser } from './helpers/tree-sitter.ts';
import type { SourceParser } from './helpers/tree-sitter.ts';

let parse: SourceParser;
beforeAll(async () => {
  parse = await powershellParser();
});

const expectedScripts = [
  HELPER_FILE,
  'cleanup.ps1',
  'extras-begin.ps1',
  'facts.ps1',
  'recovery-partition.ps1',
  'remove-appx.ps1',
  'servicing-pause.ps1',
  'sysprep.ps1',
  'teams.ps1',
  'windows-update.ps1',
];

describe('PowerShell scripts (real files)', () => {
  it('are the expected set', () => {
    expect(scripts().map((s) => s.name)).toEqual([...expectedScripts].sort());
  });

  it.each(expectedScripts)('%s parses without ERROR or MISSING nodes', (name) => {
    expect(syntaxErrors(parse, script(name))).toEqual([]);
  });

  it.each(expectedScripts)('%s fails loudly (strict mode, Stop, helper, no swallowed errors)', (name) => {
    expect(checkScriptRules(parse, script(name))).toEqual([]);
  });

  it('every guest script imports the helper module, and nothing else loads it', () => {
    const guests = scripts().filter((s) => s.name !== HELPER_FILE);
    expect(guests.length).toBe(expectedScripts.length - 1);
    for (const s of guests) {
      const calls = commandCalls(parse(s.text).rootNode);
      const imports = calls.filter((c) => /^Import-Module$/i.test(c.name)).map((c) => c.node.text);
      expect(imports, s.name).toEqual([HELPER_IMPORT]);
      const dotSourced = calls.filter((c) =>
        c.node.namedChildren.some((n) => n.type === 'command_invokation_operator' && n.text === '.'),
      );
      expect(
        dotSourced.map((c) => c.name),
        s.name,
      ).toEqual([]);
      expect(s.text, s.name).not.toContain('W365.Helpers.ps1');
    }
  });

  it('the helper module exports exactly the functions and folder variables the guest scripts use', () => {
    const helper = script(HELPER_FILE);
    const guests = scripts().filter((s) => s.name !== HELPER_FILE);
    const defined = new Set(definedFunctions(parse, helper));
    const used = new Set(
      guests.flatMap((s) => [...calledCommands(parse, s)].filter((name) => defined.has(name))),
    );
    const exported = moduleExports(parse, helper);
    expect([...exported.functions].sort()).toEqual([...used].sort());
    // The rest stays private: the signature check behind the verified download, the registry plumbing, the pause file.
    expect([...defined].filter((name) => !used.has(name)).sort()).toEqual([
      'Assert-W365MicrosoftSignature',
      'Get-W365RegistryKeyWithValue',
      'Get-W365ServicingPauseFile',
      'Remove-W365RegistryValue',
    ]);
    const seamVariables = [...helper.text.matchAll(/^\$(W365\w+) =/gm)].map((m) => m[1] ?? '');
    const usedVariables = seamVariables.filter((v) =>
      guests.some((s) => new RegExp(`\\$${v}\\b`).test(s.text)),
    );
    expect([...exported.variables].sort()).toEqual(usedVariables.sort());
  });

  it('Teams sets exactly the registry values Microsoft requires', () => {
    const writes = registryWrites(parse, script('teams.ps1')).map(({ path: p, name, type, value }) => ({
      path: p,
      name,
      type,
      value,
    }));
    expect(writes).toEqual([
      { path: 'HKLM:\\SOFTWARE\\Microsoft\\Teams', name: 'IsWVDEnvironment', type: 'DWord', value: '1' },
      { path: 'HKLM:\\SOFTWARE\\Microsoft\\Teams', name: 'disableAutoUpdate', type: 'DWord', value: '1' },
    ]);
  });

  it('Teams downloads every component through the verified helper', () => {
    expect(verifiedDownloads(parse, script('teams.ps1')).sort()).toEqual(
      [
        'https://aka.ms/vs/17/release/vc_redist.x64.exe',
        'https://aka.ms/msrdcwebrtcsvc/msi',
        'https://go.microsoft.com/fwlink/?linkid=2243204&clcid=0x409',
        'https://go.microsoft.com/fwlink/?linkid=2196106',
      ].sort(),
    );
    const teams = script('teams.ps1').text;
    expect(teams).toMatch(
      /Invoke-W365Executable -FilePath \$bootstrapper -ArgumentList @\('-p'\)\r?\n\s*\$exitCode = \$LASTEXITCODE/,
    );
    expect(teams).toContain("'0x80004004'");
    expect(teams).toMatch(/Add-AppxProvisionedPackage -Online -PackagePath \$msix/);
    expect(teams).toMatch(/Teams optimizations incomplete, missing/);
  });

  it('the helper retries downloads and checks the Microsoft Authenticode signature before returning', () => {
    const helper = script(HELPER_FILE);
    const assertSig = functionText(parse, helper, 'Assert-W365MicrosoftSignature') ?? '';
    expect(assertSig).toContain('Get-AuthenticodeSignature -FilePath $Path');
    expect(assertSig).toMatch(/\$signature\.Status -ne 'Valid'/);
    expect(assertSig).toContain('^CN=Microsoft Corporation,');
    const download = functionText(parse, helper, 'Invoke-W365VerifiedDownload') ?? '';
    expect(download).toMatch(/for \(\$attempt = 1; \$attempt -le \$Attempts; \$attempt\+\+\)/);
    expect(download).toContain('Start-Sleep');
    expect(download.indexOf('Assert-W365MicrosoftSignature')).toBeGreaterThan(
      download.lastIndexOf('Start-Sleep'),
    );
    const native = functionText(parse, helper, 'Invoke-W365Native') ?? '';
    expect(native).toMatch(/\$exitCode = \$LASTEXITCODE/);
  });

  it('sysprep runs the documented command, waits with timeouts and prints the logs on failure', () => {
    const text = script('sysprep.ps1').text;
    expect(text).toContain("@('/oobe', '/generalize', '/quiet', '/quit', '/mode:vm')");
    expect(text).toContain("'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE'");
    for (const service of ['RdAgent', 'WindowsAzureGuestAgent']) expect(text).toContain(`-Name '${service}'`);
    expect(text).toMatch(/throw "Timed out after/);
    expect(text).toMatch(/setuperr\.log/);
    expect(text).toMatch(/setupact\.log/);
    expect(text).toMatch(/Write-SysprepLogs\s+throw/);
  });

  it('Windows Update uses the built-in API and fails on any install error', () => {
    const text = script('windows-update.ps1').text;
    expect(text).toContain("New-W365ComObject -ProgId 'Microsoft.Update.Session'");
    expect(script(HELPER_FILE).text).toContain('New-Object -ComObject $ProgId');
    expect(text).toContain('BrowseOnly=0');
    expect(text).toMatch(/if \(\$result\.ResultCode -ne 2\)/);
    expect(text).toMatch(/throw "Windows Update installation failed/);
  });

  it('the recovery partition is found by its GPT type', () => {
    expect(script('recovery-partition.ps1').text).toContain('{de94bba4-06d1-4d40-a16a-bfd50179d6ac}');
  });
});

describe('facts document and its schema', () => {
  const schema = JSON.parse(readFileSync(path.join(packerDir, 'facts.schema.json'), 'utf8')) as {
    required: string[];
    properties: Record<string, { properties?: Record<string, { properties?: Record<string, unknown> }> }>;
  };
  const facts = (): string => script('facts.ps1').text;

  it('writes schemaVersion 1 and exactly the top-level keys the schema requires', () => {
    const block = /\$facts = \[ordered\]@\{\r?\n([\s\S]*?)\r?\n\}/.exec(facts())?.[1] ?? '';
    const keys = [...block.matchAll(/^ {4}([A-Za-z]+)\s+=/gm)].map((m) => m[1]);
    expect(keys).toEqual(schema.required);
    expect(block).toMatch(/schemaVersion = 1/);
  });

  it('collects every section with exactly the fields the schema documents (plus error)', () => {
    const sections = [...facts().matchAll(/Get-FactSection -Name '([\w.]+)' -Fields @\(([^)]*)\)/g)];
    expect(sections.length).toBeGreaterThanOrEqual(14);
    for (const [, name, list] of sections) {
      const fields = [...(list ?? '').matchAll(/'(\w+)'/g)].map((m) => m[1]);
      const [outer, inner] = (name ?? '').split('.') as [string, string | undefined];
      const node = inner ? schema.properties[outer]?.properties?.[inner] : schema.properties[outer];
      expect(Object.keys(node?.properties ?? {}), name).toEqual([...fields, 'error']);
    }
  });

  it('every schema property has a description or a type', () => {
    const visit = (node: unknown, where: string): void => {
      if (!node || typeof node !== 'object') return;
      const record = node as Record<string, unknown>;
      const props = record.properties as Record<string, Record<string, unknown>> | undefined;
      for (const [key, value] of Object.entries(props ?? {})) {
        expect(value.description ?? value.type ?? value.const, `${where}.${key}`).toBeDefined();
        visit(value, `${where}.${key}`);
        visit(value.items, `${where}.${key}[]`);
      }
    };
    visit(schema, '$');
  });
});

describe('the checks catch broken scripts (mutations)', () => {
  const teams = (): Script => script('teams.ps1');
  const mutated = (base: Script, search: string | RegExp, replacement: string): Script => ({
    ...base,
    text: mustReplace(base.text, search, replacement),
  });

  it('reports a PowerShell syntax error', () => {
    const broken = mutated(teams(), 'if ($missing.Count -gt 0) {', 'if ($missing.Count -gt 0 {');
    expect(syntaxErrors(parse, broken).length).toBeGreaterThan(0);
  });

  it('reports a script that dot-sources the helper or does not import it', () => {
    const dotSourced = mutated(
      teams(),
      HELPER_IMPORT,
      ". (Join-Path $env:W365_BUILD_DIR 'W365.Helpers.psm1')",
    );
    const problems = checkScriptRules(parse, dotSourced);
    expect(problems).toContainEqual(
      expect.stringContaining('third statement must import the shared helper module'),
    );
    expect(problems).toContainEqual(expect.stringContaining('dot-sources'));
    expect(checkScriptRules(parse, mutated(teams(), `${HELPER_IMPORT}\n`, ''))).toContainEqual(
      expect.stringContaining('third statement must import the shared helper module'),
    );
    const later = mutated(teams(), "$teamsKey = 'HKLM:", ". $PSScriptRoot\\local.ps1\n$teamsKey = 'HKLM:");
    expect(checkScriptRules(parse, later)).toContainEqual(
      expect.stringContaining('dot-sources $PSScriptRoot'),
    );
  });

  it('reports a missing strict mode and a non-Stop error preference', () => {
    expect(checkScriptRules(parse, mutated(teams(), 'Set-StrictMode -Version Latest\n', ''))).toContainEqual(
      expect.stringContaining('Set-StrictMode'),
    );
    expect(
      checkScriptRules(
        parse,
        mutated(teams(), "$ErrorActionPreference = 'Stop'", "$ErrorActionPreference = 'Continue'"),
      ),
    ).toContainEqual(expect.stringContaining('$ErrorActionPreference'));
  });

  it('reports -ErrorAction SilentlyContinue and an empty catch', () => {
    const silenced = mutated(
      teams(),
      "$_.DisplayName -eq 'MSTeams' })",
      "$_.DisplayName -eq 'MSTeams' } -ErrorAction SilentlyContinue)",
    );
    expect(checkScriptRules(parse, silenced)).toContainEqual(
      expect.stringContaining('error-swallowing -ErrorAction'),
    );
    const swallowed = mutated(
      script('sysprep.ps1'),
      /catch \{[\s\S]*?\n {4}throw\n\}/,
      'catch {\n    # ignore\n}',
    );
    expect(checkScriptRules(parse, swallowed)).toContainEqual(expect.stringContaining('empty catch block'));
  });

  it('reports a native call without a $LASTEXITCODE check', () => {
    const unchecked = mutated(teams(), /\$exitCode = \$LASTEXITCODE\r?\n/, '$exitCode = 0\n');
    expect(checkScriptRules(parse, unchecked)).toContainEqual(
      expect.stringContaining('without a $LASTEXITCODE check'),
    );
  });

  it('reports a download that bypasses the verified helper', () => {
    const direct = mutated(
      teams(),
      "$vcRedist = Invoke-W365VerifiedDownload -Uri $vcRedistUri -FileName 'vc_redist.x64.exe'",
      "Invoke-WebRequest -Uri $vcRedistUri -OutFile C:\\vc.exe\n    $vcRedist = 'C:\\vc.exe'",
    );
    expect(checkScriptRules(parse, direct)).toContainEqual(expect.stringContaining('Invoke-WebRequest'));
  });

  it('reports a wrong Teams registry type or value', () => {
    const wrong = mutated(
      teams(),
      "-Name 'IsWVDEnvironment' -Kind DWord -Value 1",
      "-Name 'IsWVDEnvironment' -Kind String -Value 1",
    );
    expect(registryWrites(parse, wrong)).toContainEqual(
      expect.objectContaining({ name: 'IsWVDEnvironment', type: 'String' }),
    );
  });
});
