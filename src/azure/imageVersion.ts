import { createHash } from 'node:crypto';
import type { ManagedImage } from './managedImage.ts';

export interface DerivedVersion {
  version: string;
  /** What the version was derived from, for the log. */
  from: string;
}

/**
 * The default device image version, computed from the managed image alone so that every run for the same image
 * (terminal or workflow, today or next week) computes the same one: YYYY.MMDD.HHMMSS of the image's creation time
 * (ARM's systemData.createdAt, UTC), which also sorts by age. ARM does not promise systemData on every answer;
 * without it the version is 0.0.N with N a hash of the resource ID: still stable, but not in date order.
 */
export function versionFromImage(resourceId: string, image: ManagedImage | undefined): DerivedVersion {
  const created = image?.systemData?.createdAt;
  const at = created === undefined ? undefined : new Date(created);
  if (at && !Number.isNaN(at.getTime())) {
    return { version: versionFromTime(at), from: `the image's creation time ${at.toISOString()}` };
  }
  const digest = createHash('sha256').update(resourceId.toLowerCase()).digest();
  return {
    version: `0.0.${digest.readUInt32BE(0) % 1_000_000_000}`,
    from: 'a hash of the image resource ID (Azure did not say when the image was created)',
  };
}

/** YYYY.MMDD.HHMMSS in UTC, without leading zeros (Graph versions are integers). */
export function versionFromTime(at: Date): string {
  const monthDay = (at.getUTCMonth() + 1) * 100 + at.getUTCDate();
  const time = at.getUTCHours() * 10_000 + at.getUTCMinutes() * 100 + at.getUTCSeconds();
  return `${at.getUTCFullYear()}.${monthDay}.${time}`;
}
