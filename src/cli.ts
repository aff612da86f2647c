import { parseArgs as nodeParseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { INPUTS, InputError, parseInputs } from './config/inputs.ts';
import { AuthSetupError } from './azure/credential.ts';
import { fetchGitHubIdToken } from './azure/githubOidc.ts';
import { publishReport } from './report/publish.ts';
import { succeeded } from './results/outcome.ts';
import { runPipeline } from './pipeline/run.ts';
import { clockFromEnvironment } from './util/clock.ts';
import { consoleLog } from './util/log.ts';
import { safeLogText } from './util/untrusted.ts';
import { TOOL_VERSION } from './version.ts';

/** Options that may be repeated; their values join with newlines, as the action's multi-line inputs do. */
export const LIST_OPTIONS: ReadonlySet<string> = new Set([
  'var-file',
  'packer-vars',
  'provisioning-policies',
]);
/** true/false inputs: `--name` means true, `--no-name` false; they take no value. */
export const FLAG_OPTIONS: ReadonlySet<string> = new Set([
  'register',
  'delete-source-image',
  'dry-run',
  'skip-if-unchanged',
]);

function cliInputs() {
  return INPUTS.filter((i) => !i.actionOnly);
}

export function helpText(): string {
  const options = cliInputs().map((i) => ({
    flag: FLAG_OPTIONS.has(i.name) ? `--[no-]${i.name}` : `--${i.name}`,
    text:
      i.description +
      (LIST_OPTIONS.has(i.name) ? ' Repeat the option for more.' : '') +
      (i.default !== undefined ? ` [default: ${i.default}]` : ''),
  }));
  const width = Math.max(...options.map((o) => o.flag.length)) + 2;
  const line = (flag: string, text: string) => `  ${flag.padEnd(width)}${text}`;
  return [
    `w365-image ${TOOL_VERSION}: validate an Azure managed image against the Windows 365 requirements and register it.`,
    '',
    'Usage: w365-image --image-id <resource-id> [options]',
    '       w365-image --build true --subscription-id <id> --var-file <file> [options]   (build with Packer, then register)',
    '       w365-image sysprep-check --facts <file>                         (check a build VM; --help for more)',
    '',
    'Options (the same names as the GitHub Action inputs):',
    ...options.map((o) => line(o.flag, o.text)),
    line('--verbose', 'Print debug lines.'),
    line('--help', 'Show this help.'),
    line('-V, --tool-version', 'Show the version of w365-image (--version is the device image version).'),
    '',
    'In a terminal, auth defaults to azure-cli (run az login first); in a workflow with id-token: write, to oidc.',
    'Exit codes: 0 ready/validated, 1 failed or invalid, 2 bad usage.',
  ].join('\n');
}

export interface ParsedArgs {
  /** Input name -> raw value as the action would read it (lists joined with newlines, flags 'true'/'false'). */
  values: Map<string, string>;
  help: boolean;
  version: boolean;
  verbose: boolean;
}

const OWN_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  'tool-version': { type: 'boolean', short: 'V' },
  verbose: { type: 'boolean' },
} as const satisfies ParseArgsOptionsConfig;

/** Parses the flags with Node's util.parseArgs (strict): unknown options, stray arguments and missing values are UsageErrors. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const config: ParseArgsOptionsConfig = { ...OWN_OPTIONS };
  for (const input of cliInputs()) {
    config[input.name] = FLAG_OPTIONS.has(input.name)
      ? { type: 'boolean' }
      : { type: 'string', multiple: LIST_OPTIONS.has(input.name) };
  }
  const result = (() => {
    try {
      return nodeParseArgs({
        args: [...argv],
        options: config,
        strict: true,
        allowNegative: true,
        tokens: true,
      });
    } catch (error) {
      throw usageErrorFrom(error);
    }
  })();
  const seen = new Set<string>();
  for (const token of result.tokens) {
    if (token.kind !== 'option' || LIST_OPTIONS.has(token.name)) continue;
    if (seen.has(token.name)) throw new UsageError(`Option --${token.name} is given twice.`);
    seen.add(token.name);
  }
  const parsed: ParsedArgs = {
    values: new Map(),
    help: result.values.help === true,
    version: result.values['tool-version'] === true,
    verbose: result.values.verbose === true,
  };
  for (const input of cliInputs()) {
    const value = result.values[input.name];
    if (value === undefined) continue;
    parsed.values.set(input.name, Array.isArray(value) ? value.join('\n') : String(value));
  }
  return parsed;
}

/** Turns util.parseArgs' errors into this CLI's wording, naming the option. */
function usageErrorFrom(error: unknown): UsageError {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  const named = /'(-[^' ]+)/.exec(message)?.[1] ?? '';
  const name = named.replace(/^--?(no-)?/, '');
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new UsageError(`Unknown option ${named}. Run w365-image --help for the options.`);
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': {
      const argument = /'([^']*)'/.exec(message)?.[1] ?? '';
      return new UsageError(
        `Unexpected argument '${argument}'. Options start with --; run w365-image --help.`,
      );
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (FLAG_OPTIONS.has(name))
        return new UsageError(`Option --${name} takes no value: --${name} means true, --no-${name} false.`);
      return new UsageError(
        `Option --${name} needs a value: --${name} <value> or --${name}=<value> (use = for a value that starts with -).`,
      );
    default:
      return new UsageError(message);
  }
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/** The CLI: same pipeline as the action, flags instead of INPUT_*, a printed report instead of a job summary. */
export async function runCli(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (argv.length === 0) {
    console.error(helpText());
    return 2;
  }
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
  } catch (error) {
    console.error(safeLogText((error as Error).message));
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
      getIdToken: (audience, policy) => fetchGitHubIdToken(env, audience, policy),
      signal: cancel.signal,
    });
    const { summary, outputs, problem } = await publishReport(report, config.reportPath);
    log.info(`\n${summary}`);
    for (const [name, value] of Object.entries(outputs)) log.info(`${name}=${value}`);
    if (problem) log.error(problem);
    return succeeded(report.outcome) && !problem ? 0 : 1;
  } catch (error) {
    if (error instanceof InputError) {
      log.error(error.message.replace(/^Input '([^']+)'/, '--$1'));
      return 2;
    }
    if (error instanceof AuthSetupError) {
      log.error(`${error.message} Fix: ${error.fix}`);
      return 1;
    }
    // The stack helps a maintainer, not the user: --verbose shows it.
    if (error instanceof Error && error.stack) log.debug(error.stack);
    log.error(`Unexpected error: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
  }
}
