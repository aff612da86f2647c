// Checks on the guest PowerShell scripts, parsed with the tree-sitter PowerShell grammar.
import type { Node } from 'web-tree-sitter';
import { syntaxProblems, walk } from './tree-sitter.ts';
import type { SourceParser } from './tree-sitter.ts';

export const HELPER_FILE = 'W365.Helpers.psm1';
/** How every guest script loads the helper module: from the folder the template uploads it to. */
export const HELPER_IMPORT = "Import-Module (Join-Path $env:W365_BUILD_DIR 'W365.Helpers.psm1') -Force";

export interface Script {
  name: string;
  text: string;
}

function isComment(node: Node): boolean {
  return node.type === 'comment';
}

/** Top-level statements of the script, comments left out. */
function topStatements(root: Node): Node[] {
  const list = root.namedChildren.find((c) => c.type === 'statement_list');
  return (list?.namedChildren ?? []).filter((n) => !isComment(n));
}

export function syntaxErrors(parse: SourceParser, script: Script): string[] {
  return syntaxProblems(parse(script.text).rootNode).map(
    (p) => `${script.name}:${p.line}:${p.column}: ${p.kind} ${JSON.stringify(p.text)}`,
  );
}

export interface CommandCall {
  name: string;
  /** Parameter name (lower case, without dash) -> argument text ('' for switches). */
  parameters: Map<string, string>;
  line: number;
  node: Node;
}

export function commandCalls(root: Node): CommandCall[] {
  const calls: CommandCall[] = [];
  for (const node of walk(root)) {
    if (node.type !== 'command') continue;
    const nameNode = node.childForFieldName('command_name');
    if (!nameNode) continue;
    const parameters = new Map<string, string>();
    const elements = node.childForFieldName('command_elements');
    const parts = (elements?.namedChildren ?? []).filter((c) => c.type !== 'command_argument_sep');
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] as Node;
      if (part.type !== 'command_parameter') continue;
      const [rawName, inlineValue] = part.text.replace(/^-/, '').split(':', 2);
      const next = parts[i + 1];
      if (inlineValue !== undefined) parameters.set((rawName ?? '').toLowerCase(), inlineValue);
      else if (next && next.type !== 'command_parameter') {
        parameters.set((rawName ?? '').toLowerCase(), next.text);
        i++;
      } else parameters.set((rawName ?? '').toLowerCase(), '');
    }
    calls.push({ name: nameNode.text, parameters, line: node.startPosition.row + 1, node });
  }
  return calls;
}

/** `$name = 'literal'` assignments at any level (last one wins): enough to resolve constants. */
export function stringConstants(text: string): Map<string, string> {
  const constants = new Map<string, string>();
  for (const match of text.matchAll(/^\s*\$([A-Za-z_][A-Za-z0-9_]*)\s*=\s*'([^']*)'\s*$/gm)) {
    if (match[1] !== undefined && match[2] !== undefined) constants.set(match[1].toLowerCase(), match[2]);
  }
  return constants;
}

function resolveArgument(value: string, constants: Map<string, string>): string {
  const variable = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(value);
  if (variable?.[1]) return constants.get(variable[1].toLowerCase()) ?? value;
  const quoted = /^'([^']*)'$/.exec(value) ?? /^"([^"$`]*)"$/.exec(value);
  return quoted?.[1] ?? value;
}

export interface RegistryWrite {
  path: string;
  name: string;
  type: string;
  value: string;
  line: number;
}

/** Registry values written with New-ItemProperty / Set-ItemProperty, constants resolved. */
export function registryWrites(parse: SourceParser, script: Script): RegistryWrite[] {
  const root = parse(script.text).rootNode;
  const constants = stringConstants(script.text);
  return commandCalls(root)
    .filter((c) => /^((New|Set)-ItemProperty|Set-W365RegistryValue)$/i.test(c.name))
    .map((c) => ({
      path: resolveArgument(c.parameters.get('path') ?? c.parameters.get('literalpath') ?? '', constants),
      name: resolveArgument(c.parameters.get('name') ?? '', constants),
      type: resolveArgument(
        c.parameters.get('propertytype') ?? c.parameters.get('type') ?? c.parameters.get('kind') ?? '',
        constants,
      ),
      value: resolveArgument(c.parameters.get('value') ?? '', constants),
      line: c.line,
    }));
}

const DOWNLOAD_COMMANDS =
  /^(Invoke-WebRequest|iwr|Invoke-RestMethod|irm|Start-BitsTransfer|curl(\.exe)?|wget(\.exe)?|bitsadmin(\.exe)?)$/i;

/**
 * Fail-loudly rules for every script: strict mode and Stop first, the shared helper module imported (never
 * dot-sourced),
 * nothing that swallows errors, every native `&` call followed by a $LASTEXITCODE check,
 * downloads and installers only through the verified helper.
 */
export function checkScriptRules(parse: SourceParser, script: Script): string[] {
  const problems: string[] = [];
  const at = (line: number, message: string) => problems.push(`${script.name}:${line}: ${message}`);
  const root = parse(script.text).rootNode;
  const isHelper = script.name === HELPER_FILE;

  const top = topStatements(root);
  if (top[0]?.text.trim() !== 'Set-StrictMode -Version Latest')
    problems.push(`${script.name}: first statement must be "Set-StrictMode -Version Latest"`);
  if (!/^\$ErrorActionPreference\s*=\s*'Stop'$/.test(top[1]?.text.trim() ?? ''))
    problems.push(`${script.name}: second statement must be "$ErrorActionPreference = 'Stop'"`);
  if (!isHelper && top[2]?.text.trim() !== HELPER_IMPORT)
    problems.push(`${script.name}: third statement must import the shared helper module: ${HELPER_IMPORT}`);

  const lines = script.text.split('\n');
  lines.forEach((line, i) => {
    const code = line.replace(/#.*$/, '');
    if (/-(ErrorAction|ea)\s*:?\s*(SilentlyContinue|Ignore|Continue|0)\b/i.test(code))
      at(i + 1, 'error-swallowing -ErrorAction');
    if (/\$ErrorActionPreference\s*=\s*['"](?!Stop['"])/i.test(code))
      at(i + 1, '$ErrorActionPreference other than Stop');
    if (/^\s*trap\b/i.test(code)) at(i + 1, 'trap handler');
    if (/\bSet-StrictMode\s+-Off\b/i.test(code)) at(i + 1, 'strict mode switched off');
    if (!isHelper && /(Net\.WebClient|DownloadFile|HttpClient)/i.test(code))
      at(i + 1, 'download outside Invoke-W365VerifiedDownload');
  });

  for (const node of walk(root)) {
    if (node.type === 'catch_clause') {
      const block = node.namedChildren.find((c) => c.type === 'statement_block');
      const body = block?.namedChildren.filter((c) => !isComment(c)) ?? [];
      const statements = body.flatMap((b) => (b.type === 'statement_list' ? b.namedChildren : [b]));
      if (statements.filter((s) => !isComment(s)).length === 0)
        at(node.startPosition.row + 1, 'empty catch block swallows errors');
    }
  }

  const scriptBlockParams = new Set(
    [...script.text.matchAll(/\[scriptblock\]\s*\$([A-Za-z_][A-Za-z0-9_]*)/gi)].map((m) =>
      (m[1] ?? '').toLowerCase(),
    ),
  );
  for (const call of commandCalls(root)) {
    const node = call.node;
    const operator = node.namedChildren.find((c) => c.type === 'command_invokation_operator');
    // A dot-sourced file runs in the script's scope, past the module's export list. The helper module's
    // own seam (W365.Platform.ps1, staged only by the tests) is the one dot-source.
    if (!isHelper && operator?.text === '.')
      at(call.line, `dot-sources ${call.name}: import the helper module instead (${HELPER_IMPORT})`);
    // Invoke-W365Executable is the helper's seam around `&`: the same $LASTEXITCODE duty applies.
    if (operator?.text === '&' || (!isHelper && call.name === 'Invoke-W365Executable')) {
      const target = call.name.replace(/^\$/, '').toLowerCase();
      if (!scriptBlockParams.has(target)) {
        const following = lines.slice(node.endPosition.row, node.endPosition.row + 4).join('\n');
        if (!/\$LASTEXITCODE/i.test(following))
          at(call.line, `native call "& ${call.name}" without a $LASTEXITCODE check`);
      }
    }
    if (!isHelper && DOWNLOAD_COMMANDS.test(call.name))
      at(call.line, `${call.name}: downloads must go through Invoke-W365VerifiedDownload`);
    if (!isHelper && /^(Start-Process|saps)$/i.test(call.name))
      at(call.line, 'Start-Process: run installers through Invoke-W365Process (exit code checked)');
    if (/^(cmd(\.exe)?|reg(\.exe)?)$/i.test(call.name)) at(call.line, `${call.name}: use PowerShell cmdlets`);
  }
  return problems;
}

/** Source text of a function defined in the script. */
export function functionText(parse: SourceParser, script: Script, name: string): string | undefined {
  for (const node of walk(parse(script.text).rootNode)) {
    if (node.type === 'function_statement') {
      const fn = node.namedChildren.find((c) => c.type === 'function_name');
      if (fn?.text.toLowerCase() === name.toLowerCase()) return node.text;
    }
  }
  return undefined;
}

/** Names of the functions the script defines (at any level). */
export function definedFunctions(parse: SourceParser, script: Script): string[] {
  const names: string[] = [];
  for (const node of walk(parse(script.text).rootNode)) {
    if (node.type !== 'function_statement') continue;
    const fn = node.namedChildren.find((c) => c.type === 'function_name');
    if (fn) names.push(fn.text);
  }
  return names;
}

/** What the module's Export-ModuleMember calls list, by kind (functions, variables); quoted names only. */
export function moduleExports(
  parse: SourceParser,
  script: Script,
): { functions: string[]; variables: string[] } {
  const functions: string[] = [];
  const variables: string[] = [];
  for (const call of commandCalls(parse(script.text).rootNode)) {
    if (!/^Export-ModuleMember$/i.test(call.name)) continue;
    const names = (value: string | undefined): string[] =>
      [...(value ?? '').matchAll(/'([^']+)'/g)].map((m) => m[1] ?? '');
    functions.push(...names(call.parameters.get('function')));
    variables.push(...names(call.parameters.get('variable')));
  }
  return { functions, variables };
}

/** Names of the commands the script calls (as written). */
export function calledCommands(parse: SourceParser, script: Script): Set<string> {
  return new Set(commandCalls(parse(script.text).rootNode).map((c) => c.name));
}

/** `-Uri` arguments of every Invoke-W365VerifiedDownload call, constants resolved. */
export function verifiedDownloads(parse: SourceParser, script: Script): string[] {
  const constants = stringConstants(script.text);
  return commandCalls(parse(script.text).rootNode)
    .filter((c) => c.name === 'Invoke-W365VerifiedDownload')
    .map((c) => resolveArgument(c.parameters.get('uri') ?? '', constants));
}

const PS7_OPERATORS: Record<string, string> = {
  '??': 'null-coalescing operator ??',
  '??=': 'null-coalescing assignment ??=',
  '?.': 'null-conditional member access ?.',
  '?[': 'null-conditional index ?[',
  '&&': 'pipeline chain operator &&',
  '||': 'pipeline chain operator ||',
};
const PS7_PARAMETERS: Record<string, string> = {
  '-parallel': 'ForEach-Object -Parallel',
  '-ashashtable': 'ConvertFrom-Json -AsHashtable',
  '-skiphttperrorcheck': 'Invoke-WebRequest/Invoke-RestMethod -SkipHttpErrorCheck',
  '-noproxy': 'Invoke-WebRequest/Invoke-RestMethod -NoProxy',
};
const PS7_COMMANDS =
  /^(Join-String|Test-Json|Get-Error|ForEach-Object\s+-Parallel|Start-ThreadJob|ConvertTo-CliXml|Get-SecureRandom)$/i;

/**
 * PowerShell 7-only syntax and commands, which Windows PowerShell 5.1 (the guest's interpreter: Packer's
 * powershell provisioner runs powershell.exe) rejects: ??, ?., ternary, && / || chains, -Parallel and friends.
 * The grammar parses the 7.x language; 5.1 lacks these, so each is named here rather than left to a parse error.
 */
export function windowsPowerShellProblems(parse: SourceParser, script: Script): string[] {
  const problems: string[] = [];
  const root = parse(script.text).rootNode;
  for (const node of walk(root)) {
    const at = `${script.name}:${node.startPosition.row + 1}`;
    if (node.type === 'comment' || node.type.includes('string')) continue;
    if (node.childCount === 0 && PS7_OPERATORS[node.text])
      problems.push(`${at}: ${PS7_OPERATORS[node.text]}`);
    if (node.type === 'ERROR' && /^\?/.test(node.text.trim()))
      problems.push(`${at}: ${PS7_OPERATORS[node.text.trim()] ?? 'ternary or null-conditional operator ?'}`);
    if (node.type === 'command_parameter' && PS7_PARAMETERS[node.text.toLowerCase()])
      problems.push(`${at}: ${PS7_PARAMETERS[node.text.toLowerCase()]}`);
  }
  for (const call of commandCalls(root))
    if (PS7_COMMANDS.test(call.name))
      problems.push(`${script.name}:${call.line}: ${call.name} (PowerShell 7 only)`);
  return [...new Set(problems)];
}
