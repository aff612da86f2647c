import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { windowsPowerShellProblems } from './helpers/powershell-checks.ts';
import { repoRoot, scripts } from './helpers/repo.ts';
import { powershellParser } from './helpers/tree-sitter.ts';
import type { SourceParser } from './helpers/tree-sitter.ts';

let parse: SourceParser;
beforeAll(async () => {
  parse = await powershellParser();
});

// The guest runs Windows PowerShell 5.1, and so does the suite's Windows job (fake Windows, runner, scenarios).
const suiteDir = path.join(repoRoot, 'test/powershell');
const suite = readdirSync(suiteDir)
  .filter((f) => f.endsWith('.ps1'))
  .map((name) => ({
    name: `test/powershell/${name}`,
    text: readFileSync(path.join(suiteDir, name), 'utf8'),
  }));

describe('Windows PowerShell 5.1 compatibility', () => {
  it.each([...scripts(), ...suite].map((s) => [s.name, s] as const))(
    '%s uses no PowerShell 7-only syntax',
    (_, s) => {
      expect(windowsPowerShellProblems(parse, s)).toEqual([]);
    },
  );

  // Windows PowerShell 5.1 reads a UTF-8 file without a byte order mark as the ANSI code page: keep them ASCII.
  it.each([...scripts(), ...suite].map((s) => [s.name, s] as const))('%s is plain ASCII', (_, s) => {
    const lines = s.text
      .split('\n')
      .flatMap((line, i) => (/[^\t\n\r -~]/.test(line) ? [`${s.name}:${i + 1}`] : []));
    expect(lines).toEqual([]);
  });

  it.each([
    ['$a = $b ?? 1', 'null-coalescing operator ??'],
    ['$z ??= 3', 'null-coalescing'],
    ['$x = $y?.Name', 'null-conditional'],
    ['$t = $c ? 1 : 2', 'ternary'],
    ['git status && echo ok', 'pipeline chain operator &&'],
    ['Get-Item x || Write-Host no', 'pipeline chain operator ||'],
    ['1..3 | ForEach-Object -Parallel { $_ }', 'ForEach-Object -Parallel'],
    ['$h = Get-Content f -Raw | ConvertFrom-Json -AsHashtable', 'AsHashtable'],
    ['$s = 1, 2 | Join-String', 'Join-String'],
  ])('reports %s', (text, expected) => {
    expect(windowsPowerShellProblems(parse, { name: 'snippet.ps1', text })).toContainEqual(
      expect.stringContaining(expected),
    );
  });

  it('does not report the same characters inside strings and comments', () => {
    const text = 'Write-Host \'a ?? b && c\' # x ?? y\nWrite-Host "is it? yes"';
    expect(windowsPowerShellProblems(parse, { name: 'snippet.ps1', text })).toEqual([]);
  });
});
