import { GraphError } from '../graph/client.ts';
import {
  compareImageVersions,
  deleteDeviceImage,
  findDeviceImageById,
  listDeviceImages,
  parseImageVersion,
  TENANT_IMAGE_LIMIT,
  type DeviceImage,
} from '../graph/deviceImages.ts';
import {
  listProvisioningPolicies,
  policyUsesImage,
  type ProvisioningPolicy,
} from '../graph/provisioningPolicies.ts';
import { messageOf } from '../util/errors.ts';
import { countOf } from '../util/plural.ts';
import { isRunFailure } from '../net/failures.ts';
import type { Services } from '../results/services.ts';

/*
 * Retention rules (planPrune):
 * - Only images whose display name equals `displayName` exactly are considered; other names are never touched.
 * - keep <= 0 turns pruning off: nothing is deleted.
 * - Usable images (ready, warning) are ranked by version, numerically (1.10.0 is newer than 1.9.0). The `keep`
 *   newest are kept; older ones are deleted.
 * - Failed images do not count toward `keep` and go first, but only once superseded: when a newer version is
 *   usable, protected or being created. A failed image newer than everything else may still be retried.
 * - Never deleted: an image any provisioning policy references (imageId, whatever the imageType), a protected ID,
 *   a pending upload, an unknown status, a version that is not Major.Minor.Patch (it cannot be ordered).
 */

export interface PruneInput {
  /** Every device image of the tenant. */
  images: readonly DeviceImage[];
  /** Every provisioning policy of the tenant. */
  policies: readonly ProvisioningPolicy[];
  displayName: string;
  /** Versions of the display name to keep; 0 = never prune. */
  keep: number;
  /** Device image IDs never to delete (the one this run made). */
  protect: readonly string[];
  /** A version about to be uploaded: makes older failed images superseded. */
  creatingVersion?: string;
}

export type KeptReason =
  | 'pruning-off'
  | 'newest'
  | 'in-use'
  | 'protected'
  | 'pending'
  | 'unknown-status'
  | 'unordered-version'
  | 'failed-not-superseded';

export interface KeptImage {
  image: DeviceImage;
  reason: KeptReason;
  detail: string;
}

export interface PruneCandidate {
  image: DeviceImage;
  detail: string;
}

export interface PrunePlan {
  displayName: string;
  keep: number;
  /** In deletion order: superseded failed images first, then usable versions, oldest first. */
  delete: PruneCandidate[];
  kept: KeptImage[];
}

const USABLE = new Set(['ready', 'warning']);

/** Which images of this display name may go. Pure: reads nothing, changes nothing. */
export function planPrune(input: PruneInput): PrunePlan {
  const { displayName, keep } = input;
  const protect = new Set(input.protect.map((id) => id.toLowerCase()));
  const own = input.images.filter((i) => i.displayName === displayName);
  const kept: KeptImage[] = [];
  const plan: PrunePlan = { displayName, keep, delete: [], kept };
  const label = (i: DeviceImage) => `'${i.displayName}' ${i.version} (${i.id}, ${i.status})`;

  if (!(keep >= 1)) {
    for (const image of own) {
      kept.push({ image, reason: 'pruning-off', detail: `keep-images is 0: ${label(image)} is kept.` });
    }
    return plan;
  }

  const usedBy = (image: DeviceImage) => input.policies.filter((p) => policyUsesImage(p, image.id));
  /** Kept whatever its age; undefined when the image may be deleted. */
  const guard = (image: DeviceImage): KeptImage | undefined => {
    if (protect.has(image.id.toLowerCase())) {
      return { image, reason: 'protected', detail: `${label(image)} is the image this run rolls out.` };
    }
    const users = usedBy(image);
    if (users.length > 0) {
      return {
        image,
        reason: 'in-use',
        detail: `${label(image)} is used by provisioning policy ${users.map((p) => `'${p.displayName}'`).join(', ')}.`,
      };
    }
    return undefined;
  };

  const versioned: Array<{ image: DeviceImage; version: [number, number, number] }> = [];
  for (const image of own) {
    const version = parseImageVersion(image.version);
    if (!version) {
      kept.push({
        image,
        reason: 'unordered-version',
        detail: `${label(image)}: version is not Major.Minor.Patch, so its age is unknown.`,
      });
    } else if (image.status === 'pending') {
      kept.push(guard(image) ?? { image, reason: 'pending', detail: `${label(image)} is still uploading.` });
    } else if (!USABLE.has(image.status) && image.status !== 'failed') {
      kept.push(
        guard(image) ?? {
          image,
          reason: 'unknown-status',
          detail: `${label(image)} has a status this tool does not know.`,
        },
      );
    } else {
      versioned.push({ image, version });
    }
  }

  // Newest first; ties (same version twice) by last modification, newest first.
  const newestFirst = (
    a: { image: DeviceImage; version: [number, number, number] },
    b: { image: DeviceImage; version: [number, number, number] },
  ) =>
    compareImageVersions(b.version, a.version) ||
    (b.image.lastModifiedDateTime ?? '').localeCompare(a.image.lastModifiedDateTime ?? '');

  const usable = versioned.filter((v) => USABLE.has(v.image.status)).sort(newestFirst);
  const failed = versioned.filter((v) => v.image.status === 'failed').sort(newestFirst);

  // Failed images are superseded by anything newer that is usable, protected or being uploaded now.
  const newer = [
    ...usable.map((v) => v.version),
    ...versioned.filter((v) => protect.has(v.image.id.toLowerCase())).map((v) => v.version),
  ];
  const creating = input.creatingVersion ? parseImageVersion(input.creatingVersion) : undefined;
  if (creating) newer.push(creating);
  const failedDeletes: PruneCandidate[] = [];
  for (const { image, version } of failed) {
    const guarded = guard(image);
    if (guarded) {
      kept.push(guarded);
    } else if (!newer.some((n) => compareImageVersions(n, version) > 0)) {
      kept.push({
        image,
        reason: 'failed-not-superseded',
        detail: `${label(image)} failed but no newer version exists yet; it may still be retried.`,
      });
    } else {
      failedDeletes.push({ image, detail: `${label(image)} failed and a newer version exists.` });
    }
  }

  const usableDeletes: PruneCandidate[] = [];
  usable.forEach(({ image }, index) => {
    const guarded = guard(image);
    if (index < keep) {
      kept.push(
        guarded ?? {
          image,
          reason: 'newest',
          detail: `${label(image)} is one of the ${keep} newest versions.`,
        },
      );
    } else if (guarded) {
      kept.push(guarded);
    } else {
      usableDeletes.push({
        image,
        detail: `${label(image)} is older than the ${keep} newest versions of '${displayName}'.`,
      });
    }
  });

  plan.delete = [...failedDeletes.reverse(), ...usableDeletes.reverse()];
  return plan;
}

export type PrunedOutcome = 'deleted' | 'already-gone';

export interface PrunedImage {
  image: DeviceImage;
  outcome: PrunedOutcome;
  detail: string;
}

export type PruneSkipReason =
  /** A policy started using it after the plan was made. */
  | 'became-in-use'
  /** Its status or name changed since the plan (for example a failed upload is being retried). */
  | 'changed'
  /** Graph refused the DELETE (4xx). */
  | 'refused'
  /** The DELETE failed after retries (5xx, no answer). */
  | 'delete-failed';

export interface PruneSkip {
  image: DeviceImage;
  reason: PruneSkipReason;
  detail: string;
}

export interface PruneResult {
  deleted: PrunedImage[];
  skipped: PruneSkip[];
  /** Images the plan kept, with why. */
  kept: KeptImage[];
}

export interface PruneOptions {
  /** Stop after this many images are gone (deleted or already gone). */
  limit?: number;
}

/** The policies as they would be after the given repoints (policy ID -> device image ID). */
export function withRepoints(
  policies: readonly ProvisioningPolicy[],
  repoints: ReadonlyMap<string, string> | undefined,
): ProvisioningPolicy[] {
  if (!repoints || repoints.size === 0) return [...policies];
  return policies.map((p) => {
    const imageId = repoints.get(p.id);
    return imageId === undefined ? p : { ...p, imageId, imageType: 'custom' };
  });
}

/**
 * Deletes the plan's candidates one at a time. Right before each DELETE it re-reads the policies and the image:
 * an image a policy now uses, or whose status changed, is skipped; one already gone counts as deleted.
 * Failures are reported per image, never thrown: pruning is housekeeping.
 */
export async function prune(
  plan: PrunePlan,
  deps: Pick<Services, 'graph' | 'log'>,
  options: PruneOptions = {},
): Promise<PruneResult> {
  const { graph, log } = deps;
  const result: PruneResult = { deleted: [], skipped: [], kept: plan.kept };
  for (const candidate of plan.delete) {
    if (options.limit !== undefined && result.deleted.length >= options.limit) break;
    const planned = candidate.image;
    const policies = await listProvisioningPolicies(graph);
    const users = policies.filter((p) => policyUsesImage(p, planned.id));
    if (users.length > 0) {
      const detail = `'${planned.displayName}' ${planned.version} (${planned.id}) is now used by provisioning policy ${users.map((p) => `'${p.displayName}'`).join(', ')}; not deleted.`;
      log.info(detail);
      result.skipped.push({ image: planned, reason: 'became-in-use', detail });
      continue;
    }
    const current = await findDeviceImageById(graph, planned.id);
    if (!current) {
      result.deleted.push({
        image: planned,
        outcome: 'already-gone',
        detail: `${candidate.detail} It was already deleted.`,
      });
      continue;
    }
    if (current.status !== planned.status || current.displayName !== planned.displayName) {
      const detail = `'${current.displayName}' ${current.version} (${current.id}) is now ${current.status} (was ${planned.status}); not deleted.`;
      log.info(detail);
      result.skipped.push({ image: current, reason: 'changed', detail });
      continue;
    }
    try {
      await deleteDeviceImage(graph, current.id);
    } catch (error) {
      if (isRunFailure(error)) throw error;
      if (error instanceof GraphError && error.status === 404) {
        log.info(`Device image ${current.id} was already gone.`);
        result.deleted.push({ image: current, outcome: 'already-gone', detail: candidate.detail });
        continue;
      }
      const refused = error instanceof GraphError && error.status >= 400 && error.status < 500;
      const detail = `Could not delete '${current.displayName}' ${current.version} (${current.id}): ${messageOf(error)}. ${refused ? 'Windows 365 refused it; delete it in Intune if it is no longer needed.' : 'It is kept; the next run tries again.'}`;
      log.warning(detail);
      result.skipped.push({ image: current, reason: refused ? 'refused' : 'delete-failed', detail });
      continue;
    }
    log.info(`Deleted device image ${candidate.detail}`);
    result.deleted.push({ image: current, outcome: 'deleted', detail: candidate.detail });
  }
  return result;
}

export interface FreeSlotInput {
  displayName: string;
  /** The version about to be uploaded. */
  version: string;
  keep: number;
  protect?: readonly string[];
  /** Default: the Windows 365 limit, 20. */
  limit?: number;
}

/** An image holding one of the tenant's slots, and why it cannot be pruned now. */
export interface SlotHolder {
  image: DeviceImage;
  usedBy: Array<{ id: string; displayName: string }>;
  why: string;
}

export type FreeSlotResult =
  /** Fewer than `limit` images: nothing to do. */
  | { status: 'room'; count: number; limit: number }
  /** An image with this display name and version exists: registration resumes it and needs no slot. */
  | { status: 'resume'; count: number; limit: number; existing: DeviceImage }
  /** Slots were freed. */
  | { status: 'freed'; count: number; limit: number; prune: PruneResult }
  /** Full and nothing of this display name may be pruned: `slots` says what fills them. */
  | { status: 'full'; count: number; limit: number; prune: PruneResult; slots: SlotHolder[] };

/**
 * Before an upload: when the tenant holds `limit` images, deletes as many images of this display name as needed
 * (under planPrune's rules, superseded failed images first) to make room for one more. keep counts the existing
 * versions, so only images the post-rollout prune would delete anyway can go.
 */
export async function freeSlotIfFull(
  input: FreeSlotInput,
  deps: Pick<Services, 'graph' | 'log'>,
): Promise<FreeSlotResult> {
  const limit = input.limit ?? TENANT_IMAGE_LIMIT;
  const images = await listDeviceImages(deps.graph);
  const count = images.length;
  const existing = images.find((i) => i.displayName === input.displayName && i.version === input.version);
  if (existing) return { status: 'resume', count, limit, existing };
  if (count < limit) return { status: 'room', count, limit };
  const policies = await listProvisioningPolicies(deps.graph);
  const plan = planPrune({
    images,
    policies,
    displayName: input.displayName,
    keep: input.keep,
    protect: input.protect ?? [],
    creatingVersion: input.version,
  });
  const needed = count - limit + 1;
  deps.log.info(
    `The tenant holds ${count} of ${limit} custom images; freeing ${countOf(needed, 'slot')} from older versions of '${input.displayName}'.`,
  );
  const result = await prune(plan, deps, { limit: needed });
  if (result.deleted.length >= needed) return { status: 'freed', count, limit, prune: result };
  const gone = new Set(result.deleted.map((d) => d.image.id));
  const why = new Map<string, string>();
  for (const k of plan.kept) why.set(k.image.id, k.detail);
  for (const s of result.skipped) why.set(s.image.id, s.detail);
  const slots: SlotHolder[] = images
    .filter((i) => !gone.has(i.id))
    .map((image) => {
      const usedBy = policies
        .filter((p) => policyUsesImage(p, image.id))
        .map((p) => ({ id: p.id, displayName: p.displayName }));
      return {
        image,
        usedBy,
        why:
          why.get(image.id) ??
          (image.displayName === input.displayName
            ? 'not prunable'
            : `another display name ('${image.displayName}'): never pruned by this job`),
      };
    })
    .sort(
      (a, b) =>
        a.image.displayName.localeCompare(b.image.displayName) ||
        a.image.version.localeCompare(b.image.version),
    );
  return { status: 'full', count, limit, prune: result, slots };
}

/** Lines for an error message: one per image filling the tenant's slots. */
export function describeSlots(slots: readonly SlotHolder[]): string[] {
  return slots.map(
    (s) =>
      `'${s.image.displayName}' ${s.image.version} (${s.image.status}, id ${s.image.id})${s.usedBy.length ? `, used by ${s.usedBy.map((p) => `'${p.displayName}'`).join(', ')}` : ''}: ${s.why}`,
  );
}
