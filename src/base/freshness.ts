import type { GraphClient } from '../graph/client.ts';
import { odataString, VIRTUAL_ENDPOINT, type DeviceImage } from '../graph/deviceImages.ts';
import type { ImageRecord } from '../record/record.ts';
import type { BaseImage } from './base.ts';

export interface Comparison {
  item: string;
  previous: string | null;
  now: string;
  same: boolean;
}

/** Whether the newest ready image of the display name was built from exactly what this run would build. */
export interface Freshness {
  upToDate: boolean;
  compared: Comparison[];
  /** The newest ready (or warning) device image of the display name, if any. */
  newestReady: { id: string; version: string } | null;
  /** One sentence: why the run builds, or why it does not. */
  reason: string;
}

export interface FreshnessInput {
  displayName: string;
  /** The newest record of the display name (undefined: none found). */
  record: ImageRecord | undefined;
  base: BaseImage;
  templateDigest: string;
  toolVersion: string;
  graph: GraphClient;
}

/**
 * Graph's device images carry no tags and the managed image may be deleted once Windows 365 holds its copy
 * (delete-source-image), so what an image was built from is read from the run record, which names its device
 * image: the record counts only when that device image is the newest ready one of the display name.
 */
export async function checkFreshness(input: FreshnessInput): Promise<Freshness> {
  const images = await input.graph.list<DeviceImage>(`${VIRTUAL_ENDPOINT}/deviceImages`, {
    $filter: `displayName eq ${odataString(input.displayName)}`,
  });
  const newest = images
    .filter((i) => i.status === 'ready' || i.status === 'warning')
    .sort((a, b) => compareVersions(b.version, a.version))[0];
  const newestReady = newest ? { id: newest.id, version: newest.version } : null;
  const record = input.record;
  const compared: Comparison[] = [
    {
      item: 'Base image',
      previous: record?.base ? `${record.base.sku} ${record.base.version}` : null,
      now: `${input.base.sku} ${input.base.version}`,
      same: record?.base?.sku === input.base.sku && record.base.version === input.base.version,
    },
    {
      item: 'Template digest',
      previous: record?.templateDigest ?? null,
      now: input.templateDigest,
      same: record?.templateDigest === input.templateDigest,
    },
    {
      item: 'w365-image version',
      previous: record?.toolVersion ?? null,
      now: input.toolVersion,
      same: record?.toolVersion === input.toolVersion,
    },
  ];
  if (!newestReady)
    return {
      upToDate: false,
      compared,
      newestReady,
      reason: `no ready device image named '${input.displayName}' yet`,
    };
  if (!record)
    return { upToDate: false, compared, newestReady, reason: 'no record of an earlier build was found' };
  if (record.deviceImageId !== newestReady.id)
    return {
      upToDate: false,
      compared,
      newestReady,
      reason: `the newest record (version ${record.version}) is not of the newest ready device image (version ${newestReady.version})`,
    };
  const changed = compared.filter((c) => !c.same).map((c) => c.item.toLowerCase());
  return changed.length === 0
    ? { upToDate: true, compared, newestReady, reason: 'base, template and toolkit are unchanged' }
    : { upToDate: false, compared, newestReady, reason: `the ${changed.join(', ')} changed` };
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
