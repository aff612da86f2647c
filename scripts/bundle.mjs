// Bundles src/index.ts into the single ESM file the Actions runner executes (dist/index.js).
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

await build({
  entryPoints: ['src/index.ts'],
  outfile: 'dist/index.js',
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  minify: false,
  legalComments: 'none',
  define: { W365_IMAGE_VERSION: JSON.stringify(version) },
  // Several CommonJS dependencies call require() for Node built-ins; ESM output needs a real require.
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __w365CreateRequire } from 'node:module';\nconst require = __w365CreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
