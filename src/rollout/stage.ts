import { versionFromTime } from '../azure/imageVersion.ts';
import type { Config } from '../config/inputs.ts';
import { planRollout, type RolloutPlan } from './plan.ts';
import { loadPolicies } from './policies.ts';
import { describeSlots, freeSlotIfFull, type PruneResult } from './retention.ts';
import { completeRollout, type RolloutResult } from './complete.ts';
import {
  RegistrationError,
  type PlanTarget,
  type Registration,
  type Target,
} from '../results/registration.ts';
import type { Services } from '../results/services.ts';
import { IMAGE_CHECKS } from '../validate/validate.ts';
import { countOf } from '../util/plural.ts';

/** How long the rollout (policy changes, pruning, the source delete) may take once the image is ready. */
const ROLLOUT_ALLOWANCE_MS = 30 * 60_000;

/** Graph, the managed images (read, and deleted with delete-source-image), the clock and the log. */
export type RolloutServices = Pick<Services, 'graph' | 'images' | 'clock' | 'log'>;

/**
 * Before any upload: the named policies must all exist (nothing has changed yet), and a full tenant gets room by
 * pruning older versions of this display name, or the run stops listing what fills the slots.
 */
export async function prepareRollout(
  config: Config,
  target: Target,
  deps: Pick<Services, 'graph' | 'log'>,
): Promise<PruneResult | undefined> {
  if (config.policyRefs.length > 0) await loadPolicies(deps.graph, config.policyRefs);
  const room = await freeSlotIfFull(
    { displayName: target.displayName, version: target.version, keep: config.keepImages },
    { graph: deps.graph, log: deps.log },
  );
  if (room.status === 'room') deps.log.info(`The tenant holds ${room.count} of ${room.limit} custom images.`);
  if (room.status === 'full') {
    throw new RegistrationError(
      'image-limit',
      `The tenant already holds ${room.count} custom images, the Windows 365 limit is ${room.limit}, and none of '${target.displayName}' can be pruned (keep-images: ${config.keepImages}); nothing was uploaded. Delete images no provisioning policy uses (Intune > Devices > Windows 365 > Custom images), then re-run. The slots are taken by:\n${describeSlots(
        room.slots,
      )
        .map((line) => `  - ${line}`)
        .join('\n')}`,
      room.slots.map((s) => s.image),
    );
  }
  return room.status === 'freed' ? room.prune : undefined;
}

/**
 * After the registration (and its retries): rolls a ready image out (policies, pruning, source clean-up). Undefined
 * when the image is not usable: nothing is rolled out.
 */
export async function rolloutStage(
  config: Config,
  target: Target,
  registration: Registration,
  deps: RolloutServices,
): Promise<RolloutResult | undefined> {
  if (registration.outcome !== 'ready' && registration.outcome !== 'warning') return undefined;
  // A ready image is rolled out even when it became ready just before the deadline: the rollout has its own time.
  deps.graph.policy.extendDeadline(
    deps.clock.now() + ROLLOUT_ALLOWANCE_MS,
    'the rollout allowance of 30 minutes',
  );
  const rollout = await deps.log.group('Roll out', () =>
    completeRollout(
      {
        deviceImageId: registration.deviceImage.id,
        displayName: target.displayName,
        policyRefs: config.policyRefs,
        keep: config.keepImages,
        deleteSourceImage: config.deleteSourceImage,
        source: target.source,
      },
      deps,
    ),
  );
  const patched = rollout.repoint.policies.filter((p) => p.action === 'patched').length;
  const deleted = rollout.prune.deleted.filter((d) => d.outcome === 'deleted').length;
  deps.log.info(
    `Rollout: ${config.policyRefs.length === 0 ? 'no provisioning-policies given' : `${patched} of ${countOf(config.policyRefs.length, 'policy', 'policies')} pointed at the image`}; ${countOf(deleted, 'older image')} deleted (keep-images ${config.keepImages}); source image ${rollout.source ? rollout.source.action : 'kept (delete-source-image is false)'}.`,
  );
  return rollout;
}

/**
 * The dry run: every read and check, and the plan of what a real run would create, change and delete. There is no
 * other dry-run path: the steps that change things have no dry-run mode.
 */
export async function dryRunRollout(
  config: Config,
  target: PlanTarget,
  deps: Pick<Services, 'graph' | 'images' | 'log'>,
): Promise<RolloutPlan> {
  return planRollout(
    {
      displayName: target.displayName,
      version: target.version,
      source: target.source,
      policyRefs: config.policyRefs,
      keep: config.keepImages,
      deleteSourceImage: config.deleteSourceImage,
      uploadRetries: config.uploadRetries,
    },
    target.source
      ? { graph: deps.graph, images: deps.images(), log: deps.log }
      : { graph: deps.graph, log: deps.log },
  );
}

/**
 * A dry run with build: validate: there is no image yet, but everything else a real run would read is checked:
 * Graph access, the provisioning policies, the 20-image room and the retention plan. The summary says what is left.
 */
export async function dryRunWithoutImage(
  config: Config,
  deps: Pick<Services, 'graph' | 'images' | 'clock' | 'log'>,
): Promise<{ plan: RolloutPlan; notChecked: string[] }> {
  const notChecked = notCheckedWithoutImage(config);
  const version = config.version ?? versionFromTime(new Date(deps.clock.now()));
  const displayName = config.displayName ?? '(the managed image name)';
  const plan = await deps.log.group('Dry run: plan the registration and rollout (no image yet)', () =>
    dryRunRollout(config, { displayName, version, source: undefined }, deps),
  );
  for (const line of notChecked) deps.log.info(`Not checked: ${line}`);
  return { plan, notChecked };
}

/** What a dry run with build: validate cannot check, and why: everything that needs the image itself. */
export function notCheckedWithoutImage(config: Config): string[] {
  const imageChecks = ['image.readable', ...IMAGE_CHECKS.map((c) => c.id), 'image.windows365-can-read'];
  return [
    `The image checks (${imageChecks.join(', ')}) and the sysprep-check: build: validate builds no image.`,
    ...(config.version === undefined
      ? [
          'The version: by default it is derived from the image once built; the plan shows it as if the image were built now.',
        ]
      : []),
    ...(config.deleteSourceImage ? ['The source image clean-up: the image does not exist yet.'] : []),
    ...(config.displayName === undefined
      ? [
          'Earlier versions to keep or prune: display-name is not set, so the name comes from the image the build makes.',
        ]
      : []),
  ];
}
