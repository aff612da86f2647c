import type { ManagedImageClient } from '../azure/managedImage.ts';
import type { ManagedImageId } from '../azure/resourceId.ts';
import { listDeviceImages, sameSource, TENANT_IMAGE_LIMIT, type DeviceImage } from '../graph/deviceImages.ts';
import { explainErrorCode } from '../graph/errorCodes.ts';
import { listProvisioningPolicies, policyUsesImage } from '../graph/provisioningPolicies.ts';
import {
  newerImageInUse,
  pointsAt,
  policyPatchFor,
  REPROVISION_NOTE,
  resolvePolicies,
  type PolicyImage,
} from './policies.ts';
import {
  planPrune,
  withRepoints,
  type KeptImage,
  type PruneCandidate,
  type SlotHolder,
} from './retention.ts';
import { countOf } from '../util/plural.ts';
import type { Services } from '../results/services.ts';

export interface RolloutPlanInput {
  displayName: string;
  version: string;
  /** undefined: the image does not exist yet (a dry run with build: validate plans for the image a build would make). */
  source: ManagedImageId | undefined;
  /** provisioning-policies entries. */
  policyRefs: readonly string[];
  /** keep-images. */
  keep: number;
  /** delete-source-image. */
  deleteSourceImage: boolean;
  /** upload-retries. */
  uploadRetries: number;
  /** Default 20. */
  limit?: number;
}

/** Graph and the log, and a managed image client to read the source (without it the plan assumes it exists). */
export type RolloutPlanServices = Pick<Services, 'graph' | 'log'> & { images?: ManagedImageClient };

/** The device image the rollout is about. */
export interface PlannedImage {
  displayName: string;
  version: string;
  /** undefined: it does not exist yet. */
  id: string | undefined;
  status: string | undefined;
  /** upload: a new upload would start; resume: an earlier run's image is waited for; ready: nothing to wait for. */
  action: 'upload' | 'resume' | 'ready' | 'retry' | 'stop';
  detail: string;
}

export interface PlannedPatch {
  policyId: string;
  policyName: string;
  action: 'patch' | 'unchanged' | 'newer-kept';
  from: PolicyImage;
  /** imageId is undefined while the image does not exist. */
  to: { imageId: string | undefined; imageDisplayName: string; imageType: 'custom' };
}

export interface PlannedSourceDelete {
  imageId: string;
  action: 'delete' | 'already-gone' | 'keep';
  detail: string;
}

/** Exactly what a run would create, change and delete; produced by reads only. */
export interface RolloutPlan {
  image: PlannedImage;
  /** The tenant's image count before the run, and the limit. */
  tenant: { images: number; limit: number };
  /** Device images deleted before the upload to make room (empty when there is room). */
  freeSlot: PruneCandidate[];
  /** Set when the tenant is full and nothing may be pruned: the run would stop before uploading. */
  blockedBy: SlotHolder[] | undefined;
  patch: PlannedPatch[];
  /** Device images pruned after repointing. */
  prune: PruneCandidate[];
  /** Images of this display name kept, and why. */
  kept: KeptImage[];
  source: PlannedSourceDelete | undefined;
  notes: string[];
}

const NEW_IMAGE_ID = '(new image)';

/**
 * Does every read a rollout does (device images, policies, the source image) and no write, and says what a real
 * run would do. Unknown or ambiguous policy entries throw PolicyRefError, exactly as a real run would.
 */
export async function planRollout(input: RolloutPlanInput, deps: RolloutPlanServices): Promise<RolloutPlan> {
  const { graph } = deps;
  const limit = input.limit ?? TENANT_IMAGE_LIMIT;
  const [images, policies] = await Promise.all([listDeviceImages(graph), listProvisioningPolicies(graph)]);
  const resolved = resolvePolicies(input.policyRefs, policies);
  const notes: string[] = [];
  const sourceId = input.source?.id;
  const existing = images
    .filter(
      (i) =>
        sourceId !== undefined &&
        i.displayName === input.displayName &&
        i.version === input.version &&
        sameSource(i.sourceImageResourceId, sourceId),
    )
    .sort((a, b) => (b.lastModifiedDateTime ?? '').localeCompare(a.lastModifiedDateTime ?? ''))[0];
  // Another source already holds this display name and version: the real run stops before changing anything.
  const conflict = existing
    ? undefined
    : images.find((i) => i.displayName === input.displayName && i.version === input.version);
  const image: PlannedImage = conflict
    ? {
        displayName: input.displayName,
        version: input.version,
        id: conflict.id,
        status: conflict.status,
        action: 'stop',
        detail: `Device image ${conflict.id} already has this display name and version but was made from ${conflict.sourceImageResourceId}: the run would stop; choose another version.`,
      }
    : plannedImage(input, existing);

  // Room for the upload.
  let freeSlot: PruneCandidate[] = [];
  let blockedBy: SlotHolder[] | undefined;
  let remaining: DeviceImage[] = images;
  if (!existing && !conflict && images.length >= limit) {
    const slotPlan = planPrune({
      images,
      policies,
      displayName: input.displayName,
      keep: input.keep,
      protect: [],
      creatingVersion: input.version,
    });
    const needed = images.length - limit + 1;
    freeSlot = slotPlan.delete.slice(0, needed);
    if (freeSlot.length < needed) {
      const why = new Map(slotPlan.kept.map((k) => [k.image.id, k.detail]));
      blockedBy = images.map((i) => ({
        image: i,
        usedBy: policies
          .filter((p) => policyUsesImage(p, i.id))
          .map((p) => ({ id: p.id, displayName: p.displayName })),
        why: why.get(i.id) ?? `another display name ('${i.displayName}'): never pruned by this job`,
      }));
      notes.push(
        `The tenant holds ${images.length} of ${limit} custom images and none of '${input.displayName}' may be deleted: the run would stop before uploading.`,
      );
    }
    const gone = new Set(freeSlot.map((c) => c.image.id));
    remaining = images.filter((i) => !gone.has(i.id));
  }

  // Repointing.
  const target = { id: existing?.id ?? NEW_IMAGE_ID, displayName: input.displayName };
  const patchBody = policyPatchFor(target);
  // A run that stops (conflict, a failure it does not retry, a full tenant) changes no policy.
  const stops = image.action === 'stop' || blockedBy !== undefined;
  const patch: PlannedPatch[] = (stops ? [] : resolved).map(({ policy }) => ({
    policyId: policy.id,
    policyName: policy.displayName,
    action:
      existing && pointsAt(policy, existing.id)
        ? 'unchanged'
        : newerImageInUse(policy, input, images)
          ? 'newer-kept'
          : 'patch',
    from: {
      imageId: policy.imageId ?? null,
      imageDisplayName: policy.imageDisplayName ?? null,
      imageType: policy.imageType ?? null,
    },
    to: { imageId: existing?.id, imageDisplayName: patchBody.imageDisplayName, imageType: 'custom' },
  }));
  if (patch.length > 0) notes.push(REPROVISION_NOTE);
  if (image.action !== 'ready' && patch.length > 0) {
    notes.push('Policies are changed, and older images pruned, only once the image is ready.');
  }

  // Pruning, with the policies as they would be after repointing and the new image counted as the newest.
  const willExist = image.action !== 'stop' && blockedBy === undefined;
  const afterRepoint = withRepoints(
    policies,
    willExist ? new Map(resolved.map((r) => [r.policy.id, target.id])) : undefined,
  );
  // The image this run ends with counts as ready, as in a real run where pruning happens after it is ready.
  const pool: DeviceImage[] = existing
    ? remaining.map((i) => (i.id === existing.id ? { ...i, status: 'ready' } : i))
    : [...remaining, syntheticImage(input)];
  const prunePlan = planPrune({
    images: willExist ? pool : remaining,
    policies: afterRepoint,
    displayName: input.displayName,
    keep: input.keep,
    protect: [target.id],
  });
  const prune = willExist ? prunePlan.delete : [];
  if (!willExist && input.keep > 0) notes.push('Nothing is pruned when the image does not become ready.');

  // Source image.
  let source: PlannedSourceDelete | undefined;
  if (input.deleteSourceImage && !input.source) {
    source = {
      imageId: '(the image a build would make)',
      action: willExist ? 'delete' : 'keep',
      detail:
        'Not checked: the image does not exist yet. A real run deletes it once the device image is ready.',
    };
  } else if (input.deleteSourceImage && input.source) {
    let exists = true;
    if (deps.images) {
      const read = await deps.images.read(input.source);
      exists = !(!read.ok && read.status === 404);
    }
    source = !exists
      ? { imageId: input.source.id, action: 'already-gone', detail: 'The source image no longer exists.' }
      : willExist
        ? {
            imageId: input.source.id,
            action: 'delete',
            detail:
              image.action === 'ready'
                ? 'The device image is ready: the source would be deleted.'
                : 'Deleted once the device image is ready (never while pending or failed).',
          }
        : { imageId: input.source.id, action: 'keep', detail: 'The device image would not become ready.' };
  }

  return {
    image,
    tenant: { images: images.length, limit },
    freeSlot,
    blockedBy,
    patch,
    prune,
    kept: prunePlan.kept.filter((k) => k.image.id !== NEW_IMAGE_ID),
    source,
    notes,
  };

  function plannedImage(i: RolloutPlanInput, found: DeviceImage | undefined): PlannedImage {
    const base = { displayName: i.displayName, version: i.version, id: found?.id, status: found?.status };
    if (!found) {
      const what = i.source ? i.source.id : 'the image a build would make';
      return { ...base, action: 'upload', detail: `Upload ${what} as a new device image.` };
    }
    if (found.status === 'ready' || found.status === 'warning') {
      return { ...base, action: 'ready', detail: `Device image ${found.id} is already ${found.status}.` };
    }
    if (found.status === 'failed') {
      const help = explainErrorCode(found.errorCode);
      return help.transient && i.uploadRetries > 0
        ? {
            ...base,
            action: 'retry',
            detail: `Device image ${found.id} failed with ${found.errorCode ?? 'none'}: retryUpload, up to ${countOf(i.uploadRetries, 'time')}.`,
          }
        : {
            ...base,
            action: 'stop',
            detail: `Device image ${found.id} failed with ${found.errorCode ?? 'none'}; the run would stop. ${help.fix}`,
          };
    }
    return { ...base, action: 'resume', detail: `Wait for device image ${found.id} (${found.status}).` };
  }
}

function syntheticImage(input: RolloutPlanInput): DeviceImage {
  return {
    id: NEW_IMAGE_ID,
    displayName: input.displayName,
    version: input.version,
    sourceImageResourceId: input.source?.id ?? '',
    status: 'ready',
  };
}
