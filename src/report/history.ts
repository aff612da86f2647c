import { parseFactsDocument, readFactsText } from '../check/facts.ts';
import { readInventory, type Inventory } from '../check/inventory.ts';
import { diffImages, type DiffSide } from '../record/diff.ts';
import type { ImageRecord } from '../record/record.ts';
import type { PreviousRecord } from '../record/store.ts';
import type { Freshness } from '../base/freshness.ts';
import type { Report } from './report.ts';

/** What the run learnt about earlier images of its display name, and the inventory of its own. */
export interface History {
  previous: PreviousRecord | null;
  /** Why there is no previous record. */
  previousNote: string | null;
  freshness: Freshness | null;
  inventory: Inventory | null;
  inventoryNote: string | null;
}

export function emptyHistory(): History {
  return { previous: null, previousNote: null, freshness: null, inventory: null, inventoryNote: null };
}

/** The inventory of the facts the build downloaded, or why there is none. */
export async function loadInventory(
  factsPath: string | null,
): Promise<Pick<History, 'inventory' | 'inventoryNote'>> {
  if (!factsPath) return { inventory: null, inventoryNote: 'the build wrote no facts file' };
  try {
    const read = readInventory(parseFactsDocument(await readFactsText(factsPath), factsPath));
    return read.ok
      ? { inventory: read.inventory, inventoryNote: null }
      : { inventory: null, inventoryNote: read.reason };
  } catch (error) {
    return {
      inventory: null,
      inventoryNote: `the facts file could not be read: ${(error as Error).message}`,
    };
  }
}

const RECORDED: ReadonlySet<Report['outcome']> = new Set(['ready', 'warning', 'validated']);

/** Adds the freshness verdict, this image's record and the diff against the previous record to the report. */
export function withHistory(report: Report, history: History, runUrl: string | undefined): Report {
  const previous = history.previous;
  const out: Report = {
    ...report,
    freshness: history.freshness,
    previousRecord: previous
      ? {
          artifactId: previous.artifactId,
          workflowRunId: previous.workflowRunId,
          version: previous.record.version,
          deviceImageId: previous.record.deviceImageId,
          createdAt: previous.record.createdAt,
        }
      : null,
    previousRecordNote: previous ? null : history.previousNote,
    record: null,
    diff: null,
    changed: false,
  };
  if (!RECORDED.has(report.outcome) || report.inputs.build !== 'build' || !report.base) return out;
  const record: ImageRecord = {
    schemaVersion: 1,
    kind: 'w365-image-record',
    displayName: report.inputs.displayName,
    version: report.inputs.version,
    deviceImageId: report.registration?.deviceImageId ?? null,
    sourceImageId: report.image?.id ?? report.build?.imageId ?? null,
    outcome: report.outcome,
    createdAt: report.finishedAt,
    toolVersion: report.tool.version,
    base: {
      publisher: report.base.publisher,
      offer: report.base.offer,
      sku: report.base.sku,
      version: report.base.version,
    },
    templateDigest: report.templateDigest ?? null,
    inventory: history.inventory,
    runUrl: runUrl ?? null,
  };
  out.record = record;
  if (!previous) {
    out.changed = true;
    return out;
  }
  const side = (r: ImageRecord, label: string): DiffSide => ({
    label,
    base: r.base ? { sku: r.base.sku, version: r.base.version } : null,
    inventory: r.inventory,
  });
  const diff = diffImages(
    side(previous.record, `${previous.record.version}`),
    side(record, `${record.version}`),
  );
  out.diff = diff;
  out.changed =
    diff.total > 0 ||
    previous.record.templateDigest !== record.templateDigest ||
    previous.record.toolVersion !== record.toolVersion;
  return out;
}
