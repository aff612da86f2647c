import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/**
 * The facts document packer/scripts/facts.ps1 writes on the build VM (packer/facts.schema.json, schemaVersion 1).
 * Every section is either readable (its fields, each of which may still be null: "value absent") or not readable
 * (the collector recorded an error, or the section is missing or malformed). Rules turn "not readable" into
 * `unverified`, never into a pass.
 */
export const FACTS_SCHEMA_VERSION = 1;

export type Section<T> = { readable: true; value: T } | { readable: false; reason: string };

export interface OsFacts {
  editionId: string | null;
  productType: number | null;
  installationType: string | null;
  currentBuild: number | null;
  ubr: number | null;
  displayVersion: string | null;
  productName: string | null;
  architecture: string | null;
}

export interface DsregcmdFacts {
  azureAdJoined: string | null;
  enterpriseJoined: string | null;
  domainJoined: string | null;
}

export interface WmiJoinFacts {
  partOfDomain: boolean | null;
  domain: string | null;
}

export interface Enrollment {
  id: string;
  providerId: string;
  upn: string | null;
  enrollmentType: number | null;
  enrollmentState: number | null;
}

export interface ConfigMgrFacts {
  ccmExecServicePresent: boolean | null;
  ccmExecServiceStatus: string | null;
  ccmRegistryKeyPresent: boolean | null;
}

export interface Partition {
  diskNumber: number;
  partitionNumber: number;
  type: string;
  gptType: string | null;
  mbrType: number | null;
  sizeBytes: number;
  offsetBytes: number;
  driveLetter: string | null;
  isBoot: boolean;
  isSystem: boolean;
}

export interface BitLockerVolume {
  mountPoint: string;
  volumeType: string;
  volumeStatus: string;
  protectionStatus: string;
  encryptionPercentage: number;
  encryptionMethod: string;
}

export interface PendingRebootFacts {
  cbsRebootPending: boolean | null;
  windowsUpdateRebootRequired: boolean | null;
  pendingFileRenameOperations: boolean | null;
  pendingFileRenameOperationsCount: number | null;
  tiWorkerRunning: boolean | null;
}

export interface UserPackage {
  name: string;
  packageFullName: string;
  userName: string | null;
  userSid: string | null;
  installState: string;
  isFramework: boolean;
  nonRemovable: boolean;
  signatureKind: string;
}

export interface InstalledProduct {
  displayName: string;
  displayVersion: string;
}

export interface AvdFacts {
  fslogixServicePresent: boolean | null;
  fslogixRegistryKeyPresent: boolean | null;
  fslogixProducts: InstalledProduct[] | null;
  rdAgentBootLoaderServicePresent: boolean | null;
  rdAgentBootLoaderProducts: InstalledProduct[] | null;
  rdsInfrastructureAgentProducts: InstalledProduct[] | null;
  genevaAgentProducts: InstalledProduct[] | null;
  sxsNetworkStackProducts: InstalledProduct[] | null;
}

export interface TeamsFacts {
  isWvdEnvironment: string | null;
  isWvdEnvironmentKind: string | null;
  disableAutoUpdate: string | null;
  disableAutoUpdateKind: string | null;
  webRtcServicePresent: boolean | null;
  webRtcServiceStartType: string | null;
  msTeamsProvisioned: boolean | null;
  msTeamsProvisionedVersion: string | null;
  vcRedistX64Installed: boolean | null;
  vcRedistX64Version: string | null;
  webView2Version: string | null;
}

export interface UnattendFile {
  path: string;
  exists: boolean;
  computerNames: string[];
  removedBeforeSysprep: boolean;
}

/** The base image as the instance metadata service reports it: `version` as requested, `exactVersion` booted. */
export interface BaseImageFacts {
  publisher: string | null;
  offer: string | null;
  sku: string | null;
  version: string | null;
  exactVersion: string | null;
}

/** The build VM as the guest sees it, and what was pushed onto it or left behind by the build. */
export interface BuildVmFacts {
  securityType: string | null;
  secureBootEnabled: boolean | null;
  virtualTpmEnabled: boolean | null;
  firmware: string | null;
  vmExtensions: string[] | null;
  defenderOnboardingState: number | null;
  buildAccount: string | null;
  buildAccountProfilePresent: boolean | null;
  storeAutoDownloadPaused: boolean | null;
}

export interface Facts {
  /** Where the document came from, for messages. */
  source: string;
  schemaVersion: typeof FACTS_SCHEMA_VERSION;
  collectedAt: string | null;
  computerName: string | null;
  os: Section<OsFacts>;
  imageState: Section<{ value: string | null }>;
  baseImage: Section<BaseImageFacts>;
  buildVm: Section<BuildVmFacts>;
  dsregcmd: Section<DsregcmdFacts>;
  wmiJoin: Section<WmiJoinFacts>;
  mdm: Section<{ enrollments: Enrollment[] | null }>;
  configMgr: Section<ConfigMgrFacts>;
  partitions: Section<{ osDiskNumber: number | null; items: Partition[] | null }>;
  bitLocker: Section<{ volumes: BitLockerVolume[] | null }>;
  pendingReboot: Section<PendingRebootFacts>;
  appx: Section<{
    provisionedPackageNames: string[] | null;
    userPackagesNotProvisioned: UserPackage[] | null;
  }>;
  avdAndFslogix: Section<AvdFacts>;
  startMenu: Section<{ appCount: number | null; method: string | null }>;
  teams: Section<TeamsFacts>;
  unattend: Section<{ setupUnattendFile: string | null; files: UnattendFile[] | null }>;
}

export type FactsErrorCode =
  | 'facts-unreadable'
  | 'facts-invalid-json'
  | 'facts-not-object'
  | 'facts-schema-version'
  | 'facts-too-large'
  | 'facts-too-deep';

/**
 * Limits for a facts document. facts.ps1 writes some tens of KB (a few hundred KB with many AppX packages), nested
 * at most 5 levels; anything far beyond is not a facts document and is refused before it is parsed or echoed.
 */
export const MAX_FACTS_BYTES = 8 * 1024 * 1024;
export const MAX_FACTS_DEPTH = 32;
/** Longest string value a rule may read; a longer one makes its section unreadable (so its checks unverified). */
export const MAX_FACT_STRING = 4_096;

export class FactsError extends Error {
  override name = 'FactsError';
  readonly code: FactsErrorCode;
  constructor(code: FactsErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export async function readFacts(path: string): Promise<Facts> {
  return parseFacts(await readFactsText(path), path);
}

/** The text of a facts file, read within the size limit. */
export async function readFactsText(path: string): Promise<string> {
  let text: string;
  try {
    // Opened without blocking and read only up to the limit: a FIFO or a huge file cannot stall or exhaust the run.
    const file = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const info = await file.stat();
      if (!info.isFile()) throw new Error('not a regular file');
      if (info.size > MAX_FACTS_BYTES) throw tooLarge(path, info.size);
      const buffer = Buffer.alloc(MAX_FACTS_BYTES + 1);
      const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
      if (bytesRead > MAX_FACTS_BYTES) throw tooLarge(path, bytesRead);
      text = buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await file.close();
    }
  } catch (error) {
    if (error instanceof FactsError) throw error;
    throw new FactsError(
      'facts-unreadable',
      `Cannot read the facts file ${path}: ${(error as Error).message}. Pass the file packer/scripts/facts.ps1 wrote (Packer downloads it to <output_directory>/<facts_file_name>).`,
    );
  }
  return text;
}

function tooLarge(source: string, bytes: number): FactsError {
  return new FactsError(
    'facts-too-large',
    `The facts file ${source} has ${bytes} bytes or more; a facts document has at most ${MAX_FACTS_BYTES} (8 MiB). Pass the file packer/scripts/facts.ps1 wrote; do not edit it by hand.`,
  );
}

/** How deeply arrays and objects nest, counted without recursion (a hostile document cannot overflow the stack). */
function nestingDepth(document: unknown, limit: number): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[document, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop() as [unknown, number];
    if (typeof value !== 'object' || value === null) continue;
    deepest = Math.max(deepest, depth);
    if (deepest > limit) return deepest;
    for (const child of Object.values(value)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/** A facts file's JSON object, within the size and depth limits; the fields are not read yet. */
export function parseFactsDocument(text: string, source: string): Record<string, unknown> {
  if (text.length > MAX_FACTS_BYTES) throw tooLarge(source, text.length);
  let document: unknown;
  try {
    // PowerShell 5.1 may write a byte order mark.
    document = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new FactsError(
      'facts-invalid-json',
      `The facts file ${source} is not valid JSON (${(error as Error).message}). Re-run the build so packer/scripts/facts.ps1 writes it again; do not edit it by hand.`,
    );
  }
  if (nestingDepth(document, MAX_FACTS_DEPTH) > MAX_FACTS_DEPTH) {
    throw new FactsError(
      'facts-too-deep',
      `The facts file ${source} nests arrays or objects more than ${MAX_FACTS_DEPTH} levels deep; a facts document has at most 5. Pass the file packer/scripts/facts.ps1 wrote; do not edit it by hand.`,
    );
  }
  if (!isObject(document)) {
    throw new FactsError(
      'facts-not-object',
      `The facts file ${source} holds ${describe(document)}, not a JSON object. Pass the document packer/scripts/facts.ps1 wrote.`,
    );
  }
  return document;
}

export function parseFacts(text: string, source: string): Facts {
  const document = parseFactsDocument(text, source);
  if (document.schemaVersion !== FACTS_SCHEMA_VERSION) {
    throw new FactsError(
      'facts-schema-version',
      `The facts file ${source} has schemaVersion ${schemaVersionText(document.schemaVersion)}; this w365-image understands schemaVersion ${FACTS_SCHEMA_VERSION} only. Use the packer/ template from the same w365-image release as the action.`,
    );
  }
  const join = isObject(document.join) ? document.join : {};
  return {
    source,
    schemaVersion: FACTS_SCHEMA_VERSION,
    collectedAt: typeof document.collectedAt === 'string' ? document.collectedAt : null,
    computerName: typeof document.computerName === 'string' ? document.computerName : null,
    os: section(document, 'os', (r) => ({
      editionId: r.string('editionId'),
      productType: r.integer('productType'),
      installationType: r.string('installationType'),
      currentBuild: r.integer('currentBuild'),
      ubr: r.integer('ubr'),
      displayVersion: r.string('displayVersion'),
      productName: r.string('productName'),
      architecture: r.string('architecture'),
    })),
    imageState: section(document, 'imageState', (r) => ({ value: r.string('value') })),
    baseImage: section(document, 'baseImage', (r) => ({
      publisher: r.string('publisher'),
      offer: r.string('offer'),
      sku: r.string('sku'),
      version: r.string('version'),
      exactVersion: r.string('exactVersion'),
    })),
    buildVm: section(document, 'buildVm', (r) => ({
      securityType: r.string('securityType'),
      secureBootEnabled: r.boolean('secureBootEnabled'),
      virtualTpmEnabled: r.boolean('virtualTpmEnabled'),
      firmware: r.string('firmware'),
      vmExtensions: r.array('vmExtensions', (n) => n.self(isString, 'a string')),
      defenderOnboardingState: r.integer('defenderOnboardingState'),
      buildAccount: r.string('buildAccount'),
      buildAccountProfilePresent: r.boolean('buildAccountProfilePresent'),
      storeAutoDownloadPaused: r.boolean('storeAutoDownloadPaused'),
    })),
    dsregcmd: section(join, 'dsregcmd', (r) => ({
      azureAdJoined: r.string('azureAdJoined'),
      enterpriseJoined: r.string('enterpriseJoined'),
      domainJoined: r.string('domainJoined'),
    })),
    wmiJoin: section(join, 'wmi', (r) => ({
      partOfDomain: r.boolean('partOfDomain'),
      domain: r.string('domain'),
    })),
    mdm: section(document, 'mdm', (r) => ({
      enrollments: r.array('enrollments', (e) => ({
        id: e.string('id', true),
        providerId: e.string('providerId', true),
        upn: e.string('upn'),
        enrollmentType: e.integer('enrollmentType'),
        enrollmentState: e.integer('enrollmentState'),
      })),
    })),
    configMgr: section(document, 'configMgr', (r) => ({
      ccmExecServicePresent: r.boolean('ccmExecServicePresent'),
      ccmExecServiceStatus: r.string('ccmExecServiceStatus'),
      ccmRegistryKeyPresent: r.boolean('ccmRegistryKeyPresent'),
    })),
    partitions: section(document, 'partitions', (r) => ({
      osDiskNumber: r.integer('osDiskNumber'),
      items: r.array('items', (p) => ({
        diskNumber: p.integer('diskNumber', true),
        partitionNumber: p.integer('partitionNumber', true),
        type: p.string('type', true),
        gptType: p.string('gptType'),
        mbrType: p.integer('mbrType'),
        sizeBytes: p.integer('sizeBytes', true),
        offsetBytes: p.integer('offsetBytes', true),
        driveLetter: p.string('driveLetter'),
        isBoot: p.boolean('isBoot', true),
        isSystem: p.boolean('isSystem', true),
      })),
    })),
    bitLocker: section(document, 'bitLocker', (r) => ({
      volumes: r.array('volumes', (v) => ({
        mountPoint: v.string('mountPoint', true),
        volumeType: v.string('volumeType', true),
        volumeStatus: v.string('volumeStatus', true),
        protectionStatus: v.string('protectionStatus', true),
        encryptionPercentage: v.number('encryptionPercentage', true),
        encryptionMethod: v.string('encryptionMethod', true),
      })),
    })),
    pendingReboot: section(document, 'pendingReboot', (r) => ({
      cbsRebootPending: r.boolean('cbsRebootPending'),
      windowsUpdateRebootRequired: r.boolean('windowsUpdateRebootRequired'),
      pendingFileRenameOperations: r.boolean('pendingFileRenameOperations'),
      pendingFileRenameOperationsCount: r.integer('pendingFileRenameOperationsCount'),
      tiWorkerRunning: r.boolean('tiWorkerRunning'),
    })),
    appx: section(document, 'appx', (r) => ({
      provisionedPackageNames: r.array('provisionedPackageNames', (n) => n.self(isString, 'a string')),
      userPackagesNotProvisioned: r.array('userPackagesNotProvisioned', (p) => ({
        name: p.string('name', true),
        packageFullName: p.string('packageFullName', true),
        userName: p.string('userName'),
        userSid: p.string('userSid'),
        installState: p.string('installState', true),
        isFramework: p.boolean('isFramework', true),
        nonRemovable: p.boolean('nonRemovable', true),
        signatureKind: p.string('signatureKind', true),
      })),
    })),
    avdAndFslogix: section(document, 'avdAndFslogix', (r) => {
      const product = (p: Reader): InstalledProduct => ({
        displayName: p.string('displayName', true),
        displayVersion: p.string('displayVersion') ?? '',
      });
      return {
        fslogixServicePresent: r.boolean('fslogixServicePresent'),
        fslogixRegistryKeyPresent: r.boolean('fslogixRegistryKeyPresent'),
        fslogixProducts: r.array('fslogixProducts', product),
        rdAgentBootLoaderServicePresent: r.boolean('rdAgentBootLoaderServicePresent'),
        rdAgentBootLoaderProducts: r.array('rdAgentBootLoaderProducts', product),
        rdsInfrastructureAgentProducts: r.array('rdsInfrastructureAgentProducts', product),
        genevaAgentProducts: r.array('genevaAgentProducts', product),
        sxsNetworkStackProducts: r.array('sxsNetworkStackProducts', product),
      };
    }),
    startMenu: section(document, 'startMenu', (r) => ({
      appCount: r.integer('appCount'),
      method: r.string('method'),
    })),
    teams: section(document, 'teams', (r) => ({
      isWvdEnvironment: r.string('isWvdEnvironment'),
      isWvdEnvironmentKind: r.string('isWvdEnvironmentKind'),
      disableAutoUpdate: r.string('disableAutoUpdate'),
      disableAutoUpdateKind: r.string('disableAutoUpdateKind'),
      webRtcServicePresent: r.boolean('webRtcServicePresent'),
      webRtcServiceStartType: r.string('webRtcServiceStartType'),
      msTeamsProvisioned: r.boolean('msTeamsProvisioned'),
      msTeamsProvisionedVersion: r.string('msTeamsProvisionedVersion'),
      vcRedistX64Installed: r.boolean('vcRedistX64Installed'),
      vcRedistX64Version: r.string('vcRedistX64Version'),
      webView2Version: r.string('webView2Version'),
    })),
    unattend: section(document, 'unattend', (r) => ({
      setupUnattendFile: r.string('setupUnattendFile'),
      files: r.array('files', (f) => ({
        path: f.string('path', true),
        exists: f.boolean('exists', true),
        computerNames: f.array('computerNames', (n) => n.self(isString, 'a string')) ?? [],
        removedBeforeSysprep: f.boolean('removedBeforeSysprep', true),
      })),
    })),
  };
}

class ShapeError extends Error {}

/** Typed access to one JSON object; a value of the wrong type makes the whole section unreadable. */
class Reader {
  readonly path: string;
  readonly value: unknown;
  constructor(path: string, value: unknown) {
    this.path = path;
    this.value = value;
  }
  private field(name: string): unknown {
    return isObject(this.value) ? this.value[name] : undefined;
  }
  private typed<T>(name: string, guard: (v: unknown) => v is T, what: string, required: boolean): T | null {
    const v = this.field(name);
    if (v === undefined || v === null) {
      if (required) throw new ShapeError(`${this.path}.${name} is missing`);
      return null;
    }
    if (!guard(v)) throw new ShapeError(`${this.path}.${name} is ${describe(v)}, not ${what}`);
    return v;
  }
  string(name: string, required: true): string;
  string(name: string, required?: false): string | null;
  string(name: string, required = false): string | null {
    return this.typed(name, isBoundedString, `a string of at most ${MAX_FACT_STRING} characters`, required);
  }
  boolean(name: string, required: true): boolean;
  boolean(name: string, required?: false): boolean | null;
  boolean(name: string, required = false): boolean | null {
    return this.typed(name, (v): v is boolean => typeof v === 'boolean', 'a boolean', required);
  }
  number(name: string, required: true): number;
  number(name: string, required?: false): number | null;
  number(name: string, required = false): number | null {
    return this.typed(
      name,
      (v): v is number => typeof v === 'number' && Number.isFinite(v),
      'a number',
      required,
    );
  }
  integer(name: string, required: true): number;
  integer(name: string, required?: false): number | null;
  integer(name: string, required = false): number | null {
    return this.typed(name, (v): v is number => Number.isInteger(v), 'an integer', required);
  }
  array<T>(name: string, item: (r: Reader) => T): T[] | null {
    const v = this.field(name);
    if (v === undefined || v === null) return null;
    if (!Array.isArray(v)) throw new ShapeError(`${this.path}.${name} is ${describe(v)}, not an array`);
    return v.map((entry, i) => item(new Reader(`${this.path}.${name}[${i}]`, entry)));
  }
  self<T>(guard: (v: unknown) => v is T, what: string): T {
    if (!guard(this.value)) throw new ShapeError(`${this.path} is ${describe(this.value)}, not ${what}`);
    if (typeof this.value === 'string' && this.value.length > MAX_FACT_STRING)
      throw new ShapeError(
        `${this.path} is ${describe(this.value)}, longer than ${MAX_FACT_STRING} characters`,
      );
    return this.value;
  }
}

function section<T>(parent: Record<string, unknown>, name: string, read: (r: Reader) => T): Section<T> {
  const raw = parent[name];
  if (raw === undefined || raw === null) return { readable: false, reason: `section '${name}' is missing` };
  if (!isObject(raw))
    return { readable: false, reason: `section '${name}' is ${describe(raw)}, not an object` };
  if (typeof raw.error === 'string' && raw.error !== '') {
    return { readable: false, reason: `the VM could not read '${name}': ${truncate(raw.error, 500)}` };
  }
  try {
    return { readable: true, value: read(new Reader(name, raw)) };
  } catch (error) {
    if (error instanceof ShapeError) return { readable: false, reason: `malformed: ${error.message}` };
    throw error;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

function schemaVersionText(value: unknown): string {
  if (value === undefined) return 'missing';
  return typeof value === 'number' ? String(value) : describe(value);
}

function isBoundedString(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_FACT_STRING;
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text;
}

/** A value named for a message: never more than a short prefix of it. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string')
    return value.length > 40
      ? `the string ${JSON.stringify(value.slice(0, 40))}… (${value.length} characters)`
      : `the string ${JSON.stringify(value)}`;
  if (typeof value === 'object') return 'an object';
  return truncate(`a ${typeof value} (${String(value)})`, 80);
}
