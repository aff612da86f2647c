import type { ImageRead, ManagedImage } from '../azure/managedImage.ts';
import { parseManagedImageId, type ManagedImageId } from '../azure/resourceId.ts';
import { WINDOWS_365_APP_ID } from '../azure/windows365.ts';
import { sameSource, type SourceImage } from '../graph/deviceImages.ts';
import { isRunFailure } from '../net/failures.ts';
import type { Clock } from '../util/clock.ts';
import { failed, type CheckResult, type CheckStatus } from '../results/checks.ts';
import { countOf } from '../util/plural.ts';

export interface ValidationInput {
  imageId: string;
  subscriptionId: string | undefined;
  /** Reads the image from Azure; only called when the ID is well formed. */
  read: (id: ManagedImageId) => Promise<ImageRead>;
}

export interface Validation {
  checks: CheckResult[];
  imageId: ManagedImageId | undefined;
  image: ManagedImage | undefined;
  passed: boolean;
  /** The image is gone or being deleted (ARM 404, or provisioningState Deleting). */
  sourceGone: boolean;
}

interface ImageCheck {
  id: string;
  requirement: string;
  title: string;
  errorCode: string;
  fix: string;
  evaluate(image: ManagedImage): { status: CheckStatus; detail: string };
}

const PLAN_TAGS = ['planname', 'planproduct', 'planpublisher'];
const MAX_OS_DISK_GB = 64;

/** Requirements Azure can show about a managed image (R-numbers: docs/requirements.md). */
export const IMAGE_CHECKS: readonly ImageCheck[] = [
  {
    id: 'image.provisioning-state',
    requirement: 'R11',
    title: 'Image provisioning succeeded',
    errorCode: 'sourceImageNotFound',
    fix: 'Wait for the image capture to finish, or capture the image again.',
    evaluate: (image) =>
      image.provisioningState === 'Succeeded'
        ? { status: 'pass', detail: 'provisioningState is Succeeded.' }
        : {
            status: 'fail',
            detail: `provisioningState is ${image.provisioningState ?? 'missing'}, not Succeeded.`,
          },
  },
  {
    id: 'image.os-type',
    requirement: 'R1',
    title: 'Windows image',
    errorCode: 'osVersionNotSupported',
    fix: 'Build from MicrosoftWindowsDesktop/windows-ent-cpc.',
    evaluate: (image) => {
      const osType = image.storageProfile?.osDisk?.osType;
      return osType === 'Windows'
        ? { status: 'pass', detail: 'OS type is Windows.' }
        : { status: 'fail', detail: `OS type is ${osType ?? 'missing'}, not Windows.` };
    },
  },
  {
    id: 'image.generalized',
    requirement: 'R3',
    title: 'Generalized with sysprep',
    errorCode: 'sourceImageNotGeneralized',
    fix: 'Run Sysprep /oobe /generalize /mode:vm as the last build step and capture the image again; a Specialized image cannot be used.',
    evaluate: (image) => {
      const osState = image.storageProfile?.osDisk?.osState;
      return osState === 'Generalized'
        ? { status: 'pass', detail: 'OS state is Generalized.' }
        : { status: 'fail', detail: `OS state is ${osState ?? 'missing'}, not Generalized.` };
    },
  },
  {
    id: 'image.generation',
    requirement: 'R2',
    title: 'Generation 2',
    errorCode: 'sourceImageInvalid',
    fix: 'Build from a Gen2 base (windows-ent-cpc Windows 11 SKUs are Gen2) so the image has hyperVGeneration V2; a Gen1 image cannot be converted.',
    evaluate: (image) =>
      image.hyperVGeneration === 'V2'
        ? { status: 'pass', detail: 'hyperVGeneration is V2.' }
        : {
            status: 'fail',
            detail: `hyperVGeneration is ${image.hyperVGeneration ?? 'not set (Azure treats that as V1)'}, not V2.`,
          },
  },
  {
    id: 'image.os-disk-size',
    requirement: 'R7',
    title: `OS disk at most ${MAX_OS_DISK_GB} GB`,
    errorCode: 'sourceImageSizeExceedsLimitation',
    fix: `Build with the default ${MAX_OS_DISK_GB} GB OS disk (leave os_disk_size_gb unset or at most ${MAX_OS_DISK_GB}).`,
    evaluate: (image) => {
      const size = image.storageProfile?.osDisk?.diskSizeGB;
      if (size === undefined)
        return { status: 'warn', detail: 'The image does not state its OS disk size; cannot verify.' };
      return size <= MAX_OS_DISK_GB
        ? { status: 'pass', detail: `OS disk is ${size} GB.` }
        : { status: 'fail', detail: `OS disk is ${size} GB, more than ${MAX_OS_DISK_GB} GB.` };
    },
  },
  {
    id: 'image.no-data-disks',
    requirement: 'R8',
    title: 'No data disks',
    errorCode: 'sourceImageInvalid',
    fix: 'Build without data disks (no disk_additional_size in Packer) and capture again.',
    evaluate: (image) => {
      const disks = image.storageProfile?.dataDisks ?? [];
      return disks.length === 0
        ? { status: 'pass', detail: 'No data disks.' }
        : {
            status: 'fail',
            detail: `${countOf(disks.length, 'data disk')}: ${disks.map((d) => `LUN ${d.lun} (${d.diskSizeGB ?? '?'} GB)`).join(', ')}.`,
          };
    },
  },
  {
    id: 'image.no-disk-encryption-set',
    requirement: 'R9',
    title: 'No disk encryption set',
    errorCode: 'sourceImageInvalid',
    fix: 'Capture the image without a customer-managed disk encryption set (platform-managed keys only).',
    evaluate: (image) => {
      const des = image.storageProfile?.osDisk?.diskEncryptionSet?.id;
      return des
        ? { status: 'fail', detail: `OS disk uses disk encryption set ${des}.` }
        : { status: 'pass', detail: 'No disk encryption set.' };
    },
  },
  {
    id: 'image.no-purchase-plan',
    requirement: 'R10',
    title: 'No Marketplace purchase plan',
    errorCode: 'paidSourceImageNotSupport',
    fix: 'Build from MicrosoftWindowsDesktop/windows-ent-cpc, which has no purchase plan, and do not set plan_info.',
    evaluate: (image) => {
      const found = Object.entries(image.tags ?? {}).filter(([key]) => PLAN_TAGS.includes(key.toLowerCase()));
      return found.length === 0
        ? { status: 'pass', detail: 'No purchase-plan tags.' }
        : { status: 'fail', detail: `Purchase-plan tags: ${found.map(([k, v]) => `${k}=${v}`).join(', ')}.` };
    },
  },
];

/** Runs every check and reports all failures, not just the first. Reads nothing but the image. */
export async function validateImage(input: ValidationInput): Promise<Validation> {
  const checks: CheckResult[] = [];
  const parsed = parseManagedImageId(input.imageId);
  const shape: CheckResult = {
    id: 'image-id.shape',
    requirement: 'R11',
    title: 'image-id is a managed image resource ID',
    status: 'pass',
    detail: '',
    errorCode: 'sourceImageNotFound',
    fix: null,
  };
  if (!parsed.ok) {
    checks.push({
      ...shape,
      status: 'fail',
      detail: `image-id '${input.imageId}' ${parsed.problem}`,
      fix: parsed.fix,
    });
  } else if (
    input.subscriptionId &&
    input.subscriptionId.toLowerCase() !== parsed.value.subscriptionId.toLowerCase()
  ) {
    checks.push({
      ...shape,
      status: 'fail',
      detail: `subscription-id ${input.subscriptionId} differs from the subscription in image-id (${parsed.value.subscriptionId}).`,
      fix: 'Leave subscription-id empty, or make it match the image-id.',
    });
  } else {
    checks.push({
      ...shape,
      detail: `Managed image '${parsed.value.name}' in resource group '${parsed.value.resourceGroup}'.`,
    });
  }

  const imageId = parsed.ok ? parsed.value : undefined;
  let image: ManagedImage | undefined;
  let sourceGone = false;
  const readable: CheckResult = {
    id: 'image.readable',
    requirement: 'R11',
    title: 'Image exists and can be read',
    status: 'skip',
    detail: 'Not checked: image-id is not valid.',
    errorCode: 'sourceImageNotFound',
    fix: null,
  };
  if (imageId && checks[0]?.status === 'pass') {
    const read = await input.read(imageId);
    if (read.ok) {
      image = read.image;
      checks.push({ ...readable, status: 'pass', detail: `Read ${imageId.id}.` });
    } else {
      sourceGone = read.status === 404;
      checks.push({ ...readable, status: 'fail', ...explainReadFailure(read, imageId) });
    }
  } else {
    checks.push(readable);
  }

  for (const check of IMAGE_CHECKS) {
    const base = {
      id: check.id,
      requirement: check.requirement,
      title: check.title,
      errorCode: check.errorCode,
    };
    if (!image) {
      checks.push({
        ...base,
        status: 'skip',
        detail: 'Not checked: the image could not be read.',
        fix: null,
      });
      continue;
    }
    const { status, detail } = check.evaluate(image);
    checks.push({ ...base, status, detail, fix: status === 'pass' ? null : check.fix });
  }
  if (image?.provisioningState === 'Deleting') sourceGone = true;
  return { checks, imageId, image, passed: failed(checks).length === 0 && image !== undefined, sourceGone };
}

function explainReadFailure(
  read: Extract<ImageRead, { ok: false }>,
  id: ManagedImageId,
): { detail: string; fix: string } {
  const servicePrincipal = `the Windows 365 service principal (app ${WINDOWS_365_APP_ID}) needs Reader on subscription ${id.subscriptionId}`;
  if (read.status === 404) {
    const what =
      read.code === 'ResourceGroupNotFound'
        ? `Resource group '${id.resourceGroup}' does not exist`
        : read.code === 'SubscriptionNotFound'
          ? `Subscription ${id.subscriptionId} does not exist or this identity has no role in it`
          : `Image '${id.name}' does not exist in resource group '${id.resourceGroup}'`;
    return {
      detail: `${what} (404 ${read.code ?? ''}).`.replace(' )', ')'),
      fix: `Check image-id (names are case-insensitive, but the subscription, group and name must all match) and that the image was not deleted. Also, ${servicePrincipal}.`,
    };
  }
  // 401 and 403 never get here: ManagedImageClient.read throws them as auth failures of the run, not of the image.
  return {
    detail: `Reading the image failed (${read.status ?? 'no answer'} ${read.code ?? ''}): ${read.message}`,
    fix: 'Re-run the job; if it persists, check Azure status and arm-endpoint.',
  };
}

export interface Windows365ViewInput {
  image: ManagedImageId;
  /** Graph getSourceImages, all pages. */
  listSourceImages: () => Promise<SourceImage[]>;
  clock: Clock;
  /**
   * How long to keep looking when the image is missing (0: look once). A freshly captured image may take a moment
   * to show up; a role assignment missing for good never will.
   */
  settleMs: number;
  signal?: AbortSignal | undefined;
}

const WINDOWS_365_LOOK_INTERVAL_MS = 30_000;
const WINDOWS_365_VIEW = {
  id: 'image.windows365-can-read',
  requirement: 'R11',
  title: 'Windows 365 can see the image',
  errorCode: 'sourceImageNotFound',
};

/** The row for a run that does not ask Windows 365 (it needs Graph), saying why. */
export function windows365ViewSkipped(why: string): CheckResult {
  return { ...WINDOWS_365_VIEW, status: 'skip', detail: `Not checked: ${why}`, fix: null };
}

/** The `az` command that lets Windows 365's service principal read the image's resource group. */
export function readerRoleCommand(image: ManagedImageId): string {
  return `az role assignment create --assignee ${WINDOWS_365_APP_ID} --role Reader --scope /subscriptions/${image.subscriptionId}/resourceGroups/${image.resourceGroup}`;
}

/**
 * R11 as Windows 365 itself sees it: image.readable proves that this workflow's identity can read the image, not
 * that Windows 365's service principal can. Graph's getSourceImages lists exactly the managed images Windows 365
 * can see; an image missing from it fails the upload with sourceImageNotFound, but only after the wait.
 */
export async function checkWindows365CanSee(input: Windows365ViewInput): Promise<CheckResult> {
  const base = WINDOWS_365_VIEW;
  const deadline = input.clock.now() + input.settleMs;
  for (let looks = 1; ; looks++) {
    let sources: SourceImage[];
    try {
      sources = await input.listSourceImages();
    } catch (error) {
      // Sign-in failures, a cancel and the deadline stop the run as errors: they say nothing about the image.
      if (isRunFailure(error)) throw error;
      return {
        ...base,
        status: 'unverified',
        detail: `Could not ask Graph (deviceImages/getSourceImages) which images Windows 365 can see: ${(error as Error).message}`,
        fix: 'Give this identity the Graph application permission CloudPC.Read.All or CloudPC.ReadWrite.All with admin consent (the upload needs CloudPC.ReadWrite.All anyway), check graph-endpoint, then re-run.',
      };
    }
    if (sources.some((s) => typeof s.resourceId === 'string' && sameSource(s.resourceId, input.image.id))) {
      return {
        ...base,
        status: 'pass',
        detail: `Graph getSourceImages lists the image (Windows 365 sees ${countOf(sources.length, 'managed image')}).`,
        fix: null,
      };
    }
    const now = input.clock.now();
    if (now >= deadline || input.signal?.aborted) {
      return {
        ...base,
        status: 'fail',
        detail: `Graph getSourceImages does not list ${input.image.id} (Windows 365 sees ${countOf(sources.length, 'managed image')}${looks > 1 ? `; looked ${looks} times` : ''}): its service principal cannot read the image, so the upload would fail with sourceImageNotFound after the wait.`,
        fix: `Give the Windows 365 service principal (app ${WINDOWS_365_APP_ID}) the Reader role on the image's resource group or subscription: ${readerRoleCommand(input.image)} (or --scope /subscriptions/${input.image.subscriptionId}). When this action calls Graph app-only (a service principal, as in a workflow), Windows 365 must also have been granted Subscriptions.Read beforehand (learn.microsoft.com/windows-365/enterprise/customer-permissions). Role assignments can take a few minutes to apply; then re-run.`,
      };
    }
    await input.clock.sleep(Math.min(WINDOWS_365_LOOK_INTERVAL_MS, deadline - now), input.signal);
  }
}
