import type { ImageDiff } from '../record/diff.ts';
import { cell, oneLine } from './markdown.ts';

/** Names and versions come from the build VM: not ours to trust, and capped at this many characters. */
const MAX_TEXT = 200;

/** One value of a diff row: escaped and capped, a dash when the side has none. */
const value = (text: string | null) => (text === null ? '—' : cell(text, MAX_TEXT));

/** Markdown lines: a headline count and one table of every change. */
export function renderDiff(diff: ImageDiff): string[] {
  const lines = [
    `**Changes since ${oneLine(diff.from, MAX_TEXT)}:** ${diff.total === 0 ? 'none' : diff.total}`,
    '',
  ];
  for (const note of diff.notes) lines.push(`_${oneLine(note, MAX_TEXT)}_`, '');
  if (diff.total === 0) return lines;
  lines.push('| Change | Item | Before | After |', '| --- | --- | --- | --- |');
  const row = (kind: string, name: string, from: string | null, to: string | null) =>
    lines.push(`| ${kind} | ${value(name)} | ${value(from)} | ${value(to)} |`);
  if (diff.base) row('base', diff.base.name, diff.base.from, diff.base.to);
  if (diff.build) row('updated', diff.build.name, diff.build.from, diff.build.to);
  for (const c of diff.components)
    row(c.from === null ? 'added' : c.to === null ? 'removed' : 'updated', c.name, c.from, c.to);
  for (const u of diff.updates.added) row('update installed', u, null, u);
  for (const u of diff.updates.removed) row('update gone', u, u, null);
  for (const [kind, changes] of [
    ['program', diff.programs],
    ['app', diff.appx],
  ] as const) {
    for (const p of changes.added) row(`${kind} added`, p.name, null, p.version);
    for (const p of changes.removed) row(`${kind} removed`, p.name, p.version, null);
    for (const p of changes.updated) row(`${kind} updated`, p.name, p.from, p.to);
  }
  lines.push('');
  return lines;
}
