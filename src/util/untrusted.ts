/**
 * Text from outside (Graph, ARM, Entra, GitHub, Packer and the build VM, facts files, inputs) made safe to write.
 *
 * Two dangers: the Actions runner reads every stdout line that starts with `::` (after leading white space) or holds
 * `##[` as a workflow command, so a policy named "Eng\n::add-mask::Device" would become a command; and an endpoint
 * that echoes what it was sent can put a token into text we publish (the report, the summary, the PR comment),
 * where the runner's masking does not reach.
 */

/** Longest line written to the log; the rest is cut with a note. */
export const MAX_LINE_CHARS = 2_000;
/** Most lines one log message may have. */
export const MAX_MESSAGE_LINES = 1_000;
/** How much of a rejected value an error message quotes. */
export const PREFIX_CHARS = 40;

const secrets = new Set<string>();

/** Remembers a token so that every later text we write has it replaced by `***`. */
export function registerSecret(value: string | undefined | null): void {
  // Very short values would blank out ordinary words.
  if (value && value.length >= 8) secrets.add(value);
}

// JSON Web Tokens (GitHub ID tokens, client assertions, Entra access tokens): base64url header `{"` ...
const JWT = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;
// GitHub tokens: ghp_, gho_, ghu_, ghs_, ghr_ and fine-grained personal access tokens.
const GITHUB_TOKEN = /\b(?:gh[opusr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})\b/g;

/** The text with every known secret and anything shaped like a token replaced by `***`. */
export function scrubSecrets(text: string): string {
  let out = text.replace(JWT, '***').replace(GITHUB_TOKEN, '***');
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join('***');
  return out;
}

/** Every string inside a JSON-like value scrubbed (for the report, which several writers publish). */
export function scrubDeep<T>(value: T): T {
  if (typeof value === 'string') return scrubSecrets(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => scrubDeep(v)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = scrubDeep(v);
    return out as T;
  }
  return value;
}

// ANSI colour codes are harmless and Packer uses them; every other control character (C0 but tab, DEL, C1) is shown
// as U+FFFD. A lone CR would start a new line for the runner; ESC sequences could rewrite a terminal.
const CONTROL = new RegExp(String.raw`\u001b\[[0-9;]*m|[\u0000-\u0008\u000b-\u001f\u007f-\u009f]`, 'g');
// What the runner's command parser trims before it looks for `::` (.NET white space), plus zero-width no-break space.
const LEADING_COMMAND = /^([\s\u0085\u180e\u200b\ufeff]*):(?=:)/;

/** One line that cannot be a workflow command, with no control characters, at most MAX_LINE_CHARS long. */
export function safeLine(line: string): string {
  let out = line.replace(CONTROL, (m) => (m.length > 1 ? m : '\uFFFD'));
  if (out.length > MAX_LINE_CHARS)
    out = `${out.slice(0, MAX_LINE_CHARS)}… (${out.length - MAX_LINE_CHARS} more characters not shown)`;
  return noCommand(out);
}

// A zero-width space between the colons: the text reads the same, the runner no longer sees a command.
const noCommand = (line: string) => line.replace(LEADING_COMMAND, '$1:\u200b').replaceAll('##[', '##\u200b[');

/**
 * Machine-readable text (JSON) made safe for the runner without cutting or changing its lines' structure: secrets
 * scrubbed, no line a workflow command. JSON escapes control characters itself.
 */
export function safeStructuredText(text: string): string {
  return scrubSecrets(text).split('\n').map(noCommand).join('\n');
}

/** A log message made safe: secrets scrubbed, every line neutralised and cut, at most MAX_MESSAGE_LINES lines. */
export function safeLogText(text: string): string {
  const lines = scrubSecrets(text).split(/\r\n|\r|\n/);
  const shown = lines.slice(0, MAX_MESSAGE_LINES).map(safeLine);
  if (lines.length > MAX_MESSAGE_LINES)
    shown.push(`… (${lines.length - MAX_MESSAGE_LINES} more lines not shown)`);
  return shown.join('\n');
}

const ANY_CONTROL = new RegExp(String.raw`[\u0000-\u001f\u007f-\u009f]`, 'g');

/** A short, single-line quotation of a value for an error message: `'abc…' (120000 characters)`. */
export function quotePrefix(value: string, max = PREFIX_CHARS): string {
  const flat = value.replace(ANY_CONTROL, ' ');
  if (flat.length <= max) return `'${flat}'`;
  return `'${flat.slice(0, max)}…' (${value.length} characters)`;
}
