import type { GraphClient } from './client.ts';
import { VIRTUAL_ENDPOINT } from './deviceImages.ts';

/** The fields of cloudPcProvisioningPolicy this tool reads (Graph returns more). */
export interface ProvisioningPolicy {
  id: string;
  displayName: string;
  description?: string | null;
  /** A device image ID when imageType is 'custom'; `{publisher_offer_sku}` for a gallery image. */
  imageId: string | null;
  imageDisplayName?: string | null;
  /** 'gallery', 'custom' or 'unknownFutureValue': a string, as Graph may add values. */
  imageType: string | null;
}

/** The body that points a policy at a custom image. Only these properties are sent: PATCH leaves the rest as is. */
export interface PolicyImagePatch {
  imageType: 'custom';
  imageId: string;
  imageDisplayName: string;
}

const POLICIES = `${VIRTUAL_ENDPOINT}/provisioningPolicies`;

/** Every provisioning policy of the tenant (all pages). */
export function listProvisioningPolicies(graph: GraphClient): Promise<ProvisioningPolicy[]> {
  return graph.list<ProvisioningPolicy>(POLICIES);
}

export function getProvisioningPolicy(graph: GraphClient, id: string): Promise<ProvisioningPolicy> {
  return graph.get<ProvisioningPolicy>(`${POLICIES}/${encodeURIComponent(id)}`);
}

/** PATCH the image of a policy (sets the same values each time, so repeating it is safe). */
export function patchProvisioningPolicyImage(
  graph: GraphClient,
  id: string,
  patch: PolicyImagePatch,
): Promise<void> {
  return graph.patch(`${POLICIES}/${encodeURIComponent(id)}`, {
    '@odata.type': '#microsoft.graph.cloudPcProvisioningPolicy',
    ...patch,
  });
}

/** The policy points at this device image (IDs compare case-insensitively; any imageType, to stay on the safe side). */
export function policyUsesImage(policy: ProvisioningPolicy, deviceImageId: string): boolean {
  return (policy.imageId ?? '').toLowerCase() === deviceImageId.toLowerCase();
}
