// The quick start's main job. With options, runs the bundled CLI as it is (against your Azure).
// Without options, starts the local fake cloud, seeds a sample image and runs the bundled CLI against it.
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const dist = resolve(root, 'dist/index.js');
const args = process.argv.slice(2);

function run(argv, env) {
  return new Promise((done) => {
    const child = spawn(process.execPath, [dist, ...argv], { stdio: 'inherit', env });
    const forward = (signal) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('close', (code) => done(code ?? 1));
  });
}

if (args.length > 0) {
  process.exit(await run(args, process.env));
}

const TIME_SCALE = 60;
const { startFakeCloud } = await import('../fake-cloud/index.ts');
const fake = await startFakeCloud({ timeScale: TIME_SCALE, uploadSeconds: 8 * 60 });
const image = fake.addManagedImage({ resourceGroup: 'cloudpc-images', name: 'win11-25h2-ent-cpc-sample' });
await mkdir(resolve(root, '.tmp'), { recursive: true });
console.log(
  `No Azure options given: using the local fake cloud at ${fake.url}, with a simulated clock ${TIME_SCALE} times faster than real time.`,
);
console.log(`Sample managed image: ${image.id}\n`);
const started = Date.now();
const code = await run(
  [
    '--image-id',
    image.id,
    '--display-name',
    'Win11 25H2 Enterprise (sample)',
    '--auth',
    'oidc',
    '--tenant-id',
    fake.tenantId,
    '--client-id',
    fake.clientId,
    '--arm-endpoint',
    fake.url,
    '--graph-endpoint',
    fake.url,
    '--authority-host',
    fake.url,
    '--report-path',
    resolve(root, '.tmp/w365-image-report.json'),
  ],
  {
    ...process.env,
    NODE_EXTRA_CA_CERTS: fake.caFile,
    ACTIONS_ID_TOKEN_REQUEST_URL: fake.oidcRequestUrl,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: fake.oidcRequestToken,
    W365_IMAGE_TIME_SCALE: String(TIME_SCALE),
  },
);
await fake.close();
// The report's durations come from the simulated clock: say so next to them.
console.log(
  `\nDurations above are simulated (the fake cloud's clock runs ${TIME_SCALE} times faster); this run took ${((Date.now() - started) / 1000).toFixed(1)} s of real time.`,
);
process.exit(code);
