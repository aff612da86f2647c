import { runSysprepCheckCommand } from './check/command.ts';
import { runCli } from './cli.ts';
import { runAction } from './main.ts';

// The Actions runner starts `node dist/index.js` with no arguments and GITHUB_ACTIONS=true; anything else is the CLI.
const argv = process.argv.slice(2);
if (argv[0] === 'sysprep-check') {
  process.exitCode = await runSysprepCheckCommand(argv.slice(1));
} else if (argv.length === 0 && process.env.GITHUB_ACTIONS === 'true') {
  await runAction();
} else {
  process.exitCode = await runCli(argv);
}
