import type { ManagedImageId } from '../azure/resourceId.ts';
import { listDeviceImages } from '../graph/deviceImages.ts';
import { listProvisioningPolicies } from '../graph/provisioningPolicies.ts';
import { loadPolicies, repointPolicies, type RepointResult } from './policies.ts';
import { messageOf } from '../util/errors.ts';
import { planPrune, prune, type PruneResult } from './retention.ts';
import { cleanUpSourceImage, type SourceCleanupResult } from './sourceCleanup.ts';
import { isRunFailure } from '../net/failures.ts';
import type { Services } from '../results/services.ts';

export interface CompleteRolloutInput {
  /** The ready device image to roll out. */
  deviceImageId: string;
  displayName: string;
  /** provisioning-policies entries (IDs or exact display names). */
  policyRefs: readonly string[];
  /** keep-images (0 = never prune). */
  keep: number;
  /** delete-source-image. */
  deleteSourceImage: boolean;
  source: ManagedImageId;
  /** ARM delete poll interval (tests set it small). */
  pollIntervalMs?: number;
}

export interface RolloutResult {
  repoint: RepointResult;
  prune: PruneResult;
  /** undefined when delete-source-image is false. */
  source: SourceCleanupResult | undefined;
}

/**
 * The steps after a device image is ready, in order: resolve the policies (fails before any change), repoint
 * them, prune older versions (with the policies as they are after repointing), delete the source image.
 * Every step reads the current state first, so a re-run after a crash at any point finishes the job without
 * repeating or losing anything.
 */
export async function completeRollout(
  input: CompleteRolloutInput,
  deps: Pick<Services, 'graph' | 'images' | 'log'>,
): Promise<RolloutResult> {
  const { graph, log } = deps;
  const { resolved } = await loadPolicies(graph, input.policyRefs);
  const repoint = await repointPolicies(resolved, input.deviceImageId, { graph, log });
  // Policies already point at the image: housekeeping failures from here on are reported, never thrown, so the
  // report still says which policies changed. A re-run finishes what is left.
  let pruned: PruneResult;
  try {
    const [images, policies] = await Promise.all([listDeviceImages(graph), listProvisioningPolicies(graph)]);
    const plan = planPrune({
      images,
      policies,
      displayName: input.displayName,
      keep: input.keep,
      protect: [input.deviceImageId],
    });
    pruned = await prune(plan, { graph, log });
  } catch (error) {
    if (isRunFailure(error, 'cancelled')) throw error;
    log.warning(`Pruning stopped: ${messageOf(error)}. Nothing more was deleted; re-run to finish.`);
    pruned = { deleted: [], skipped: [], kept: [] };
  }
  const source = input.deleteSourceImage
    ? await cleanUpSource(
        {
          deviceImageId: input.deviceImageId,
          source: input.source,
          ...(input.pollIntervalMs === undefined ? {} : { pollIntervalMs: input.pollIntervalMs }),
        },
        { graph, images: deps.images(), log },
      )
    : undefined;
  return { repoint, prune: pruned, source };
}

/** Source clean-up that reports a failed read as a kept image instead of throwing. */
async function cleanUpSource(
  input: Parameters<typeof cleanUpSourceImage>[0],
  deps: Parameters<typeof cleanUpSourceImage>[1],
): Promise<SourceCleanupResult> {
  try {
    return await cleanUpSourceImage(input, deps);
  } catch (error) {
    if (isRunFailure(error, 'cancelled')) throw error;
    const detail = `Could not check whether the source image may be deleted: ${messageOf(error)}. It is kept; re-run to delete it.`;
    deps.log.warning(detail);
    return { action: 'failed', imageId: input.source.id, status: undefined, code: undefined, detail };
  }
}
