// Runs the fake cloud until SIGTERM/SIGINT:
//   node fake-cloud/serve.ts [--time-scale N] [--upload-seconds N] [--port N] [--cloud public|usgov]
// Prints one JSON line with everything a client needs (url, CA file, ids, OIDC request values, sample image id).
import { startFakeCloud, type FakeCloudOptions } from './index.ts';

function parseArgs(argv: string[]): FakeCloudOptions {
  const options: FakeCloudOptions = {};
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = argv[i + 1];
    const number = () => {
      const n = Number(value);
      if (value === undefined || !Number.isFinite(n)) throw new Error(`${arg} needs a number`);
      i += 1;
      return n;
    };
    switch (arg) {
      case '--time-scale':
        options.timeScale = number();
        break;
      case '--upload-seconds':
        options.uploadSeconds = number();
        break;
      case '--port':
        options.port = number();
        break;
      case '--cloud':
        if (value !== 'public' && value !== 'usgov') throw new Error('--cloud must be public or usgov');
        options.cloud = value;
        i += 1;
        break;
      default:
        throw new Error(`Unknown argument: ${arg}`);
    }
  }
  return options;
}

let options: FakeCloudOptions;
try {
  options = parseArgs(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
}

const fake = await startFakeCloud(options);
const sample = fake.addManagedImage({
  resourceGroup: 'rg-cloudpc-images',
  name: 'win11-25h2-cpc-sample',
  hyperVGeneration: 'V2',
  osState: 'Generalized',
  osType: 'Windows',
  diskSizeGB: 64,
  tags: { 'w365-image:source': 'MicrosoftWindowsDesktop:windows-ent-cpc:win11-25h2-ent-cpc' },
});
process.stdout.write(
  `${JSON.stringify({
    url: fake.url,
    caFile: fake.caFile,
    tenantId: fake.tenantId,
    clientId: fake.clientId,
    subscriptionId: fake.subscriptionId,
    oidcRequestUrl: fake.oidcRequestUrl,
    oidcRequestToken: fake.oidcRequestToken,
    sampleImageId: sample.id,
  })}\n`,
);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  fake.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
