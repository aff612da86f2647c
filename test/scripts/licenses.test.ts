import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Metafile } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleAll, LICENSES } from '../../scripts/bundle.ts';
import {
  bundledPackageDirs,
  bundledPackages,
  KNOWN_LICENCES,
  licensesText,
  packageDir,
  readPackage,
  unattributed,
} from '../../scripts/licenses.ts';

const root = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

interface Entry {
  id: string;
  license: string;
  bundles: string;
  texts: string[];
}

/** The committed licences file, split back into its entries. */
function entries(text: string): Entry[] {
  return text
    .split(`\n${'='.repeat(80)}\n`)
    .slice(1)
    .map((block) => {
      const [id = '', license = '', ...rest] = block.split('\n');
      return {
        id,
        license: license.replace(/^License: /, ''),
        bundles: rest.find((l) => l.startsWith('Bundled in: ')) ?? '',
        texts: rest.filter((l) => /^----- .+ -----$/.test(l)),
      };
    });
}

describe('dist/licenses.txt', () => {
  let metafiles: Metafile[];
  let outputs: Map<string, string>;
  let committed: string;
  beforeAll(async () => {
    ({ metafiles, outputs } = await bundleAll(false));
    committed = readFileSync(join(root, LICENSES), 'utf8');
  });

  it('is committed and byte for byte what npm run bundle makes of the current sources and node_modules', () => {
    expect(existsSync(join(root, LICENSES))).toBe(true);
    expect(committed).toBe(licensesText(bundledPackages(root, metafiles)));
  });

  it('lists every npm package with code in either bundle, once per name@version, sorted', () => {
    const expected = new Set<string>();
    for (const metafile of metafiles) {
      for (const [output, { inputs }] of Object.entries(metafile.outputs)) {
        for (const [input, { bytesInOutput }] of Object.entries(inputs)) {
          const dir = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1];
          if (!dir || bytesInOutput === 0) continue;
          const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as Record<
            string,
            string
          >;
          expected.add(`${pkg.name}@${pkg.version}`);
          expect(output).toMatch(/^dist\/(index|record)\.js$/);
        }
      }
    }
    const listed = entries(committed).map((e) => e.id);
    expect(expected.size).toBeGreaterThan(100);
    expect(new Set(listed)).toEqual(expected);
    expect(listed).toHaveLength(expected.size);
    expect(committed).toContain(`\n${expected.size} packages.\n`);
    const names = listed.map((id) => id.replace(/@[^@]+$/, ''));
    expect(names).toEqual([...names].sort());
  });

  it('lists every runtime dependency from package.json, each with its declared licence and its licence text', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const byName = new Map(entries(committed).map((e) => [e.id.replace(/@[^@]+$/, ''), e]));
    for (const name of Object.keys(pkg.dependencies)) {
      const entry = byName.get(name);
      expect(entry, name).toBeDefined();
      const installed = JSON.parse(
        readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8'),
      ) as {
        version: string;
        license: string;
      };
      expect(entry?.id).toBe(`${name}@${installed.version}`);
      expect(entry?.license).toBe(installed.license);
      expect(entry?.texts.length, name).toBeGreaterThan(0);
    }
    expect(byName.get('@actions/artifact')?.bundles).toBe('Bundled in: dist/record.js');
    expect(byName.get('@azure/identity')?.bundles).toBe('Bundled in: dist/index.js');
    expect(byName.get('@actions/core')?.bundles).toBe('Bundled in: dist/index.js, dist/record.js');
  });

  it('gives every package a licence: a declared one, and the full text whenever the package ships one', () => {
    for (const entry of entries(committed)) {
      expect(entry.license, entry.id).not.toBe('(none declared)');
      expect(entry.license, entry.id).not.toBe('');
    }
    const mit = committed.indexOf('Permission is hereby granted, free of charge');
    expect(mit).toBeGreaterThan(0);
    expect(committed).toContain('Apache License');
    // Packages published with neither (buffers@0.1.1): the licence from the upstream repository, saying so. Each
    // override must still be in use, else it would silently vouch for a version nobody looked at.
    for (const [id, known] of Object.entries(KNOWN_LICENCES)) {
      const entry = entries(committed).find((e) => e.id === id);
      expect(entry, id).toBeDefined();
      expect(entry?.license).toBe(known.license);
      expect(entry?.texts).toEqual(['----- LICENSE -----']);
      expect(committed).toContain(`${id}\nLicense: ${known.license}\nLicence source: ${known.source}`);
    }
  });

  it('names no path of the machine that made it', () => {
    for (const file of [
      LICENSES,
      ...readdirSync(join(root, 'dist')).filter((f) => f.endsWith('.LEGAL.txt')),
    ]) {
      const text = readFileSync(join(root, file.startsWith('dist/') ? file : join('dist', file)), 'utf8');
      for (const local of [root, homedir(), tmpdir()]) expect(text).not.toContain(local);
      expect(text).not.toMatch(/[A-Z]:\\/);
    }
  });

  it('sits beside the legal comments esbuild collects, which are committed as built', () => {
    const legal = [...outputs.keys()].filter((path) => path.endsWith('.LEGAL.txt')).sort();
    expect(legal).toEqual(['dist/index.js.LEGAL.txt', 'dist/record.js.LEGAL.txt']);
    for (const path of legal) expect(readFileSync(join(root, path), 'utf8'), path).toBe(outputs.get(path));
    expect(outputs.get('dist/index.js.LEGAL.txt')).toContain('MIT License');
    // External, not linked: the runner still executes one self-contained file.
    expect(outputs.get('dist/index.js')).not.toContain('LEGAL.txt');
  });
});

describe('the bundles still run with their notices moved out', () => {
  it('dist/index.js --help exits 0', async () => {
    const { stdout } = await run(process.execPath, [join(root, 'dist/index.js'), '--help'], { cwd: root });
    expect(stdout).toContain('w365-image');
  });

  it('dist/record.js loads and exports the record store', async () => {
    const script = `const m = await import(${JSON.stringify(join(root, 'dist/record.js'))}); console.log(typeof m.recordStoreTarget);`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: root });
    expect(stdout.trim()).toBe('function');
  });
});

describe('finding bundled packages and their licences', () => {
  async function fakePackage(dir: string, pkg: object, files: Record<string, string> = {}): Promise<void> {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'package.json'), JSON.stringify(pkg));
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  }

  function metafile(outputs: Record<string, Record<string, number>>): Metafile {
    return {
      inputs: {},
      outputs: Object.fromEntries(
        Object.entries(outputs).map(([out, inputs]) => [
          out,
          {
            bytes: 1,
            imports: [],
            exports: [],
            inputs: Object.fromEntries(Object.entries(inputs).map(([p, b]) => [p, { bytesInOutput: b }])),
          },
        ]),
      ),
    };
  }

  it('maps inputs to package folders, scoped and nested, and ignores our sources', () => {
    expect(packageDir('node_modules/@azure/identity/dist/esm/index.js')).toBe('node_modules/@azure/identity');
    expect(packageDir('node_modules/a/node_modules/b/lib/x.js')).toBe('node_modules/a/node_modules/b');
    expect(packageDir('node_modules/a/node_modules/@s/b/x.js')).toBe('node_modules/a/node_modules/@s/b');
    expect(packageDir('src/index.ts')).toBeUndefined();
  });

  it('counts only inputs that put bytes in an output, and records which outputs', () => {
    const dirs = bundledPackageDirs(
      metafile({
        'dist/index.js': { 'node_modules/b/i.js': 10, 'node_modules/shaken/i.js': 0, 'src/x.ts': 5 },
        'dist/record.js': { 'node_modules/b/j.js': 3, 'node_modules/a/i.js': 1 },
      }),
    );
    expect([...dirs]).toEqual([
      ['node_modules/a', ['record.js']],
      ['node_modules/b', ['index.js', 'record.js']],
    ]);
  });

  it('reads the licence field, the old licenses list and every licence-like file; fails none of them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'w365-licenses-'));
    await fakePackage(join(dir, 'node_modules/field'), { name: 'field', version: '1.0.0', license: 'MIT' });
    await fakePackage(
      join(dir, 'node_modules/old'),
      { name: 'old', version: '2.0.0', licenses: [{ type: 'MIT' }, { type: 'Apache-2.0' }] },
      { 'LICENSE-MIT': 'mit text\r\n', 'LICENSE-APACHE.txt': 'apache text', 'README.md': 'not a licence' },
    );
    await fakePackage(
      join(dir, 'node_modules/fileonly'),
      { name: 'fileonly', version: '3.0.0' },
      { COPYING: 'x' },
    );
    const packages = bundledPackages(dir, [
      metafile({ 'dist/index.js': { 'node_modules/old/i.js': 1, 'node_modules/field/i.js': 1 } }),
      metafile({ 'dist/record.js': { 'node_modules/fileonly/i.js': 1, 'node_modules/field/i.js': 1 } }),
    ]);
    expect(packages.map((p) => [p.name, p.license, p.files.map((f) => f.name), p.bundles])).toEqual([
      ['field', 'MIT', [], ['index.js', 'record.js']],
      ['fileonly', undefined, ['COPYING'], ['record.js']],
      ['old', '(MIT OR Apache-2.0)', ['LICENSE-APACHE.txt', 'LICENSE-MIT'], ['index.js']],
    ]);
    expect(packages[2]?.files[1]?.text).toBe('mit text');
    expect(unattributed(packages)).toEqual([]);
    const text = licensesText(packages);
    expect(text).toContain('\n3 packages.\n');
    expect(text).toContain('old@2.0.0\nLicense: (MIT OR Apache-2.0)\nBundled in: dist/index.js\n');
    expect(text).not.toContain(dir);
    expect(licensesText([...packages].reverse().sort((a, b) => (a.name < b.name ? -1 : 1)))).toBe(text);
  });

  it('names a package with neither a licence field nor a licence file as unattributed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'w365-licenses-'));
    await fakePackage(
      join(dir, 'node_modules/@s/bare'),
      { name: '@s/bare', version: '0.0.1' },
      { 'README.md': 'x' },
    );
    await fakePackage(join(dir, 'node_modules/ok'), { name: 'ok', version: '1.0.0', license: 'ISC' });
    const packages = [readPackage(dir, 'node_modules/@s/bare'), readPackage(dir, 'node_modules/ok')];
    expect(unattributed(packages)).toEqual(['@s/bare@0.0.1']);
  });
});
