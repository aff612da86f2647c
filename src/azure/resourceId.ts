/** The parts of a managed image resource ID. */
export interface ManagedImageId {
  id: string;
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

export type ParsedImageId = { ok: true; value: ManagedImageId } | { ok: false; problem: string; fix: string };

const EXAMPLE =
  '/subscriptions/<subscription-id>/resourceGroups/<group>/providers/Microsoft.Compute/images/<name>';
const MANAGED_IMAGE =
  /^\/subscriptions\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/resourceGroups\/([-\w.()]{1,90})\/providers\/Microsoft\.Compute\/images\/([^/]+)$/i;
// Azure naming rules for Microsoft.Compute/images: 1-80 characters, alphanumerics, underscores, periods and hyphens;
// starts with an alphanumeric, ends with an alphanumeric or underscore.
const IMAGE_NAME = /^[a-z0-9](?:[\w.-]{0,78}[a-z0-9_])?$/i;

/** Parses a managed image ID and, for the IDs people paste by mistake, says what they pasted and what to do. */
export function parseManagedImageId(raw: string): ParsedImageId {
  const id = raw.trim().replace(/\/+$/, '');
  if (/^https?:\/\//i.test(id)) {
    return /\.vhdx?(\?|$)/i.test(id)
      ? {
          ok: false,
          problem: 'is a VHD URL; Windows 365 only takes managed images.',
          fix: `Create a managed image from the VHD (az image create --source <vhd-url> --os-type Windows --hyper-v-generation V2) and pass its ID, ${EXAMPLE}.`,
        }
      : {
          ok: false,
          problem: 'is a URL, not a resource ID.',
          fix: `Pass the managed image resource ID, ${EXAMPLE}.`,
        };
  }
  if (/^[^/:]+:[^/:]+:[^/:]+:[^/:]+$/.test(id)) {
    return {
      ok: false,
      problem: 'is a Marketplace image URN; Windows 365 needs a managed image built from it.',
      fix: 'Build a managed image with the packer/ template and pass its ID.',
    };
  }
  if (/\/providers\/Microsoft\.Compute\/galleries\//i.test(id)) {
    return {
      ok: false,
      problem: 'is an Azure Compute Gallery image; Windows 365 custom images must be managed images.',
      fix: `Create a managed image from the gallery image version (or build one with packer/) and pass its ID, ${EXAMPLE}.`,
    };
  }
  if (/\/providers\/Microsoft\.Compute\/(disks|snapshots)\//i.test(id)) {
    return {
      ok: false,
      problem: 'is a managed disk or snapshot, not a managed image.',
      fix: `Create a managed image from it (az image create --source <id> --os-type Windows --hyper-v-generation V2) and pass the image ID, ${EXAMPLE}.`,
    };
  }
  const match = MANAGED_IMAGE.exec(id);
  if (!match) {
    return { ok: false, problem: 'is not a managed image resource ID.', fix: `Use the form ${EXAMPLE}.` };
  }
  const [, subscriptionId, resourceGroup, name] = match as unknown as [string, string, string, string];
  if (resourceGroup.endsWith('.')) {
    return {
      ok: false,
      problem: `has a resource group name ending in a period ('${resourceGroup}').`,
      fix: 'Check the resource group name.',
    };
  }
  if (!IMAGE_NAME.test(name)) {
    return {
      ok: false,
      problem: `has an image name '${name}' that Azure does not allow.`,
      fix: 'Image names are 1-80 letters, digits, underscores, periods and hyphens, starting with a letter or digit.',
    };
  }
  return {
    ok: true,
    value: {
      id: `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute/images/${name}`,
      subscriptionId,
      resourceGroup,
      name,
    },
  };
}
