/**
 * Finds file paths in the repository's own files that point outside the repository, so a plain clone needs nothing
 * beside it. What is scanned, by kind of file:
 * - TypeScript/JavaScript: `resolve(anchor, '..', ...)`/`join(...)` calls, `new URL('…', import.meta.url)` and every
 *   string literal that starts with `../`, resolved from the file's folder (`import.meta.dirname`/`url` anchors) or
 *   from the repository root (any other anchor, such as `repoRoot`);
 * - Markdown: relative links and paths, resolved from the file's folder;
 * - everything else (workflows, shell scripts, package.json scripts, Packer and PowerShell files): every `../` path,
 *   resolved from the file's folder and from the repository root (where workflow steps and npm scripts run); a
 *   PowerShell path on a line anchored at `$PSScriptRoot` only from the file's folder.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const repoRoot = path.resolve(import.meta.dirname, '..', '..');

/** Generated or vendored files whose text is not ours to scan. */
const NOT_SCANNED = [/^dist\//, /^package-lock\.json$/];

export interface LeavingPath {
  file: string;
  line: number;
  text: string;
  resolved: string;
}

/** Tracked text files, relative to the repository root with `/` separators. */
export function trackedFiles(root: string = repoRoot): string[] {
  return execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f !== '' && !NOT_SCANNED.some((re) => re.test(f)));
}

function leaves(root: string, from: string, segments: readonly string[]): string | undefined {
  const target = path.resolve(from, ...segments);
  const rel = path.relative(root, target);
  return rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel) ? target : undefined;
}

const lineOf = (text: string, index: number) => text.slice(0, index).split('\n').length;
const lineText = (text: string, index: number) =>
  text.slice(
    text.lastIndexOf('\n', index) + 1,
    text.indexOf('\n', index) === -1 ? undefined : text.indexOf('\n', index),
  );

/** A string argument list such as `'..', 'data'` -> its values; undefined when an argument is not a plain literal. */
function literalArguments(list: string): string[] | undefined {
  const args: string[] = [];
  const re = /\s*,\s*(['"`])([^'"`$]*)\1/gy;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(list)) !== null) {
    args.push(m[2] ?? '');
    end = re.lastIndex;
  }
  return end === list.length ? args : undefined;
}

const SCRIPT = /\.(?:[cm]?[jt]s)$/;
const CALL = /\b(?:resolve|join)\(\s*([\w$.]+)((?:\s*,\s*(['"`])[^'"`$]*\3)+)\s*\)/g;
const URL_CALL = /new URL\(\s*(['"`])([^'"`]*?)(?:\$\{[^'"`]*)?\1\s*,\s*import\.meta\.url\s*\)/g;
const DOTDOT_LITERAL = /(['"`])(\.\.\/[^'"`$]*)/g;
// A `../` path in prose, YAML or shell: not part of a longer name or of `.../`.
const DOTDOT_TOKEN = /(?<![\w.$/-])\.\.\/[^\s'"`)\]>;|&]*/g;

/** The paths in one file that resolve outside `root` (the file's own path is relative to `root`). */
export function pathsLeaving(file: string, text: string, root: string = repoRoot): LeavingPath[] {
  const dir = path.resolve(root, path.dirname(file));
  const found: LeavingPath[] = [];
  const check = (index: number, shown: string, from: string, segments: readonly string[]) => {
    const resolved = leaves(root, from, segments);
    if (resolved) found.push({ file, line: lineOf(text, index), text: shown, resolved });
  };
  if (SCRIPT.test(file)) {
    for (const m of text.matchAll(CALL)) {
      const args = literalArguments(m[2] ?? '');
      if (!args) continue;
      const anchor = m[1] ?? '';
      const from = anchor === 'import.meta.dirname' || anchor === '__dirname' ? dir : root;
      check(m.index, m[0], from, args);
    }
    for (const m of text.matchAll(URL_CALL)) check(m.index, m[0], dir, [m[2] ?? '']);
    for (const m of text.matchAll(DOTDOT_LITERAL)) check(m.index, m[2] ?? '', dir, [m[2] ?? '']);
    return dedupe(found);
  }
  const fromRootToo = !file.endsWith('.md');
  for (const m of text.matchAll(DOTDOT_TOKEN)) {
    check(m.index, m[0], dir, [m[0]]);
    // PowerShell anchored at its own folder ($PSScriptRoot) means exactly that folder.
    const anchoredHere = file.endsWith('.ps1') && lineText(text, m.index).includes('$PSScriptRoot');
    if (fromRootToo && !anchoredHere) check(m.index, m[0], root, [m[0]]);
  }
  return dedupe(found);
}

function dedupe(found: LeavingPath[]): LeavingPath[] {
  const seen = new Set<string>();
  return found.filter((f) => {
    const key = `${f.line}:${f.resolved}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Every tracked file's paths that leave the repository. */
export function repositoryPathsLeaving(root: string = repoRoot): LeavingPath[] {
  return trackedFiles(root).flatMap((file) => {
    let text: string;
    try {
      text = readFileSync(path.join(root, file), 'utf8');
    } catch {
      return [];
    }
    return text.includes('\0') ? [] : pathsLeaving(file, text, root);
  });
}
