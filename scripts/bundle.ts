// Bundles src/index.ts into the single ESM file the Actions runner executes (dist/index.js), and the image record
// store into dist/record.js beside it. Beside them: the packages' legal comments (dist/*.LEGAL.txt, from esbuild)
// and dist/licenses.txt, every bundled npm package with its licence (scripts/licenses.ts). All are committed.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { bundledPackages, licensesText, unattributed } from './licenses.ts';

export const root = resolve(import.meta.dirname, '..');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

export const options: BuildOptions = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  minify: false,
  // Statement-level legal comments go to dist/<bundle>.LEGAL.txt, without a link comment: index.js stays one file.
  legalComments: 'external',
  metafile: true,
  define: { W365_IMAGE_VERSION: JSON.stringify(version), W365_RECORD_STORE: JSON.stringify('./record.js') },
  // Several CommonJS dependencies call require() for Node built-ins; ESM output needs a real require.
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __w365CreateRequire } from 'node:module';\nconst require = __w365CreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
};

export const bundles: BuildOptions[] = [
  { entryPoints: ['src/index.ts'], outfile: 'dist/index.js' },
  // The record store carries the Actions artifact client, about as large as everything else together: a file of
  // its own, loaded only by builds, so registering an existing image never parses it.
  { entryPoints: ['src/record/store.ts'], outfile: 'dist/record.js' },
];

export const LICENSES = 'dist/licenses.txt';

/**
 * Builds both bundles, written to dist/ or (`write: false`) only in memory, and returns their metafiles and, in
 * memory, the output files by path relative to the repository (`dist/index.js`, `dist/index.js.LEGAL.txt`, ...).
 */
export async function bundleAll(
  write = true,
): Promise<{ metafiles: Metafile[]; outputs: Map<string, string> }> {
  const metafiles: Metafile[] = [];
  const outputs = new Map<string, string>();
  for (const bundle of bundles) {
    const result = await build({ ...options, ...bundle, write });
    if (!result.metafile) throw new Error('esbuild returned no metafile');
    metafiles.push(result.metafile);
    for (const file of result.outputFiles ?? [])
      outputs.set(relative(root, file.path).replaceAll('\\', '/'), file.text);
  }
  return { metafiles, outputs };
}

if (import.meta.main) {
  // esbuild writes no .LEGAL.txt for a bundle without legal comments: clear old ones so none outlives its source.
  const dist = join(root, 'dist');
  for (const file of readdirSync(dist)) if (file.endsWith('.LEGAL.txt')) rmSync(join(dist, file));
  const packages = bundledPackages(root, (await bundleAll()).metafiles);
  const missing = unattributed(packages);
  if (missing.length > 0) {
    console.error(
      `These bundled packages declare no licence and have no licence file, so dist/ would ship them unattributed:\n` +
        `  ${missing.join('\n  ')}\nFind their licences and record them before bundling them.`,
    );
    process.exit(1);
  }
  writeFileSync(join(root, LICENSES), licensesText(packages));
}
