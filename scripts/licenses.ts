// The third-party notices for dist/: which npm packages esbuild put into the bundles (from its metafile), with the
// licence each package.json declares and the full text of the package's LICENSE/LICENCE/COPYING/NOTICE files.
// Pure functions of the metafile and node_modules; scripts/bundle.ts writes the result to dist/licenses.txt.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Metafile } from 'esbuild';

export interface LicenceFile {
  name: string;
  text: string;
}

export interface BundledPackage {
  name: string;
  version: string;
  /** The SPDX expression from package.json (`license`, or the old `licenses` list), or undefined. */
  license: string | undefined;
  files: LicenceFile[];
  /** The output files (base names, e.g. `index.js`) that carry some of this package's code. */
  bundles: string[];
  /** Where the licence came from when the published package lacks it (see KNOWN_LICENCES). */
  licenseSource?: string;
}

/**
 * Published packages that carry neither a licence field nor a licence file, with the licence their upstream
 * repository states, checked by hand. Keyed by exact name@version so a new version is looked at again; the text is
 * in scripts/licenses/<name@version>.LICENSE.
 */
export const KNOWN_LICENCES: Record<string, { license: string; source: string }> = {
  // Pulled in by @actions/artifact -> unzip-stream -> binary. The repository's LICENSE and later package.json say MIT.
  'buffers@0.1.1': { license: 'MIT', source: 'https://github.com/substack/node-buffers (LICENSE)' },
};

/** `node_modules/a/node_modules/@s/b/lib/x.js` -> `node_modules/a/node_modules/@s/b`; undefined outside node_modules. */
export function packageDir(input: string): string | undefined {
  const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input.replaceAll('\\', '/'));
  return match?.[1];
}

/**
 * The package folders (relative to the build's working folder) whose code is in each output: inputs that
 * contribute bytes, so tree-shaken modules do not count. Sorted; the map is keyed by the output's base name.
 */
export function bundledPackageDirs(metafile: Metafile): Map<string, string[]> {
  const dirs = new Map<string, Set<string>>();
  for (const [output, { inputs }] of Object.entries(metafile.outputs)) {
    const bundle = output.split('/').pop() ?? output;
    for (const [input, { bytesInOutput }] of Object.entries(inputs)) {
      const dir = packageDir(input);
      if (dir === undefined || bytesInOutput === 0) continue;
      const bundles = dirs.get(dir) ?? new Set<string>();
      bundles.add(bundle);
      dirs.set(dir, bundles);
    }
  }
  const byDir = new Map<string, string[]>();
  for (const dir of [...dirs.keys()].sort()) byDir.set(dir, [...(dirs.get(dir) ?? [])].sort());
  return byDir;
}

function declaredLicense(pkg: Record<string, unknown>): string | undefined {
  const one = (value: unknown): string | undefined => {
    if (typeof value === 'string' && value.trim() !== '') return value.trim();
    if (value !== null && typeof value === 'object' && 'type' in value && typeof value.type === 'string')
      return value.type;
    return undefined;
  };
  const license = one(pkg.license);
  if (license !== undefined) return license;
  if (Array.isArray(pkg.licenses)) {
    const types = pkg.licenses.map(one).filter((t): t is string => t !== undefined);
    if (types.length > 0) return types.length === 1 ? types[0] : `(${types.join(' OR ')})`;
  }
  return undefined;
}

const LICENCE_FILE = /^(licen[cs]e|copying|notice)([-._].*)?$/i;

/** One package folder as it is on disk: name, version, declared licence and licence texts (LF, no trailing blanks). */
export function readPackage(root: string, dir: string, bundles: string[] = []): BundledPackage {
  const full = join(root, dir);
  const pkg = JSON.parse(readFileSync(join(full, 'package.json'), 'utf8')) as Record<string, unknown>;
  if (typeof pkg.name !== 'string' || typeof pkg.version !== 'string')
    throw new Error(`${dir}/package.json has no name or version`);
  const files = readdirSync(full)
    .filter((file) => LICENCE_FILE.test(file) && statSync(join(full, file)).isFile())
    .sort()
    .map((file) => ({
      name: file,
      text: readFileSync(join(full, file), 'utf8')
        .replace(/^\uFEFF/, '')
        .replace(/\r\n?/g, '\n')
        .trimEnd(),
    }))
    .filter((file) => file.text !== '');
  const found: BundledPackage = {
    name: pkg.name,
    version: pkg.version,
    license: declaredLicense(pkg),
    files,
    bundles,
  };
  const known = KNOWN_LICENCES[`${pkg.name}@${pkg.version}`];
  if (known && found.license === undefined && files.length === 0) {
    const text = readFileSync(
      join(import.meta.dirname, 'licenses', `${pkg.name}@${pkg.version}.LICENSE`),
      'utf8',
    );
    return {
      ...found,
      license: known.license,
      licenseSource: known.source,
      files: [{ name: 'LICENSE', text: text.replace(/\r\n?/g, '\n').trimEnd() }],
    };
  }
  return found;
}

/** Every package with code in the bundles, sorted by name then version (one entry per name@version). */
export function bundledPackages(root: string, metafiles: Metafile[]): BundledPackage[] {
  const byId = new Map<string, BundledPackage>();
  for (const metafile of metafiles) {
    for (const [dir, bundles] of bundledPackageDirs(metafile)) {
      const pkg = readPackage(root, dir, bundles);
      const id = `${pkg.name}@${pkg.version}`;
      const seen = byId.get(id);
      if (seen) seen.bundles = [...new Set([...seen.bundles, ...bundles])].sort();
      else byId.set(id, pkg);
    }
  }
  return [...byId.values()].sort((a, b) =>
    a.name === b.name ? compareVersions(a.version, b.version) : a.name < b.name ? -1 : 1,
  );
}

function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** Packages that would ship unattributed: no licence in package.json and no licence file. */
export function unattributed(packages: BundledPackage[]): string[] {
  return packages
    .filter((p) => p.license === undefined && p.files.length === 0)
    .map((p) => `${p.name}@${p.version}`);
}

const RULE = '='.repeat(80);

/** The licences file: a header, then per package its name@version, licence, bundles and licence texts. */
export function licensesText(packages: BundledPackage[]): string {
  const lines = [
    'Third-party software bundled in dist/',
    '',
    'dist/index.js and dist/record.js contain code from the npm packages below. For each: its name and version,',
    'the licence its package.json declares, the bundles that carry it, and the text of its licence and notice files.',
    "Comments the packages mark as legal notices are in dist/*.LEGAL.txt. Generated by 'npm run bundle'; do not edit.",
    '',
    `${packages.length} packages.`,
  ];
  for (const pkg of packages) {
    lines.push('', RULE, `${pkg.name}@${pkg.version}`, `License: ${pkg.license ?? '(none declared)'}`);
    if (pkg.licenseSource !== undefined)
      lines.push(`Licence source: ${pkg.licenseSource}; the published package carries no licence.`);
    if (pkg.bundles.length > 0) lines.push(`Bundled in: ${pkg.bundles.map((b) => `dist/${b}`).join(', ')}`);
    if (pkg.files.length === 0)
      lines.push('', '(The package has no licence file; the licence above is from its package.json.)');
    for (const file of pkg.files) lines.push('', `----- ${file.name} -----`, '', file.text);
  }
  return `${lines.join('\n')}\n`;
}
