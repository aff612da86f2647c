import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { fullFormats } from 'ajv-formats/dist/formats.js';
import factsSchema from '../../packer/facts.schema.json' with { type: 'json' };

/**
 * The facts document packer/scripts/facts.ps1 writes on the build VM. packer/facts.schema.json decides what a valid
 * document is (it is bundled as the template ships it); this module only splits the verdict by section and hands the
 * validated values to the rules. Every section is either readable (its fields, each of which may still be null:
 * "value absent") or not readable (the collector recorded an error, or the section is missing or breaks the schema).
 * Rules turn "not readable" into `unverified`, never into a pass.
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
  | 'facts-schema-mismatch'
  | 'facts-too-large'
  | 'facts-too-deep';

/**
 * Limits for a facts document. facts.ps1 writes some tens of KB (a few hundred KB with many AppX packages), nested
 * at most 5 levels; anything far beyond is not a facts document and is refused before it is parsed or echoed.
 */
export const MAX_FACTS_BYTES = 8 * 1024 * 1024;
export const MAX_FACTS_DEPTH = 32;
/**
 * Longest string value a rule may read (the schema's maxLength on every such field); a longer one makes its section
 * unreadable (so its checks unverified).
 */
export const MAX_FACT_STRING = 4_096;

export class FactsError extends Error {
  override name = 'FactsError';
  readonly code: FactsErrorCode;
  constructor(code: FactsErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

type SectionName = { [K in keyof Facts]: Facts[K] extends Section<unknown> ? K : never }[keyof Facts];

/** Where each section of `Facts` sits in the document (its schema is at the same place under `properties`). */
const SECTIONS: Record<SectionName, readonly string[]> = {
  os: ['os'],
  imageState: ['imageState'],
  baseImage: ['baseImage'],
  buildVm: ['buildVm'],
  dsregcmd: ['join', 'dsregcmd'],
  wmiJoin: ['join', 'wmi'],
  mdm: ['mdm'],
  configMgr: ['configMgr'],
  partitions: ['partitions'],
  bitLocker: ['bitLocker'],
  pendingReboot: ['pendingReboot'],
  appx: ['appx'],
  avdAndFslogix: ['avdAndFslogix'],
  startMenu: ['startMenu'],
  teams: ['teams'],
  unattend: ['unattend'],
};
/** Read by src/check/inventory.ts, never by a rule: its schema is checked by `factsSchemaErrors` only. */
const INVENTORY = ['inventory'];

const SCHEMA_FILE = 'packer/facts.schema.json';
const FIX = `Pass the file packer/scripts/facts.ps1 wrote, with the packer/ template of the same w365-image release as the action; do not edit it by hand.`;

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

/** A facts file's JSON object, within the size and depth limits; not checked against the schema yet. */
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

/**
 * The facts, checked against packer/facts.schema.json: a violation outside every section (a missing collector, an
 * unknown top-level property) refuses the document; one inside a section makes that section unreadable.
 */
export function parseFacts(text: string, source: string): Facts {
  const document = parseFactsDocument(text, source);
  if (document.schemaVersion !== FACTS_SCHEMA_VERSION) {
    throw new FactsError(
      'facts-schema-version',
      `The facts file ${source} has schemaVersion ${schemaVersionText(document.schemaVersion)}; this w365-image understands schemaVersion ${FACTS_SCHEMA_VERSION} only. Use the packer/ template from the same w365-image release as the action.`,
    );
  }
  // The whole schema at once first: a document facts.ps1 wrote passes it, and needs no other compiled schema.
  const valid = validator(WHOLE)(document);
  const outside = valid ? null : violation(validator(OUTSIDE), document, []);
  if (outside) {
    throw new FactsError(
      'facts-schema-mismatch',
      `The facts file ${source} does not match ${SCHEMA_FILE}: ${outside}. ${FIX}`,
    );
  }
  const sections = Object.fromEntries(
    Object.entries(SECTIONS).map(([name, path]) => [name, section(document, path, valid)]),
  );
  return {
    source,
    schemaVersion: FACTS_SCHEMA_VERSION,
    // Both required strings: the document-level check above has passed.
    collectedAt: document.collectedAt as string,
    computerName: document.computerName as string,
    ...sections,
  } as Facts;
}

/**
 * Every part of a facts document checked against packer/facts.schema.json, the same way `parseFacts` does: the
 * first violation outside the sections, and the first of each section (the inventory included). Empty when valid.
 */
export function factsSchemaErrors(document: unknown): string[] {
  if (!isObject(document)) return [`the document is ${describe(document)}, not an object`];
  if (validator(WHOLE)(document)) return [];
  const problems = [violation(validator(OUTSIDE), document, [])];
  for (const path of [...Object.values(SECTIONS), INVENTORY]) {
    const value = valueAt(document, path);
    if (value !== undefined) problems.push(violation(validator(pointer(path)), value, path));
    else if (path !== INVENTORY) problems.push(missing(path));
  }
  return problems.filter((problem): problem is string => problem !== null);
}

/** One section of a document; `valid` when the whole document passed the schema. */
function section(document: Record<string, unknown>, path: readonly string[], valid: boolean): Section<never> {
  const raw = valueAt(document, path);
  const name = dotted(path);
  if (raw === undefined) return { readable: false, reason: missing(path) };
  // The collector's own account of why it could not read the section explains more than any field it left null.
  if (isObject(raw) && typeof raw.error === 'string') {
    return {
      readable: false,
      reason: `the VM could not read '${name}': ${truncate(raw.error, 500) || 'no reason given'}`,
    };
  }
  const problem = valid ? null : violation(validator(pointer(path)), raw, path);
  if (problem) return { readable: false, reason: problem };
  const { error: _none, ...value } = raw as Record<string, unknown>;
  return { readable: true, value: value as never };
}

/** The compiled schema of a part of the document: the whole, the rest outside the sections, or a JSON pointer. */
const WHOLE = '';
const OUTSIDE = 'outside';
const compiled = new Map<string, ValidateFunction>();
let ajv: Ajv2020 | undefined;

/** Where a document path's schema is: `/properties/join/properties/wmi`. */
function pointer(path: readonly string[]): string {
  return path.map((name) => `/properties/${name}`).join('');
}

/**
 * A part's schema, compiled on first use and kept for the process: commands that read no facts never pay for it,
 * and a valid document needs the whole schema only. Each part stops at its first violation, so a hostile document
 * cannot make the validator collect millions of errors.
 */
function validator(part: string): ValidateFunction {
  const known = compiled.get(part);
  if (known) return known;
  // Strict: a keyword the validator does not know is an error, so no constraint of the schema is silently ignored.
  // The schema itself is checked against the 2020-12 meta-schema by the tests, not on every run; unoptimized code
  // compiles in half the time and validates a facts document just as fast.
  ajv ??= new Ajv2020({
    strict: true,
    allowUnionTypes: true,
    verbose: true,
    validateSchema: false,
    code: { optimize: false },
    formats: { 'date-time': fullFormats['date-time'] },
    schemas: [factsSchema],
  });
  const validate =
    part === OUTSIDE
      ? ajv.compile(outsideSections())
      : (ajv.getSchema(`${factsSchema.$id}#${part}`) as ValidateFunction);
  compiled.set(part, validate);
  return validate;
}

/** The schema with every section (and the inventory) accepted as it is, and none of them required. */
function outsideSections(): Record<string, unknown> {
  const schema = structuredClone(factsSchema) as Record<string, unknown>;
  delete schema.$id;
  for (const path of [...Object.values(SECTIONS), INVENTORY]) {
    const parent = valueAt(
      schema,
      path.slice(0, -1).flatMap((name) => ['properties', name]),
    ) as Record<string, unknown>;
    const name = path.at(-1) as string;
    (parent.properties as Record<string, unknown>)[name] = true;
    parent.required = (parent.required as string[]).filter((required) => required !== name);
  }
  // `join` holds two sections: without it both are missing, which is theirs to report.
  schema.required = (schema.required as string[]).filter((name) => name !== 'join');
  return schema;
}

/** The first way `value` (found at `path` in the document) breaks `validate`'s schema, as a sentence; or null. */
function violation(validate: ValidateFunction, value: unknown, path: readonly string[]): string | null {
  if (validate(value)) return null;
  const error = validate.errors?.[0] as ErrorObject;
  // instancePath is a JSON pointer built from schema property names and array indexes, never from the document's keys.
  const where = [...path, ...error.instancePath.split('/').slice(1)];
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return missing([...where, String(params.missingProperty)]);
    case 'additionalProperties':
      return `${dotted(where)} has the property ${quoted(String(params.additionalProperty))}, which ${SCHEMA_FILE} does not define`;
    case 'type':
      return `${dotted(where)} is ${describe(error.data)}, but ${SCHEMA_FILE} expects ${typeNames(params.type)}`;
    case 'enum':
    case 'const':
      return `${dotted(where)} is ${describe(error.data)}, but ${SCHEMA_FILE} allows only ${JSON.stringify(params.allowedValues ?? params.allowedValue)}`;
    default:
      // maxLength, format and anything the schema may add: Ajv's message names the constraint, not the value.
      return `${dotted(where)} is ${describe(error.data)}, but ${SCHEMA_FILE} says it ${error.message ?? `breaks '${error.keyword}'`}`;
  }
}

function typeNames(type: unknown): string {
  const names = Array.isArray(type) ? type.map(String) : [String(type)];
  return names
    .map((name) => (name === 'null' ? 'null' : `${/^[aeiou]/.test(name) ? 'an' : 'a'} ${name}`))
    .join(' or ');
}

function missing(path: readonly string[]): string {
  return `${dotted(path)} is missing; ${SCHEMA_FILE} requires it`;
}

/** A document path for a message: `mdm.enrollments[0].id`. */
function dotted(path: readonly string[]): string {
  if (path.length === 0) return 'the document';
  return path.map((name, i) => (/^\d+$/.test(name) ? `[${name}]` : i === 0 ? name : `.${name}`)).join('');
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const name of path) node = isObject(node) ? node[name] : undefined;
  return node;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function schemaVersionText(value: unknown): string {
  if (value === undefined) return 'missing';
  return typeof value === 'number' ? String(value) : describe(value);
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text;
}

/** Text from the document, quoted by its start only and with control characters escaped. */
function quoted(text: string): string {
  return text.length > 40
    ? `${JSON.stringify(text.slice(0, 40))}… (${text.length} characters)`
    : JSON.stringify(text);
}

/** A value named for a message: never more than a short prefix of it. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${quoted(value)}`;
  if (typeof value === 'object') return 'an object';
  return truncate(`a ${typeof value} (${String(value)})`, 80);
}
