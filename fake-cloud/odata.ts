/** The small OData subset the fake's Graph understands, parsed strictly. */

export interface FilterClause {
  property: string;
  value: string;
}

export class ODataError extends Error {}

/**
 * Parses `prop eq 'literal' [and prop eq 'literal']...` where literals escape `'` as `''`.
 * Anything else (other operators, functions, unescaped quotes, unknown properties) throws ODataError.
 */
export function parseFilter(text: string, properties: readonly string[]): FilterClause[] {
  const clauses: FilterClause[] = [];
  let i = 0;
  const skipSpaces = () => {
    while (text[i] === ' ') i += 1;
  };
  const word = (): string => {
    const start = i;
    while (i < text.length && /[A-Za-z0-9_]/.test(text[i] ?? '')) i += 1;
    return text.slice(start, i);
  };
  skipSpaces();
  for (;;) {
    const property = word();
    if (!property) throw new ODataError(`Invalid filter clause: expected a property name at position ${i}.`);
    if (!properties.includes(property)) {
      throw new ODataError(`Invalid filter clause: filtering on property '${property}' is not supported.`);
    }
    if (text[i] !== ' ') throw new ODataError(`Invalid filter clause: syntax error at position ${i}.`);
    skipSpaces();
    const operator = word();
    if (operator !== 'eq') {
      throw new ODataError(`Invalid filter clause: operator '${operator}' is not supported; only 'eq' is.`);
    }
    if (text[i] !== ' ') throw new ODataError(`Invalid filter clause: syntax error at position ${i}.`);
    skipSpaces();
    if (text[i] !== "'")
      throw new ODataError(`Invalid filter clause: expected a string literal at position ${i}.`);
    i += 1;
    let value = '';
    for (;;) {
      if (i >= text.length) throw new ODataError('Invalid filter clause: unterminated string literal.');
      const ch = text[i] ?? '';
      if (ch === "'") {
        if (text[i + 1] === "'") {
          value += "'";
          i += 2;
          continue;
        }
        i += 1;
        break;
      }
      value += ch;
      i += 1;
    }
    clauses.push({ property, value });
    if (i >= text.length) break;
    if (text[i] !== ' ') {
      throw new ODataError(`Invalid filter clause: syntax error at position ${i}: an unescaped quote?`);
    }
    skipSpaces();
    if (i >= text.length) break;
    const joiner = word();
    if (joiner !== 'and') throw new ODataError(`Invalid filter clause: expected 'and' at position ${i}.`);
    if (text[i] !== ' ') throw new ODataError(`Invalid filter clause: syntax error at position ${i}.`);
    skipSpaces();
  }
  return clauses;
}

export function parseSelect(text: string, properties: readonly string[], typeName: string): string[] {
  const names = text.split(',').map((s) => s.trim());
  for (const name of names) {
    if (!name) throw new ODataError("Syntax error: empty property name in '$select'.");
    if (!properties.includes(name)) {
      throw new ODataError(`Could not find a property named '${name}' on type '${typeName}'.`);
    }
  }
  return names;
}

export function parseTop(text: string): number {
  if (!/^\d{1,4}$/.test(text)) throw new ODataError(`Invalid value '${text}' for $top query option.`);
  const top = Number(text);
  if (top < 1 || top > 999)
    throw new ODataError(`Invalid value '${text}' for $top: it must be between 1 and 999.`);
  return top;
}

export function encodeSkipToken(offset: number): string {
  return Buffer.from(JSON.stringify({ o: offset, k: 'w365-fake' })).toString('base64url');
}

export function decodeSkipToken(token: string): number {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      o?: unknown;
      k?: unknown;
    };
    if (
      parsed.k === 'w365-fake' &&
      typeof parsed.o === 'number' &&
      Number.isInteger(parsed.o) &&
      parsed.o >= 0
    ) {
      return parsed.o;
    }
  } catch {
    // falls through
  }
  throw new ODataError('The $skiptoken is invalid or has expired.');
}
