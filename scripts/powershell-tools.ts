// Finds or installs the PowerShell test toolchain: PowerShell 7.6.9 (a repository-local .NET tool, pinned in
// .config/dotnet-tools.json) and Pester 6.2.0 (saved into .tools/, git-ignored). A `pwsh` already on PATH
// (GitHub's runners, a developer's laptop) is used as it is. Run directly, it installs and prints what it found.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export const PESTER_VERSION = '6.2.0';
const root = resolve(import.meta.dirname, '..');
export const toolsDir = resolve(root, '.tools');
export const pesterManifest = resolve(toolsDir, `pester/${PESTER_VERSION}/tools/Pester.psd1`);

export type PowerShellTools =
  { found: true; command: string[]; pesterManifest: string } | { found: false; reason: string };

function run(command: string, args: string[]): { ok: boolean; output: string } {
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8', timeout: 300_000 });
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}`.trim() };
}

function onPath(command: string): boolean {
  return run(command, ['--version']).ok;
}

/** The first enabled https feed `dotnet nuget list source` prints, or '' (PowerShell's default gallery). */
function nugetFeed(): string {
  if (!onPath('dotnet')) return '';
  const listed = run('dotnet', ['nuget', 'list', 'source']);
  const lines = listed.output.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/\[Enabled\]/.test(lines[i] ?? '')) continue;
    const uri = (lines[i + 1] ?? '').trim();
    if (uri.startsWith('https://')) return uri;
  }
  return '';
}

function findPowerShell(): { command: string[] } | { reason: string } {
  if (onPath('pwsh')) return { command: ['pwsh'] };
  if (!onPath('dotnet')) return { reason: 'neither pwsh nor dotnet is on PATH' };
  const restore = run('dotnet', ['tool', 'restore']);
  if (!restore.ok)
    return { reason: `'dotnet tool restore' failed: ${restore.output.split('\n').slice(-3).join(' ')}` };
  return { command: ['dotnet', 'tool', 'run', 'pwsh', '--'] };
}

export function ensurePowerShellTools(): PowerShellTools {
  const found = findPowerShell();
  if ('reason' in found) return { found: false, reason: found.reason };
  const [command, ...prefix] = found.command as [string, ...string[]];
  if (!existsSync(pesterManifest)) {
    const script = resolve(root, 'scripts/install-pester.ps1');
    const args = [...prefix, '-NoProfile', '-NonInteractive', '-File', script, '-Destination', toolsDir];
    const saved = run(command, [...args, '-Version', PESTER_VERSION, '-FeedUri', nugetFeed()]);
    if (!saved.ok) return { found: false, reason: `saving Pester ${PESTER_VERSION} failed: ${saved.output}` };
  }
  return { found: true, command: found.command, pesterManifest };
}

export type SuitePlan = { action: 'run' } | { action: 'skip' | 'fail'; message: string };

/** What `npm test` does with the PowerShell suite: run it, skip it with one line, or fail the run (CI). */
export function powershellSuitePlan(tools: PowerShellTools, ci: boolean): SuitePlan {
  if (tools.found) return { action: 'run' };
  if (ci)
    return {
      action: 'fail',
      message: `PowerShell suite cannot run under CI=true: ${tools.reason}. Install dotnet (or pwsh).`,
    };
  return {
    action: 'skip',
    message: `PowerShell suite skipped: ${tools.reason} (install dotnet or pwsh to run the guest scripts).`,
  };
}

if (import.meta.main) {
  const tools = ensurePowerShellTools();
  if (!tools.found) {
    console.error(`PowerShell test toolchain missing: ${tools.reason}.`);
    process.exit(1);
  }
  console.log(`PowerShell: ${tools.command.join(' ')}; Pester ${PESTER_VERSION}: ${tools.pesterManifest}`);
}
