import { readInventory, type Inventory } from '../check/inventory.ts';

/** The file holding the record inside the record artifact. */
export const RECORD_FILE = 'record.json';

/**
 * What a successful run keeps about its image so the next run can compare: the exact base, the template digest,
 * the toolkit version and the software inventory. Kept as a workflow artifact and in the JSON report.
 */
export interface ImageRecord {
  schemaVersion: 1;
  kind: 'w365-image-record';
  displayName: string;
  version: string;
  /** The device image this build became; null when it was not registered. */
  deviceImageId: string | null;
  sourceImageId: string | null;
  outcome: string;
  createdAt: string;
  toolVersion: string;
  base: { publisher: string; offer: string; sku: string; version: string } | null;
  templateDigest: string | null;
  inventory: Inventory | null;
  runUrl: string | null;
}

/**
 * Artifact names allow neither `"`, `:`, `<`, `>`, `|`, `*`, `?`, `\`, `/` nor line breaks: the display name is
 * reduced to lower-case letters, digits and dashes. Two display names may share an artifact name, so a record
 * found by name is used only when its own displayName matches.
 */
export function recordArtifactName(displayName: string): string {
  const slug = displayName
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80);
  return `w365-image-record-${slug || 'image'}`;
}

/** Reads a record from untrusted JSON (a downloaded artifact, a report file): undefined when it is not one. */
export function parseRecord(document: unknown): ImageRecord | undefined {
  if (!isObject(document) || document.kind !== 'w365-image-record' || document.schemaVersion !== 1)
    return undefined;
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  const displayName = str(document.displayName);
  const version = str(document.version);
  if (displayName === null || version === null) return undefined;
  const base = isObject(document.base) ? document.base : undefined;
  const inventory = document.inventory ? readInventory({ inventory: document.inventory }) : undefined;
  return {
    schemaVersion: 1,
    kind: 'w365-image-record',
    displayName,
    version,
    deviceImageId: str(document.deviceImageId),
    sourceImageId: str(document.sourceImageId),
    outcome: str(document.outcome) ?? '',
    createdAt: str(document.createdAt) ?? '',
    toolVersion: str(document.toolVersion) ?? '',
    base:
      base &&
      typeof base.publisher === 'string' &&
      typeof base.offer === 'string' &&
      typeof base.sku === 'string' &&
      typeof base.version === 'string'
        ? { publisher: base.publisher, offer: base.offer, sku: base.sku, version: base.version }
        : null,
    templateDigest: str(document.templateDigest),
    inventory: inventory?.ok ? inventory.inventory : null,
    runUrl: str(document.runUrl),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
