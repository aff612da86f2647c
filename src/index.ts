// The Actions runner starts `node dist/index.js` with no arguments and GITHUB_ACTIONS=true; anything else is the CLI.
// Each entry is imported when chosen, so the sysprep-check hook does not load the Azure clients, and only after the
// Node version check (the first import) has passed.
import './nodeVersion.ts';

const argv = process.argv.slice(2);
if (argv[0] === 'sysprep-check') {
  const { runSysprepCheckCommand } = await import('./commands/sysprepCheck.ts');
  process.exitCode = await runSysprepCheckCommand(argv.slice(1));
} else if (argv[0] === 'diff') {
  const { runDiffCommand } = await import('./commands/diff.ts');
  process.exitCode = await runDiffCommand(argv.slice(1));
} else if (argv.length === 0 && process.env.GITHUB_ACTIONS === 'true') {
  const { runAction } = await import('./main.ts');
  await runAction();
} else {
  const { runCli } = await import('./cli.ts');
  process.exitCode = await runCli(argv);
}
