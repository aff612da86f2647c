import { cloudNamed, type CloudName } from './clouds.ts';

/** One input of the action; the CLI takes the same names as `--name` flags. */
export interface InputSpec {
  name: string;
  description: string;
  default?: string;
  /** Read by the action only (not a CLI flag). */
  actionOnly?: true;
}

export const INPUTS: readonly InputSpec[] = [
  {
    name: 'image-id',
    description:
      'Resource ID of the Azure managed image to validate and register. Leave empty to build one with Packer.',
  },
  {
    name: 'build',
    description:
      'true: build the image with Packer first; validate: only packer init, fmt -check and validate (no Azure); false: use image-id. Default: false (an empty image-id without build: true is an error).',
  },
  { name: 'template', description: 'Folder of the Packer template (default: the bundled packer/ template).' },
  { name: 'var-file', description: 'Packer variable files (-var-file), one path per line.' },
  { name: 'packer-vars', description: 'Packer variables, one name=value per line.' },
  {
    name: 'build-timeout-minutes',
    description: 'Limit for the Packer build; Packer is interrupted (and cleans up) after it.',
    default: '120',
  },
  {
    name: 'display-name',
    description: 'Display name of the Windows 365 device image (default: the managed image name).',
  },
  {
    name: 'version',
    description:
      'Device image version, Major.Minor.Patch. Default: derived from the managed image (YYYY.MMDD.HHMMSS of its creation time), the same on every re-run.',
  },
  { name: 'register', description: 'true: validate and register; false: validate only.', default: 'true' },
  { name: 'auth', description: 'oidc (GitHub OIDC federated credential) or azure-cli.', default: 'oidc' },
  { name: 'tenant-id', description: 'Microsoft Entra tenant ID (required for oidc).' },
  {
    name: 'client-id',
    description: 'Application (client) ID of the federated identity (required for oidc).',
  },
  {
    name: 'subscription-id',
    description: 'Subscription of the managed image (default: the one in image-id).',
  },
  {
    name: 'azure-environment',
    description: "public or usgov (azure/login's AzureCloud and AzureUSGovernment too).",
    default: 'public',
  },
  {
    name: 'arm-endpoint',
    description: 'Advanced: override the Azure Resource Manager URL (audience unchanged).',
  },
  { name: 'graph-endpoint', description: 'Advanced: override the Microsoft Graph URL (audience unchanged).' },
  { name: 'authority-host', description: 'Advanced: override the Microsoft Entra authority URL.' },
  {
    name: 'wait-timeout-minutes',
    description: 'How long to wait for Windows 365 to finish the upload.',
    default: '180',
  },
  {
    name: 'provisioning-policies',
    description:
      'Provisioning policies (IDs or exact display names, one per line) to point at the new image once it is ready.',
  },
  {
    name: 'keep-images',
    description:
      'How many versions of this display-name to keep; older ones no policy uses are deleted. 0 = never delete.',
    default: '3',
  },
  {
    name: 'delete-source-image',
    description: 'Delete the Azure managed image once the device image is ready.',
    default: 'false',
  },
  {
    name: 'upload-retries',
    description: 'How often to retry an upload that failed with internalServerError (beta retryUpload).',
    default: '1',
  },
  {
    name: 'dry-run',
    description: 'Do every read and check, print what would be created, changed and deleted, change nothing.',
    default: 'false',
  },
  {
    name: 'skip-if-unchanged',
    description:
      'true: build nothing when the exact base version, the template digest and the toolkit version equal those of the newest ready image of this display name (status up-to-date).',
    default: 'false',
  },
  {
    name: 'github-token',
    description: 'Token for the pull-request report comment (needs pull-requests: write).',
    default: '${{ github.token }}',
    actionOnly: true,
  },
  {
    name: 'report-path',
    description:
      'Where to write the JSON report (default: w365-image-report.json in RUNNER_TEMP or the current folder).',
  },
];

export type AuthMode = 'oidc' | 'azure-cli';
/** none: register an existing image; build: Packer build first; validate: template checks only. */
export type BuildSetting = 'none' | 'build' | 'validate';

export interface Config {
  /** Empty when the image comes from the build. */
  imageId: string;
  build: BuildSetting;
  template: string | undefined;
  varFiles: string[];
  packerVars: string;
  buildTimeoutMinutes: number;
  /** Undefined means: use the managed image name. */
  displayName: string | undefined;
  /** Undefined means: derive it from the managed image (see imageVersion.ts). */
  version: string | undefined;
  versionDerived: boolean;
  register: boolean;
  auth: AuthMode;
  tenantId: string | undefined;
  clientId: string | undefined;
  subscriptionId: string | undefined;
  cloud: CloudName;
  armEndpoint: string | undefined;
  graphEndpoint: string | undefined;
  authorityHost: string | undefined;
  waitTimeoutMinutes: number;
  policyRefs: string[];
  keepImages: number;
  deleteSourceImage: boolean;
  uploadRetries: number;
  dryRun: boolean;
  skipIfUnchanged: boolean;
  reportPath: string;
}

/** A problem with what the user passed: names the input, what is wrong and how to fix it. */
export class InputError extends Error {
  readonly input: string;
  constructor(input: string, problem: string, fix: string) {
    super(`Input '${input}': ${problem} ${fix}`);
    this.name = 'InputError';
    this.input = input;
  }
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^[a-z0-9-]+(\.[a-z0-9-]+)+$/i;
const INT32_MAX = 2_147_483_647;

export interface ParseContext {
  env: NodeJS.ProcessEnv;
  now: Date;
  cwd: string;
}

/** Reads raw input strings (empty = not given) into a checked Config. Throws InputError on the first bad input. */
export function parseInputs(read: (name: string) => string, context: ParseContext): Config {
  checkInputLimits(read);
  const get = (name: string): string | undefined => {
    const value = read(name).trim();
    return value === '' ? undefined : value;
  };
  const withDefault = (name: string): string =>
    get(name) ?? INPUTS.find((i) => i.name === name)?.default ?? '';

  const imageId = get('image-id');
  const buildText = get('build');
  // An empty image-id (an unset repository variable, say) must never start a paid build on its own.
  if (!imageId && buildText === undefined) {
    throw new InputError(
      'image-id',
      'is empty and build is not set.',
      'Set image-id to the managed image resource ID to register an existing image, or set build: true to build one with Packer (build: validate only checks the template).',
    );
  }
  const build = parseBuild(buildText);
  if (!imageId && build === 'none') {
    throw new InputError(
      'image-id',
      'is required when build is false.',
      'Set it to the managed image resource ID, /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Compute/images/<name>, or set build: true.',
    );
  }
  if (imageId && build === 'build') {
    throw new InputError(
      'build',
      'is true but image-id is also set.',
      'Leave image-id empty to build a new image, or set build: false to register the image in image-id.',
    );
  }

  const displayName = get('display-name');
  if (displayName !== undefined && /\p{Cc}/u.test(displayName)) {
    throw new InputError('display-name', 'contains control characters.', 'Use printable characters only.');
  }

  const version = get('version');
  if (version !== undefined) checkVersion(version);

  const register = parseBoolean('register', withDefault('register'));

  const auth = withDefault('auth');
  if (auth !== 'oidc' && auth !== 'azure-cli') {
    throw new InputError('auth', `'${auth}' is not a supported method.`, "Use 'oidc' or 'azure-cli'.");
  }

  const tenantId = get('tenant-id');
  const clientId = get('client-id');
  // Template checks (build: validate) never reach Azure, so they need no identity: fork pull requests have none.
  if (auth === 'oidc' && build !== 'validate') {
    if (!tenantId) {
      throw new InputError(
        'tenant-id',
        'is required with auth: oidc.',
        'Set it to your Microsoft Entra tenant ID.',
      );
    }
    if (!clientId) {
      throw new InputError(
        'client-id',
        'is required with auth: oidc.',
        'Set it to the application (client) ID that has the federated credential for this workflow.',
      );
    }
  }
  if (tenantId !== undefined && !GUID.test(tenantId) && !DOMAIN.test(tenantId)) {
    throw new InputError(
      'tenant-id',
      `${quoted(tenantId)} is not a tenant ID.`,
      'Use the tenant GUID or its domain name.',
    );
  }
  if (clientId !== undefined && !GUID.test(clientId)) {
    throw new InputError(
      'client-id',
      `'${clientId}' is not a GUID.`,
      'Use the application (client) ID, a GUID.',
    );
  }

  const subscriptionId = get('subscription-id');
  if (subscriptionId !== undefined && !GUID.test(subscriptionId)) {
    throw new InputError(
      'subscription-id',
      `'${subscriptionId}' is not a GUID.`,
      'Use the subscription ID, or leave it empty to use the one in image-id.',
    );
  }

  if (build === 'build' && !subscriptionId) {
    throw new InputError(
      'subscription-id',
      'is required to build an image.',
      'Set it to the subscription where Packer builds and stores the managed image.',
    );
  }
  const buildTimeoutMinutes = parseMinutes('build-timeout-minutes', withDefault('build-timeout-minutes'));

  const cloudInput = withDefault('azure-environment');
  const cloud = cloudNamed(cloudInput);
  if (!cloud) {
    throw new InputError(
      'azure-environment',
      `'${cloudInput}' is not supported.`,
      "Use 'public' or 'usgov' (azure/login's 'AzureCloud' and 'AzureUSGovernment' work too; Windows 365 Graph APIs are not available in DoD or China clouds).",
    );
  }

  const waitTimeoutMinutes = parseMinutes('wait-timeout-minutes', withDefault('wait-timeout-minutes'));

  const keepImages = parseCount(
    'keep-images',
    withDefault('keep-images'),
    'Use 0 (never delete) or the number of versions to keep, such as 3.',
  );
  const uploadRetries = parseCount(
    'upload-retries',
    withDefault('upload-retries'),
    'Use 0 (never retry) or a small number such as 1.',
  );
  const deleteSourceImage = parseBoolean('delete-source-image', withDefault('delete-source-image'));
  const dryRun = parseBoolean('dry-run', withDefault('dry-run'));
  if (dryRun && build === 'build') {
    throw new InputError(
      'dry-run',
      'cannot be combined with build: true (a dry run changes nothing, but a build creates an image in Azure).',
      'Use build: validate to check the template, or give image-id to plan the rollout of an existing image.',
    );
  }
  if (dryRun && build === 'validate' && auth === 'oidc' && (!tenantId || !clientId)) {
    throw new InputError(
      tenantId ? 'client-id' : 'tenant-id',
      'is required for a dry run with build: validate: it reads the provisioning policies and device images from Graph.',
      'Set tenant-id and client-id, or leave dry-run false to check only the template (no Azure access).',
    );
  }
  const policyRefs = lines(get('provisioning-policies'));
  if ((policyRefs.length > 0 || deleteSourceImage) && !register) {
    throw new InputError(
      policyRefs.length > 0 ? 'provisioning-policies' : 'delete-source-image',
      'needs register: true (nothing is rolled out when the image is only validated).',
      'Set register: true, or remove the rollout inputs.',
    );
  }

  const skipIfUnchanged = parseBoolean('skip-if-unchanged', withDefault('skip-if-unchanged'));
  if (skipIfUnchanged && build === 'none') {
    throw new InputError(
      'skip-if-unchanged',
      'needs a build (it compares what would be built with the newest ready image), but image-id is set.',
      'Leave image-id empty to build, or remove skip-if-unchanged.',
    );
  }
  if (skipIfUnchanged && build === 'build' && displayName === undefined) {
    throw new InputError(
      'skip-if-unchanged',
      'needs display-name: records are kept per display name, and the default (the managed image name) changes every run.',
      'Set display-name to the name of the device image series, such as "Win11 25H2 Corporate".',
    );
  }
  const reportDir = context.env.RUNNER_TEMP || context.cwd;
  return {
    imageId: imageId ?? '',
    build,
    template: get('template'),
    varFiles: lines(get('var-file')),
    packerVars: read('packer-vars'),
    buildTimeoutMinutes,
    displayName,
    version,
    versionDerived: version === undefined,
    register,
    auth,
    tenantId,
    clientId,
    subscriptionId,
    cloud,
    armEndpoint: parseEndpoint('arm-endpoint', get('arm-endpoint')),
    graphEndpoint: parseEndpoint('graph-endpoint', get('graph-endpoint')),
    authorityHost: parseEndpoint('authority-host', get('authority-host')),
    waitTimeoutMinutes,
    policyRefs,
    keepImages,
    deleteSourceImage,
    uploadRetries,
    dryRun,
    skipIfUnchanged,
    reportPath: get('report-path') ?? `${reportDir.replace(/[\\/]+$/, '')}/w365-image-report.json`,
  };
}

export function checkVersion(version: string): void {
  const fix = 'Use Major.Minor.Patch with whole numbers, for example 1.0.0 or 2026.1126.42.';
  if (!/^\d+\.\d+\.\d+$/.test(version)) {
    throw new InputError('version', `'${version}' is not Major.Minor.Patch.`, fix);
  }
  for (const part of version.split('.')) {
    if (part.length > 1 && part.startsWith('0')) {
      throw new InputError('version', `'${version}' has a leading zero in '${part}'.`, fix);
    }
    if (Number(part) > INT32_MAX) {
      throw new InputError('version', `'${version}' has a part larger than ${INT32_MAX}.`, fix);
    }
  }
}

function parseBuild(value: string | undefined): BuildSetting {
  if (value === undefined) return 'none';
  if (/^validate$/i.test(value)) return 'validate';
  try {
    return parseBoolean('build', value) ? 'build' : 'none';
  } catch {
    throw new InputError(
      'build',
      `'${value}' is not true, false or validate.`,
      "Use 'true', 'false' or 'validate'.",
    );
  }
}

function lines(text: string | undefined): string[] {
  return (text ?? '')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

function parseCount(name: string, text: string, fix: string): number {
  if (!/^\d{1,3}$/.test(text))
    throw new InputError(name, `'${text}' is not a whole number from 0 to 999.`, fix);
  return Number(text);
}

function parseMinutes(name: string, text: string): number {
  const minutes = Number(text);
  if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 10_080) {
    throw new InputError(
      name,
      `'${text}' is not a number of minutes between 1 and 10080.`,
      'Use a positive number of minutes; keep it below the job timeout.',
    );
  }
  return minutes;
}

function parseBoolean(name: string, value: string): boolean {
  if (/^(true|yes|1)$/i.test(value)) return true;
  if (/^(false|no|0)$/i.test(value)) return false;
  throw new InputError(name, `'${value}' is not a boolean.`, "Use 'true' or 'false'.");
}

function parseEndpoint(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InputError(
      name,
      `${quoted(value)} is not a URL.`,
      'Use an absolute https:// URL, or leave it empty.',
    );
  }
  if (url.protocol !== 'https:') {
    throw new InputError(
      name,
      `${quoted(value)} is not https.`,
      'Azure SDK clients only send tokens over TLS: use an https:// URL.',
    );
  }
  return url.origin + url.pathname.replace(/\/+$/, '');
}

// ---------------------------------------------------------------------------------------------------------------
// Input limits: every input has a longest value, numbers are plain decimals within a documented range. Checked first,
// so no later message echoes a huge value and nothing oversized reaches Graph or Packer.
// ---------------------------------------------------------------------------------------------------------------

/**
 * Longest value (characters, surrounding white space trimmed) of each input. Sources: Azure naming rules (resource
 * group 1-90, managed image 1-80 characters: the longest valid image-id has 273), DNS names (253), GUIDs (36),
 * Major.Minor.Patch of three 32-bit integers (32). Graph documents no limit for a device image's displayName:
 * 256 is ours, above the longest managed image name it defaults to.
 */
export const INPUT_MAX_LENGTH: Readonly<Record<string, number>> = {
  'image-id': 300,
  build: 16,
  template: 4_096,
  'var-file': 16_384,
  'packer-vars': 65_536,
  'build-timeout-minutes': 16,
  'display-name': 256,
  version: 32,
  register: 16,
  auth: 16,
  'tenant-id': 253,
  'client-id': 36,
  'subscription-id': 36,
  'azure-environment': 32,
  'arm-endpoint': 2_048,
  'graph-endpoint': 2_048,
  'authority-host': 2_048,
  'wait-timeout-minutes': 16,
  'provisioning-policies': 16_384,
  'keep-images': 16,
  'delete-source-image': 16,
  'upload-retries': 16,
  'dry-run': 16,
  'github-token': 1_024,
  'report-path': 4_096,
};

/** Inputs whose value is never quoted in a message, not even its beginning. */
const SECRET_INPUTS = new Set(['github-token']);

/** Numeric inputs: plain decimal numbers (no sign, exponent, hex or blanks) from `min` to `max`. */
export const NUMERIC_INPUTS: Readonly<Record<string, { min: number; max: number; unit: string }>> = {
  'build-timeout-minutes': { min: 1, max: 10_080, unit: 'minutes' },
  'wait-timeout-minutes': { min: 1, max: 10_080, unit: 'minutes' },
  'keep-images': { min: 0, max: 999, unit: 'versions' },
  'upload-retries': { min: 0, max: 999, unit: 'retries' },
};

const DECIMAL = /^\d{1,6}(\.\d{1,3})?$/;
const QUOTED_PREFIX = 40;

function quoted(value: string): string {
  const flat = value.replace(new RegExp(String.raw`[\u0000-\u001f\u007f-\u009f]`, 'g'), ' ');
  return flat.length <= QUOTED_PREFIX ? `'${flat}'` : `'${flat.slice(0, QUOTED_PREFIX)}…'`;
}

/** Throws InputError for the first input that is too long or not a number in its range. */
export function checkInputLimits(read: (name: string) => string): void {
  for (const spec of INPUTS) {
    const value = read(spec.name).trim();
    const max = INPUT_MAX_LENGTH[spec.name] ?? 1_024;
    if (value.length > max) {
      const start = SECRET_INPUTS.has(spec.name) ? '' : ` (it starts ${quoted(value)})`;
      throw new InputError(
        spec.name,
        `is ${value.length} characters long${start}; the limit is ${max}.`,
        'Shorten it; check that the workflow passes the value you meant.',
      );
    }
    const range = NUMERIC_INPUTS[spec.name];
    if (range && value !== '') {
      const number = Number(value);
      if (!DECIMAL.test(value) || number < range.min || number > range.max) {
        throw new InputError(
          spec.name,
          `${quoted(value)} is not a plain decimal number of ${range.unit} from ${range.min} to ${range.max}.`,
          `Write digits only (an optional decimal point, no sign, exponent or hex), such as ${spec.default ?? range.min}.`,
        );
      }
    }
  }
}
