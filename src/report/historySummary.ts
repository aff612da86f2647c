import { renderDiff } from './diffSection.ts';
import { cell, codeSpan, oneLine } from './markdown.ts';
import type { Report } from './report.ts';

/** Diff tables longer than this many rows are folded into a <details> block. */
const COLLAPSE_AFTER_ROWS = 12;

/** Values from a record (an artifact: not ours to trust) are cut to this many characters in a cell... */
const MAX_VALUE = 120;
/** ...and reasons and notes in a sentence to this many. */
const MAX_SENTENCE = 300;

/** A compared value as inline code in a table cell; a dash when there was none. */
const value = (text: string | null) => codeSpan(text, MAX_VALUE) || '—';

/**
 * Markdown for what the run compared and what changed since the previous image: the freshness table
 * (skip-if-unchanged), the diff, or a plain sentence that there was nothing to compare with.
 */
export function historyLines(report: Report, options: { collapse: boolean }): string[] {
  const lines: string[] = [];
  const f = report.freshness;
  if (f) {
    lines.push(
      `### Freshness: ${f.upToDate ? 'unchanged, nothing built' : `building (${oneLine(f.reason, MAX_SENTENCE)})`}`,
      '',
      '| Compared | Newest ready image | This run | |',
      '| --- | --- | --- | --- |',
      ...f.compared.map(
        (c) =>
          `| ${cell(c.item)} | ${value(c.previous)} | ${value(c.now)} | ${c.same ? 'same' : '**changed**'} |`,
      ),
      '',
    );
    if (f.upToDate && f.compared[0]?.same)
      lines.push('Base not refreshed yet: Microsoft has not published a newer version of the base.', '');
  }
  if (!report.record) return lines;
  lines.push('### What changed since the last image', '');
  if (!report.diff) {
    lines.push(
      `No previous record of this display name, so there is nothing to compare with: this is the first record${report.previousRecordNote ? ` (${oneLine(report.previousRecordNote, MAX_SENTENCE)})` : ''}.`,
      '',
    );
    return lines;
  }
  const diff = renderDiff(report.diff);
  const [headline, ...table] = diff;
  const rows = table.filter(
    (l) => l.startsWith('| ') && !l.startsWith('| Change |') && !l.startsWith('| ---'),
  ).length;
  if (options.collapse && rows > COLLAPSE_AFTER_ROWS) {
    lines.push(
      headline ?? '',
      '',
      `<details><summary>${rows} changes</summary>`,
      '',
      ...table,
      '</details>',
      '',
    );
  } else lines.push(...diff);
  return lines;
}
