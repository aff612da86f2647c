import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { parsePackerVars } from './variables.ts';

/**
 * What the build will be given, read before Packer runs: the template's variable defaults, then its
 * *.auto.pkrvars.hcl files, then the var files in order, then packer-vars (Packer's own precedence). Only
 * one-line string, number and bool assignments are read; anything else is left to Packer.
 */
export async function templateValues(
  templateDir: string,
  varFiles: readonly string[],
  packerVars: string,
): Promise<Map<string, string>> {
  const values = new Map<string, string>();
  const root = resolve(templateDir);
  const files = (await listFiles(root)).filter((f) => dirname(f) === root).sort();
  for (const file of files.filter((f) => f.endsWith('.pkr.hcl')))
    for (const [name, value] of variableDefaults(await readFile(file, 'utf8'))) values.set(name, value);
  for (const file of files.filter((f) => f.endsWith('.auto.pkrvars.hcl')))
    for (const [name, value] of assignments(await readFile(file, 'utf8'))) values.set(name, value);
  for (const file of varFiles)
    for (const [name, value] of assignments(await readFile(file, 'utf8'))) values.set(name, value);
  for (const [name, value] of parsePackerVars(packerVars)) values.set(name, unquote(value));
  return values;
}

/**
 * Variables that name where the output goes or which base version is used (compared on its own), not what is
 * built: a monthly workflow gives every run a new image name, which must not count as a template change.
 */
export const NOT_DIGESTED = new Set([
  'managed_image_name',
  'managed_image_resource_group_name',
  'image_version',
]);

/**
 * sha256 over what shapes the image: every file of the template folder (path and content), the var files'
 * contents and the packer-vars (sorted, without NOT_DIGESTED), so equal inputs give an equal digest on any runner.
 */
export async function templateDigest(
  templateDir: string,
  varFiles: readonly string[],
  packerVars: string,
): Promise<string> {
  const hash = createHash('sha256');
  const root = resolve(templateDir);
  for (const file of (await listFiles(root)).sort()) {
    hash.update(`template:${relative(root, file).split(sep).join('/')}\n`);
    hash.update((await readFile(file, 'utf8')).replaceAll('\r\n', '\n'));
    hash.update('\n');
  }
  for (const file of varFiles) {
    hash.update('var-file\n');
    hash.update((await readFile(file, 'utf8')).replaceAll('\r\n', '\n'));
    hash.update('\n');
  }
  const vars = [...parsePackerVars(packerVars)].filter(([name]) => !NOT_DIGESTED.has(name)).sort();
  for (const [name, value] of vars) hash.update(`var:${name}=${value}\n`);
  return `sha256:${hash.digest('hex')}`;
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(path)));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}

const SIMPLE_VALUE = String.raw`("(?:[^"\\]|\\.)*"|true|false|-?\d+(?:\.\d+)?)`;

function unquote(value: string): string {
  return /^".*"$/.test(value) ? value.slice(1, -1).replace(/\\(.)/g, '$1') : value;
}

/** `name = value` lines of a .pkrvars.hcl file. */
function assignments(text: string): Map<string, string> {
  const values = new Map<string, string>();
  const line = new RegExp(String.raw`^\s*([A-Za-z_][\w-]*)\s*=\s*${SIMPLE_VALUE}\s*(?:#.*|//.*)?$`, 'gm');
  for (const match of text.matchAll(line)) values.set(match[1] as string, unquote(match[2] as string));
  return values;
}

/** `default = value` of each `variable "name" { ... }` block (the block's first default). */
function variableDefaults(text: string): Map<string, string> {
  const values = new Map<string, string>();
  const block = new RegExp(
    String.raw`variable\s+"([A-Za-z_][\w-]*)"\s*\{(?:[^{}]|\{[^{}]*\})*?^\s*default\s*=\s*${SIMPLE_VALUE}\s*$`,
    'gm',
  );
  for (const match of text.matchAll(block)) values.set(match[1] as string, unquote(match[2] as string));
  return values;
}
