import { INPUTS, InputError, parseInputs } from './config/inputs.ts';
import { AuthSetupError } from './azure/credential.ts';
import { fetchGitHubIdToken } from './azure/githubOidc.ts';
import { outputsOf, writeReport } from './pipeline/publish.ts';
import { succeeded } from './pipeline/report.ts';
import { runPipeline } from './pipeline/run.ts';
import { clockFromEnvironment } from './util/clock.ts';
import { consoleLog } from './util/log.ts';
import { TOOL_VERSION } from './version.ts';

export function helpText(): string {
  const options = INPUTS.filter((i) => !i.actionOnly);
  const width = Math.max(...options.map((i) => i.name.length)) + 2;
  const flags = options.map(
    (i) =>
      `  --${i.name.padEnd(width)}${i.description}${i.default !== undefined ? ` [default: ${i.default}]` : ''}`,
  );
  return [
    `w365-image ${TOOL_VERSION}: validate an Azure managed image against the Windows 365 requirements and register it.`,
    '',
    'Usage: w365-image --image-id <resource-id> [options]',
    '       w365-image --subscription-id <id> --var-file <file> [options]   (build with Packer, then register)',
    '       w365-image sysprep-check --facts <file>                         (check a build VM; --help for more)',
    '',
    'Options (the same names as the GitHub Action inputs):',
    ...flags,
    '  --verbose'.padEnd(width + 4) + 'Print debug lines.',
    '  --help'.padEnd(width + 4) + 'Show this help.',
    '  -V'.padEnd(width + 4) + 'Show the version of w365-image (--version is the device image version).',
    '',
    'In a terminal, auth defaults to azure-cli (run az login first); in a workflow with id-token: write, to oidc.',
    'Exit codes: 0 ready/validated, 1 failed or invalid, 2 bad usage.',
  ].join('\n');
}

export interface ParsedArgs {
  values: Map<string, string>;
  help: boolean;
  version: boolean;
  verbose: boolean;
}

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const known = new Set(INPUTS.filter((i) => !i.actionOnly).map((i) => i.name));
  const parsed: ParsedArgs = { values: new Map(), help: false, version: false, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') parsed.help = true;
    else if (arg === '-V') parsed.version = true;
    else if (arg === '--verbose') parsed.verbose = true;
    else if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      if (!known.has(name))
        throw new UsageError(`Unknown option --${name}. Run w365-image --help for the options.`);
      const value = eq === -1 ? argv[i + 1] : arg.slice(eq + 1);
      if (value === undefined || (eq === -1 && value.startsWith('--'))) {
        throw new UsageError(`Option --${name} needs a value.`);
      }
      if (eq === -1) i += 1;
      if (parsed.values.has(name)) throw new UsageError(`Option --${name} is given twice.`);
      parsed.values.set(name, value);
    } else {
      throw new UsageError(`Unexpected argument '${arg}'. Options start with --; run w365-image --help.`);
    }
  }
  return parsed;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/** The CLI: same pipeline as the action, flags instead of INPUT_*, a printed report instead of a job summary. */
export async function runCli(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  if (args.help) {
    console.log(helpText());
    return 0;
  }
  if (args.version) {
    console.log(TOOL_VERSION);
    return 0;
  }
  const log = consoleLog({ verbose: args.verbose });
  const clock = clockFromEnvironment(env);
  const oidcAvailable = Boolean(env.ACTIONS_ID_TOKEN_REQUEST_URL && env.ACTIONS_ID_TOKEN_REQUEST_TOKEN);
  const read = (name: string): string => {
    const given = args.values.get(name);
    if (given !== undefined) return given;
    if (name === 'auth' && !oidcAvailable) return 'azure-cli';
    return '';
  };
  const cancel = new AbortController();
  const onSignal = () => {
    if (cancel.signal.aborted) process.exit(130);
    log.warning('Cancelling (press Ctrl+C again to stop at once)...');
    cancel.abort();
  };
  process.on('SIGINT', onSignal);
  try {
    const config = parseInputs(read, { env, now: new Date(clock.now()), cwd: process.cwd() });
    const report = await runPipeline(config, {
      log,
      clock,
      env,
      getIdToken: (audience) => fetchGitHubIdToken(env, audience),
      signal: cancel.signal,
    });
    const summary = await writeReport(report, config.reportPath);
    console.log(`\n${summary}`);
    const outputs = outputsOf(report, config.reportPath);
    for (const [name, value] of Object.entries(outputs)) console.log(`${name}=${value}`);
    return succeeded(report.outcome) ? 0 : 1;
  } catch (error) {
    if (error instanceof InputError) {
      console.error(`error: ${error.message.replace(/^Input '([^']+)'/, '--$1')}`);
      return 2;
    }
    if (error instanceof AuthSetupError) {
      console.error(`error: ${error.message}`);
      return 1;
    }
    console.error(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
  }
}
