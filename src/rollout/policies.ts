import {
  compareImageVersions,
  findDeviceImageById,
  listDeviceImages,
  parseImageVersion,
  type DeviceImage,
} from '../graph/deviceImages.ts';
import type { GraphClient } from '../graph/client.ts';
import {
  listProvisioningPolicies,
  patchProvisioningPolicyImage,
  type PolicyImagePatch,
  type ProvisioningPolicy,
} from '../graph/provisioningPolicies.ts';
import { messageOf } from '../util/errors.ts';
import { RolloutError } from './errors.ts';
import { isRunFailure } from '../net/failures.ts';
import type { Services } from '../results/services.ts';

export interface ResolvedPolicy {
  /** The provisioning-policies entry, as written. */
  ref: string;
  matchedBy: 'id' | 'displayName';
  policy: ProvisioningPolicy;
}

export interface UnknownPolicyRef {
  ref: string;
  /** Policies whose name matches when case is ignored, to suggest. */
  similar: string[];
}

export interface AmbiguousPolicyRef {
  ref: string;
  policies: Array<{ id: string; displayName: string }>;
}

/** Some provisioning-policies entries match no policy or several; raised before any policy is changed. */
export class PolicyRefError extends RolloutError {
  override name = 'PolicyRefError';
  readonly unknown: UnknownPolicyRef[];
  readonly ambiguous: AmbiguousPolicyRef[];
  constructor(unknown: UnknownPolicyRef[], ambiguous: AmbiguousPolicyRef[], available: ProvisioningPolicy[]) {
    const lines: string[] = [];
    for (const u of unknown) {
      lines.push(
        `  - '${u.ref}' matches no provisioning policy${u.similar.length ? ` (did you mean ${u.similar.map((s) => `'${s}'`).join(', ')}? names are case-sensitive)` : ''}`,
      );
    }
    for (const a of ambiguous) {
      lines.push(
        `  - '${a.ref}' is the name of ${a.policies.length} policies (${a.policies.map((p) => p.id).join(', ')}): give the policy ID instead`,
      );
    }
    const known = available.length
      ? available.map((p) => `'${p.displayName}' (${p.id})`).join(', ')
      : 'none: the tenant has no provisioning policies';
    super(
      'policy-refs',
      `provisioning-policies lists policies that cannot be resolved; no policy was changed:\n${lines.join('\n')}\nList each policy by its ID or exact display name, one per line. Policies in the tenant: ${known}.`,
    );
    this.unknown = unknown;
    this.ambiguous = ambiguous;
  }
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Maps each entry (a policy ID, or an exact, case-sensitive display name) to one policy. An ID-shaped entry is
 * looked up as an ID first, then as a name. Throws PolicyRefError listing every unknown and ambiguous entry at once.
 * Blank entries are ignored; entries naming the same policy twice give it once.
 */
export function resolvePolicies(
  refs: readonly string[],
  all: readonly ProvisioningPolicy[],
): ResolvedPolicy[] {
  const resolved: ResolvedPolicy[] = [];
  const unknown: UnknownPolicyRef[] = [];
  const ambiguous: AmbiguousPolicyRef[] = [];
  const seen = new Set<string>();
  for (const raw of refs) {
    const ref = raw.trim();
    if (ref === '') continue;
    let match: ResolvedPolicy | undefined;
    if (GUID.test(ref)) {
      const byId = all.find((p) => p.id.toLowerCase() === ref.toLowerCase());
      if (byId) match = { ref, matchedBy: 'id', policy: byId };
    }
    if (!match) {
      const byName = all.filter((p) => p.displayName === ref);
      if (byName.length > 1) {
        ambiguous.push({ ref, policies: byName.map((p) => ({ id: p.id, displayName: p.displayName })) });
        continue;
      }
      const [only] = byName;
      if (only) match = { ref, matchedBy: 'displayName', policy: only };
    }
    if (!match) {
      const similar = all
        .filter((p) => p.displayName.toLowerCase() === ref.toLowerCase())
        .map((p) => p.displayName);
      unknown.push({ ref, similar: [...new Set(similar)] });
      continue;
    }
    if (seen.has(match.policy.id)) continue;
    seen.add(match.policy.id);
    resolved.push(match);
  }
  if (unknown.length > 0 || ambiguous.length > 0) throw new PolicyRefError(unknown, ambiguous, [...all]);
  return resolved;
}

/** Which image a policy points at. */
export interface PolicyImage {
  imageId: string | null;
  imageDisplayName: string | null;
  imageType: string | null;
}

export type RepointAction =
  /** This run sent the PATCH. */
  | 'patched'
  /** The policy already pointed at the image (an earlier run, or an admin): nothing sent. */
  | 'unchanged'
  /** The policy uses a newer version of the same display name: never moved back to an older one. */
  | 'newer-kept';

export interface PolicyRepoint {
  policyId: string;
  policyName: string;
  action: RepointAction;
  from: PolicyImage;
  to: PolicyImage;
}

export interface RepointResult {
  image: { id: string; displayName: string; version: string };
  policies: PolicyRepoint[];
  /** For the summary: what repointing does not do. */
  note: string;
}

export const REPROVISION_NOTE =
  'Existing Cloud PCs keep their current image until they are reprovisioned; only new Cloud PCs get the new image. This tool never reprovisions: reprovision in Intune when it suits your users.';

/** The PATCH body that points a policy at this device image. */
export function policyPatchFor(image: Pick<DeviceImage, 'id' | 'displayName'>): PolicyImagePatch {
  return { imageType: 'custom', imageId: image.id, imageDisplayName: image.displayName };
}

/** The policy already points at this custom image, so re-runs send nothing. */
export function pointsAt(policy: ProvisioningPolicy, imageId: string): boolean {
  return policy.imageType === 'custom' && (policy.imageId ?? '').toLowerCase() === imageId.toLowerCase();
}

/**
 * Points each policy at the device image (imageType custom), skipping those that already do. Re-reads the image
 * first and refuses unless it is ready (or warning). A PATCH failure stops the step and says which policies were
 * already changed; a re-run skips those.
 */
/**
 * The newer version of the same display name a policy already uses, if any: a slow or re-run job must not move
 * a policy back to an older image.
 */
export function newerImageInUse(
  policy: ProvisioningPolicy,
  image: Pick<DeviceImage, 'displayName' | 'version'>,
  images: readonly DeviceImage[],
): DeviceImage | undefined {
  const current = images.find((i) => i.id === policy.imageId);
  if (!current || current.displayName !== image.displayName) return undefined;
  const [a, b] = [parseImageVersion(current.version), parseImageVersion(image.version)];
  return a && b && compareImageVersions(a, b) > 0 ? current : undefined;
}

export async function repointPolicies(
  policies: ReadonlyArray<ProvisioningPolicy | ResolvedPolicy>,
  deviceImageId: string,
  deps: Pick<Services, 'graph' | 'log'>,
): Promise<RepointResult> {
  const { graph, log } = deps;
  const image = await findDeviceImageById(graph, deviceImageId);
  if (!image) {
    throw new RolloutError(
      'image-not-ready',
      `Device image ${deviceImageId} no longer exists, so no policy was pointed at it. Re-run the job to upload it again.`,
    );
  }
  if (image.status !== 'ready' && image.status !== 'warning') {
    throw new RolloutError(
      'image-not-ready',
      `Device image ${image.id} '${image.displayName}' ${image.version} is ${image.status}, not ready; no policy was changed. Policies can only use a ready image: re-run once the upload is ready.`,
    );
  }
  const patch = policyPatchFor(image);
  const to: PolicyImage = {
    imageId: patch.imageId,
    imageDisplayName: patch.imageDisplayName,
    imageType: 'custom',
  };
  const results: PolicyRepoint[] = [];
  const images = await listDeviceImages(graph);
  for (const entry of policies) {
    const policy = 'policy' in entry ? entry.policy : entry;
    const from: PolicyImage = {
      imageId: policy.imageId ?? null,
      imageDisplayName: policy.imageDisplayName ?? null,
      imageType: policy.imageType ?? null,
    };
    const base = { policyId: policy.id, policyName: policy.displayName, from, to };
    if (pointsAt(policy, image.id)) {
      log.info(`Policy '${policy.displayName}' already uses device image ${image.id}; not changed.`);
      results.push({ ...base, action: 'unchanged' });
      continue;
    }
    const newer = newerImageInUse(policy, image, images);
    if (newer) {
      log.warning(
        `Policy '${policy.displayName}' already uses the newer '${newer.displayName}' ${newer.version} (${newer.id}); not moved back to ${image.version}.`,
      );
      results.push({ ...base, action: 'newer-kept' });
      continue;
    }
    try {
      await patchProvisioningPolicyImage(graph, policy.id, patch);
    } catch (error) {
      if (isRunFailure(error)) throw error;
      const done = results.filter((r) => r.action === 'patched').map((r) => `'${r.policyName}'`);
      throw new RolloutError(
        'policy-update-failed',
        `Could not point provisioning policy '${policy.displayName}' (${policy.id}) at device image ${image.id}: ${messageOf(error)}. ${done.length ? `Already pointed at it: ${done.join(', ')}. ` : ''}Check that the app has CloudPC.ReadWrite.All, then re-run: policies already changed are skipped.`,
        { cause: error },
      );
    }
    log.info(
      `Pointed policy '${policy.displayName}' from ${describeImage(from)} to '${image.displayName}' ${image.version} (${image.id}).`,
    );
    results.push({ ...base, action: 'patched' });
  }
  return {
    image: { id: image.id, displayName: image.displayName, version: image.version },
    policies: results,
    note: REPROVISION_NOTE,
  };
}

export function describeImage(image: PolicyImage): string {
  const name = image.imageDisplayName ? `'${image.imageDisplayName}' ` : '';
  return `${image.imageType ?? 'unknown'} image ${name}(${image.imageId ?? 'none'})`;
}

/** Lists the tenant's policies and resolves the provisioning-policies entries: call before anything changes. */
export async function loadPolicies(
  graph: GraphClient,
  refs: readonly string[],
): Promise<{ all: ProvisioningPolicy[]; resolved: ResolvedPolicy[] }> {
  const all = await listProvisioningPolicies(graph);
  return { all, resolved: resolvePolicies(refs, all) };
}
