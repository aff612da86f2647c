import { describe, expect, it } from 'vitest';
import { cell, codeSpan, fenced, oneLine } from '../../src/report/markdown.ts';

/** The cells of a table row, split where GitHub splits them: at every pipe not escaped by a backslash. */
const cellsOf = (row: string) => row.split(/(?<!\\)\|/).slice(1, -1);

const HOSTILE = 'a | b\\|c `x` <img src=x onerror=1> [y](https://evil.invalid) @team **bold** #1';

describe('the Markdown escaper', () => {
  it('keeps hostile text inside one table cell, with no HTML, link, code or mention', () => {
    const row = `| ${cell(HOSTILE)} | next |`;
    expect(cellsOf(row)).toHaveLength(2);
    const text = cell(HOSTILE);
    expect(text).not.toMatch(/(?<!\\)[<>[\]`|*]/);
    expect(text).toContain('\\<img src=x onerror=1\\>');
    expect(text).toContain('\\[y\\]\\(https://evil.invalid\\)');
    expect(text).toContain('@\u200bteam');
    // A backslash of the text is itself escaped, so it cannot escape the escape of the pipe after it.
    expect(text).toContain('b\\\\\\|c');
  });

  it('turns line breaks into <br> in a cell and into spaces in one-line text, and caps where asked', () => {
    expect(cell('one\r\ntwo\nthree')).toBe('one<br>two<br>three');
    expect(cell(null)).toBe('');
    expect(oneLine('one\r\n\ntwo | <b>')).toBe('one two \\| \\<b\\>');
    expect(cell('x'.repeat(300), 200)).toBe(`${'x'.repeat(200)}…`);
    expect(oneLine('y'.repeat(10), 10)).toBe('y'.repeat(10));
    // The cap counts the text's own characters, so an escape is never cut in half.
    expect(cell(`${'z'.repeat(9)}|`, 10)).toBe(`${'z'.repeat(9)}\\|`);
  });

  it('writes inline code that no backtick ends and no pipe splits, and nothing for an empty value', () => {
    const code = codeSpan('a`b|c\nd');
    expect(code).toBe("`a'b\\|c d`");
    expect(cellsOf(`| ${code} | next |`)).toHaveLength(2);
    expect(codeSpan('')).toBe('');
    expect(codeSpan(undefined)).toBe('');
    expect(codeSpan('v'.repeat(130), 120)).toBe('`' + 'v'.repeat(120) + '…`');
  });

  it('fences a block that text holding ``` cannot close', () => {
    const block = fenced('Graph said: ```\n# Injected heading\n````');
    expect(block[0]).toBe('```');
    expect(block.at(-1)).toBe('```');
    expect(block.join('\n').match(/```/g)).toHaveLength(2);
    expect(block).toContain('# Injected heading');
    expect(fenced(['one', 'two'])).toEqual(['```', 'one', 'two', '```']);
  });
});
