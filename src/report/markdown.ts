/*
 * The one Markdown escaper: every renderer in report/ puts text it did not write itself (from Graph, ARM, Packer, the
 * build VM, a record artifact, the inputs) through one of these, one function per Markdown context. Each is safe for
 * untrusted text: it cannot end its cell, span or block, start HTML, a link or an image, or mention anyone.
 */

/**
 * Characters with a meaning inline in GitHub Markdown, backslash-escaped (they render as themselves): `|` ends a table
 * cell, `` ` `` opens code, `<` `>` start HTML, `[ ] ( ) !` links and images, `* _ ~` emphasis, `#` issue references.
 */
const INLINE_SPECIAL = /[\\`*_{}[\]<>()#+!|~]/g;

function escapeInline(text: string): string {
  // A zero-width space after @ keeps "@team" from mentioning (and notifying) anyone in a pull request comment.
  return text.replace(INLINE_SPECIAL, (c) => `\\${c}`).replaceAll('@', '@\u200b');
}

/** At most `max` characters (counted before escaping, so an escape is never cut in half), marked when cut. */
function capped(text: string, max: number | undefined): string {
  return max !== undefined && text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Text in one table cell: every inline special escaped, line breaks as `<br>`. Empty for null or undefined. */
export function cell(text: string | null | undefined, max?: number): string {
  return escapeInline(capped((text ?? '').replaceAll('\r', ''), max)).replaceAll('\n', '<br>');
}

/** Plain text on one line (a heading, a list item, a sentence): escaped as in a cell, line breaks become spaces. */
export function oneLine(text: string | null | undefined, max?: number): string {
  return escapeInline(capped((text ?? '').replace(/[\r\n]+/g, ' '), max));
}

/**
 * Inline code, safe in a table cell too: backticks (which would end it) become `'`, line breaks spaces, and `|` is
 * escaped (GitHub honours `\|` inside code in a table). Empty for an empty value: an empty code span renders as two
 * stray backticks.
 */
export function codeSpan(text: string | null | undefined, max?: number): string {
  if (!text) return '';
  return (
    '`' +
    capped(text.replace(/[\r\n]+/g, ' '), max)
      .replaceAll('`', "'")
      .replaceAll('|', '\\|') +
    '`'
  );
}

/**
 * A fenced code block holding the lines as they are, but for ``` (which would close it early and go on as Markdown):
 * that becomes '''. Returns the block's lines, fences included.
 */
export function fenced(lines: readonly string[] | string): string[] {
  const text = typeof lines === 'string' ? lines.split('\n') : lines;
  return ['```', ...text.map((line) => line.replaceAll('```', "'''")), '```'];
}
