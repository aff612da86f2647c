import { FactsError, readFacts } from '../check/facts.ts';
import { formatSysprepCheck, runSysprepCheck } from '../check/check.ts';
import type { Phase, RuleContext } from '../check/rules.ts';
import { safeLogText, safeStructuredText } from '../util/untrusted.ts';

export interface CommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  now: () => Date;
}

const defaultIo: CommandIo = {
  stdout: (text) => console.log(text),
  stderr: (text) => console.error(text),
  env: process.env,
  now: () => new Date(),
};

export const SYSPREP_CHECK_USAGE = [
  'Usage: w365-image sysprep-check --facts FILE [--teams true|false] [--phase pre-sysprep|post-capture] [--json]',
  '',
  'Checks the facts packer/scripts/facts.ps1 collected on the build VM against the Windows 365 image',
  'requirements and the usual sysprep blockers. The Packer template calls it before sysprep.',
  '',
  '  --facts FILE    The facts JSON (default: $W365_FACTS_PATH).',
  '  --teams BOOL    Teams media optimizations were requested: check their components. [default: false]',
  '  --phase PHASE   pre-sysprep (facts from the running VM) or post-capture. [default: pre-sysprep]',
  '  --json          Print the results as JSON instead of a table.',
  '  --help          Show this help.',
  '',
  'Exit codes: 0 passed, 1 a check failed or could not be verified, 2 bad usage or unreadable facts.',
].join('\n');

interface Options {
  factsPath: string;
  context: Omit<RuleContext, 'now'>;
  json: boolean;
}

class UsageError extends Error {}

/** `w365-image sysprep-check ...` (argv without the subcommand). Returns the exit code. */
export async function runSysprepCheckCommand(
  argv: readonly string[],
  io: Partial<CommandIo> = {},
): Promise<number> {
  const raw = { ...defaultIo, ...io };
  const { env, now } = raw;
  // Run by hand in a workflow step this output goes straight to the runner, and facts values (computer name, product
  // names) come from the build VM: no line may become a workflow command. JSON keeps its lines whole.
  const stdout = (text: string) => raw.stdout(safeLogText(text));
  const stdoutJson = (text: string) => raw.stdout(safeStructuredText(text));
  const stderr = (text: string) => raw.stderr(safeLogText(text));
  if (argv.includes('--help') || argv.includes('-h')) {
    stdout(SYSPREP_CHECK_USAGE);
    return 0;
  }
  let options: Options;
  try {
    options = parseOptions(argv, env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    stderr(`error: ${error.message}\n\n${SYSPREP_CHECK_USAGE}`);
    return 2;
  }
  try {
    const facts = await readFacts(options.factsPath);
    const context: RuleContext = { ...options.context, now: now() };
    const result = runSysprepCheck(facts, context);
    if (options.json) {
      stdoutJson(
        JSON.stringify(
          {
            passed: result.passed,
            phase: context.phase,
            teamsRequested: context.teamsRequested,
            facts: facts.source,
            checks: result.checks,
          },
          null,
          2,
        ),
      );
    } else {
      stdout(formatSysprepCheck(result, facts, context));
    }
    return result.passed ? 0 : 1;
  } catch (error) {
    if (error instanceof FactsError) {
      stderr(`error [${error.code}]: ${error.message}`);
      return 2;
    }
    // Its output lands in Packer's log and the job summary: a message, never a stack.
    stderr(
      `error: the sysprep check could not run: ${error instanceof Error ? error.message : String(error)}`,
    );
    return 2;
  }
}

function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): Options {
  const values = new Map<string, string>();
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--json') {
      json = true;
      continue;
    }
    const match = /^--(facts|teams|phase)(?:=(.*))?$/s.exec(arg);
    if (!match) throw new UsageError(`Unexpected argument '${arg}'.`);
    const name = match[1] as string;
    let value = match[2];
    if (value === undefined) {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`--${name} needs a value.`);
      i += 1;
    }
    if (values.has(name)) throw new UsageError(`--${name} is given twice.`);
    values.set(name, value);
  }
  const factsPath = values.get('facts') ?? env.W365_FACTS_PATH;
  if (!factsPath) throw new UsageError('--facts FILE is required (or set W365_FACTS_PATH).');
  const teams = values.get('teams') ?? 'false';
  if (teams !== 'true' && teams !== 'false')
    throw new UsageError(`--teams must be true or false, not '${teams}'.`);
  const phase = values.get('phase') ?? 'pre-sysprep';
  if (phase !== 'pre-sysprep' && phase !== 'post-capture')
    throw new UsageError(`--phase must be pre-sysprep or post-capture, not '${phase}'.`);
  return { factsPath, context: { phase: phase as Phase, teamsRequested: teams === 'true' }, json };
}
