// Locates the repository and the files under test. Paths are resolved from this file, so the
// tests run from any working directory; nothing outside the repository is read.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { SourceFile } from './hcl.ts';
import type { Script } from './powershell-checks.ts';

export const repoRoot = path.resolve(import.meta.dirname, '..', '..', '..');
export const packerDir = path.join(repoRoot, 'packer');
export const scriptsDir = path.join(packerDir, 'scripts');
/** The azure-arm builder's attribute names, copied from the plugin's source (the file names its commit). */
export const armFieldsPath = path.join(import.meta.dirname, '..', 'data', 'azure-arm-fields.txt');

function relative(file: string): string {
  return path.relative(repoRoot, file).split(path.sep).join('/');
}

export function templateFiles(): SourceFile[] {
  return readdirSync(packerDir)
    .filter((f) => f.endsWith('.pkr.hcl'))
    .sort()
    .map((f) => ({
      path: relative(path.join(packerDir, f)),
      text: readFileSync(path.join(packerDir, f), 'utf8'),
    }));
}

export function varFile(): SourceFile {
  const file = path.join(packerDir, 'example.pkrvars.hcl');
  return { path: relative(file), text: readFileSync(file, 'utf8') };
}

export function scripts(): Script[] {
  return readdirSync(scriptsDir)
    .filter((f) => f.endsWith('.ps1') || f.endsWith('.psm1'))
    .sort()
    .map((f) => ({ name: f, text: readFileSync(path.join(scriptsDir, f), 'utf8') }));
}

export function script(name: string): Script {
  return { name, text: readFileSync(path.join(scriptsDir, name), 'utf8') };
}

export function readPacker(name: string): string {
  return readFileSync(path.join(packerDir, name), 'utf8');
}

/** Replaces one file's text in a copy of the list (for mutation tests). */
export function withFile(files: SourceFile[], name: string, edit: (text: string) => string): SourceFile[] {
  return files.map((f) => (f.path.endsWith(`/${name}`) ? { ...f, text: edit(f.text) } : f));
}

/** String replace that fails the test when the anchor is missing (so a mutation cannot silently do nothing). */
export function mustReplace(text: string, search: string | RegExp, replacement: string): string {
  const changed = text.replace(search, replacement);
  if (changed === text) throw new Error(`mutation anchor not found: ${String(search)}`);
  return changed;
}
