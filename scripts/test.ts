// `npm test`: vitest and the PowerShell (Pester) suite side by side, so the guest scripts run in every test run.
// Outside CI a machine with neither pwsh nor dotnet skips only the PowerShell suite, saying so in one line;
// under CI=true that is a failure.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { ensurePowerShellTools, powershellSuitePlan } from './powershell-tools.ts';

const root = resolve(import.meta.dirname, '..');
const ci = (process.env.CI ?? '').toLowerCase() === 'true';

function run(command: string, args: string[], buffered: boolean): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    const child = spawn(command, args, {
      cwd: root,
      stdio: buffered ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('close', (code) => done({ code: code ?? 1, output }));
  });
}

const vitestArgs = [resolve(root, 'node_modules/vitest/vitest.mjs'), 'run', ...process.argv.slice(2)];
const vitest = run(process.execPath, vitestArgs, false);

const tools = ensurePowerShellTools();
const plan = powershellSuitePlan(tools, ci);
if (tools.found) {
  const [command, ...prefix] = tools.command as [string, ...string[]];
  const suite = resolve(root, 'test/powershell/run.ps1');
  const args = [
    ...prefix,
    '-NoProfile',
    '-NonInteractive',
    '-File',
    suite,
    '-PesterManifest',
    tools.pesterManifest,
  ];
  const pester = await run(command, args, true);
  const vitestCode = (await vitest).code;
  process.stdout.write(`\n----- PowerShell suite (Pester) -----\n${pester.output}\n`);
  process.exit(vitestCode !== 0 ? vitestCode : pester.code);
} else if (plan.action !== 'run') {
  const vitestCode = (await vitest).code;
  if (plan.action === 'fail') console.error(plan.message);
  else console.log(plan.message);
  process.exit(vitestCode !== 0 ? vitestCode : plan.action === 'fail' ? 1 : 0);
}
