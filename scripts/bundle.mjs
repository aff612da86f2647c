// Bundles src/index.ts into the single ESM file the Actions runner executes (dist/index.js), and the image record
// store into dist/record.js beside it.
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

const options = {
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  minify: false,
  legalComments: 'none',
  define: { W365_IMAGE_VERSION: JSON.stringify(version), W365_RECORD_STORE: JSON.stringify('./record.js') },
  // Several CommonJS dependencies call require() for Node built-ins; ESM output needs a real require.
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __w365CreateRequire } from 'node:module';\nconst require = __w365CreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
};

await build({ ...options, entryPoints: ['src/index.ts'], outfile: 'dist/index.js' });
// The record store carries the Actions artifact client, about as large as everything else together: a file of its
// own, loaded only by builds, so registering an existing image never parses it.
await build({ ...options, entryPoints: ['src/record/store.ts'], outfile: 'dist/record.js' });
