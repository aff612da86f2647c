// A re-implementation of the parts of `packer fmt` (hclwrite) that matter for review diffs:
// 2-space indentation by bracket nesting, `=` aligned within runs of consecutive single-line
// attributes, one space after `=`, no tabs, no trailing whitespace, final newline.

interface LineScan {
  /** Net bracket change of the line ({ [ ( and ${ %{ open; } ] ) close). */
  net: number;
  /** Index of the attribute `=` when the line is a whole single-line assignment. */
  assignAt: number | undefined;
  /** Heredoc terminator opened on this line. */
  heredoc: string | undefined;
  /** The line holds only a comment. */
  commentOnly: boolean;
}

interface ScanState {
  /** Stack of open string contexts: each entry counts braces inside a ${...} of that string. */
  strings: number[];
}

function scanLine(line: string, state: ScanState): LineScan {
  let net = 0;
  let firstEquals: number | undefined;
  let netAfterEquals = 0;
  let heredoc: string | undefined;
  let sawCode = false;
  const bump = (delta: number) => {
    net += delta;
    if (firstEquals !== undefined) netAfterEquals += delta;
  };
  for (let i = 0; i < line.length; i++) {
    const c = line.charAt(i);
    const inString = state.strings.length > 0 && state.strings[state.strings.length - 1] === -1;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') state.strings.pop();
      else if ((c === '$' || c === '%') && line.charAt(i + 1) === '{' && line.charAt(i - 1) !== c) {
        state.strings[state.strings.length - 1] = 0; // enter the interpolation
        i++;
      }
      continue;
    }
    if (c === ' ' || c === '\t') continue;
    if (c === '#' || (c === '/' && line.charAt(i + 1) === '/')) break;
    sawCode = true;
    if (c === '"') {
      state.strings.push(-1);
      continue;
    }
    if (c === '<' && line.charAt(i + 1) === '<' && state.strings.length === 0) {
      const match = /^<<-?([A-Za-z_][A-Za-z0-9_]*)/.exec(line.slice(i));
      if (match?.[1]) {
        heredoc = match[1];
        break;
      }
    }
    const top = state.strings.length - 1;
    if (c === '{' || c === '[' || c === '(') {
      if (top >= 0 && c === '{') state.strings[top] = (state.strings[top] ?? 0) + 1;
      bump(1);
    } else if (c === '}' || c === ']' || c === ')') {
      if (top >= 0 && c === '}') {
        if (state.strings[top] === 0) {
          state.strings[top] = -1; // back inside the string; ${ and } cancel out
          continue;
        }
        state.strings[top] = (state.strings[top] ?? 1) - 1;
      }
      bump(-1);
    } else if (c === '=' && firstEquals === undefined && state.strings.length === 0 && i > 0) {
      const prev = line.charAt(i - 1);
      const next = line.charAt(i + 1);
      if (next !== '=' && next !== '>' && !['!', '<', '>', '='].includes(prev)) firstEquals = i;
    }
  }
  const commentOnly = !sawCode && line.trim() !== '';
  const assignAt =
    firstEquals !== undefined && netAfterEquals === 0 && heredoc === undefined ? firstEquals : undefined;
  return { net, assignAt, heredoc, commentOnly };
}

export function checkHclFormat(text: string, file = 'input'): string[] {
  const problems: string[] = [];
  const lines = text.split('\n');
  if (!text.endsWith('\n')) problems.push(`${file}: must end with a newline`);
  if (lines[lines.length - 1] === '') lines.pop();
  const indents: number[] = [];
  const state: ScanState = { strings: [] };
  let heredoc: string | undefined;
  let chain: { line: number; lead: string; assignAt: number }[] = [];

  const closeChain = () => {
    if (chain.length > 0) {
      const column = Math.max(...chain.map((c) => c.lead.trimEnd().length)) + 1;
      for (const c of chain) {
        if (c.assignAt !== column)
          problems.push(
            `${file}:${c.line}: "=" at column ${c.assignAt + 1}, expected ${column + 1} (align "=" within the attribute group)`,
          );
      }
    }
    chain = [];
  };

  lines.forEach((line, index) => {
    const lineNo = index + 1;
    if (heredoc !== undefined) {
      if (line.trim() === heredoc) heredoc = undefined;
      closeChain();
      return;
    }
    if (line.includes('\t')) problems.push(`${file}:${lineNo}: tab character (use spaces)`);
    if (/\s+$/.test(line)) problems.push(`${file}:${lineNo}: trailing whitespace`);
    if (line.trim() === '') {
      closeChain();
      return;
    }
    const inMultiLineString = state.strings.length > 0;
    const scan = scanLine(line, state);
    let expected: number;
    if (scan.net > 0) {
      expected = 2 * indents.length;
      indents.push(scan.net);
    } else if (scan.net < 0) {
      let closed = -scan.net;
      while (closed > 0 && indents.length > 0) {
        const topLevel = indents[indents.length - 1] as number;
        if (closed > topLevel) {
          closed -= topLevel;
          indents.pop();
        } else if (closed < topLevel) {
          indents[indents.length - 1] = topLevel - closed;
          closed = 0;
        } else {
          indents.pop();
          closed = 0;
        }
      }
      expected = 2 * indents.length;
    } else {
      expected = 2 * indents.length;
    }
    const actual = line.length - line.trimStart().length;
    if (!inMultiLineString && actual !== expected)
      problems.push(`${file}:${lineNo}: indented ${actual} spaces, expected ${expected}`);
    if (scan.heredoc) heredoc = scan.heredoc;

    if (scan.assignAt === undefined) {
      closeChain();
      return;
    }
    const after = line.slice(scan.assignAt + 1);
    if (!/^ \S/.test(after)) problems.push(`${file}:${lineNo}: exactly one space expected after "="`);
    chain.push({ line: lineNo, lead: line.slice(0, scan.assignAt), assignAt: scan.assignAt });
  });
  closeChain();
  return problems;
}
