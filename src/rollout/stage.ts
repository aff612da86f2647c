import type { ManagedImageClient } from '../azure/managedImage.ts';
import type { ManagedImageId } from '../azure/resourceId.ts';
import type { Config } from '../config/inputs.ts';
import type { GraphClient } from '../graph/client.ts';
import { planRollout, renderRolloutPlan } from './plan.ts';
import { describeImage, loadPolicies, REPROVISION_NOTE } from './policies.ts';
import { describeSlots, freeSlotIfFull, type PruneResult } from './retention.ts';
import { retryFailedUpload, type RetryResult } from '../register/retry.ts';
import { completeRollout, type RolloutResult } from './complete.ts';
import type { Clock } from '../util/clock.ts';
import type { Log } from '../util/log.ts';
import { waitForVerdict } from '../register/register.ts';
import { RegistrationError, type Registration } from '../results/registration.ts';
import { IMAGE_CHECKS } from '../validate/validate.ts';
import { countOf } from '../util/plural.ts';

/** How long the rollout (policy changes, pruning, the source delete) may take once the image is ready. */
const ROLLOUT_ALLOWANCE_MS = 30 * 60_000;

/** The report's rollout section: what was (or, in a dry run, would be) changed. */
export interface RolloutSection {
  dryRun: boolean;
  /** Policies patched to the new image (would be, in a dry run). */
  updatedPolicies: string[];
  /** Device images deleted (would be, in a dry run). */
  deletedImages: string[];
  /** Markdown lines for the job summary. */
  summary: string[];
}

export interface RolloutStepDeps {
  graph: GraphClient;
  clock: Clock;
  log: Log;
  images: () => ManagedImageClient;
  signal?: AbortSignal | undefined;
  /** The exact inputs (or command line) that resume this run. */
  resumeHint?: string | undefined;
}

export interface Target {
  displayName: string;
  version: string;
  source: ManagedImageId;
}

/** What a dry run plans for: with build: validate there is no image yet, so no source. */
export type PlanTarget = Omit<Target, 'source'> & { source: ManagedImageId | undefined };

/**
 * Before any upload: the named policies must all exist (nothing has changed yet), and a full tenant gets room by
 * pruning older versions of this display name, or the run stops listing what fills the slots.
 */
export async function prepareRollout(
  config: Config,
  target: Target,
  deps: RolloutStepDeps,
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

/** After the upload: retry a transient failure, then roll a ready image out (policies, pruning, source clean-up). */
export async function finishRollout(
  config: Config,
  target: Target,
  first: Registration,
  deps: RolloutStepDeps,
): Promise<{
  registration: Registration;
  retry: RetryResult | undefined;
  rollout: RolloutResult | undefined;
}> {
  let registration = first;
  let retry: RetryResult | undefined;
  if (registration.outcome === 'failed' && config.uploadRetries > 0) {
    deps.graph.policy.extendDeadline(
      deps.clock.now() + config.waitTimeoutMinutes * 60_000,
      `wait-timeout-minutes: ${config.waitTimeoutMinutes}`,
    );
    retry = await deps.log.group('Retry the upload', () =>
      retryFailedUpload(
        registration.deviceImage,
        {
          retries: config.uploadRetries,
          timeoutMs: config.waitTimeoutMinutes * 60_000,
          resumeHint: deps.resumeHint,
        },
        { graph: deps.graph, clock: deps.clock, log: deps.log },
        // Wait on the retried image itself: a retry must never start a second upload.
        (image, timeoutMs) => waitForVerdict(image, false, timeoutMs, deps),
      ),
    );
    deps.log.info(retry.detail);
    if (retry.registration) registration = { ...retry.registration, created: registration.created };
  }
  if (registration.outcome !== 'ready' && registration.outcome !== 'warning') {
    return { registration, retry, rollout: undefined };
  }
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
      { graph: deps.graph, images: deps.images, log: deps.log },
    ),
  );
  const patched = rollout.repoint.policies.filter((p) => p.action === 'patched').length;
  const deleted = rollout.prune.deleted.filter((d) => d.outcome === 'deleted').length;
  deps.log.info(
    `Rollout: ${config.policyRefs.length === 0 ? 'no provisioning-policies given' : `${patched} of ${countOf(config.policyRefs.length, 'policy', 'policies')} pointed at the image`}; ${countOf(deleted, 'older image')} deleted (keep-images ${config.keepImages}); source image ${rollout.source ? rollout.source.action : 'kept (delete-source-image is false)'}.`,
  );
  return { registration, retry, rollout };
}

/** A dry run: every read and check, and the list of what a real run would create, change and delete. */
export async function dryRunRollout(
  config: Config,
  target: PlanTarget,
  deps: RolloutStepDeps,
  notChecked: readonly string[] = [],
): Promise<RolloutSection> {
  const plan = await planRollout(
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
  const summary = renderRolloutPlan(plan, { title: 'Dry run: what a real run would do' });
  if (notChecked.length > 0) {
    summary.push('', '**Not checked in this dry run:**');
    for (const line of notChecked) summary.push(`- ${line}`);
  }
  return {
    dryRun: true,
    updatedPolicies: plan.patch.filter((p) => p.action === 'patch').map((p) => p.policyId),
    deletedImages: plan.prune.map((p) => p.image.id),
    summary,
  };
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

/** The report's rollout section for a real run. */
export function rolloutSection(
  freed: PruneResult | undefined,
  retry: RetryResult | undefined,
  rollout: RolloutResult | undefined,
): RolloutSection {
  const cell = (text: string) => text.replaceAll('|', '\\|');
  const summary: string[] = [];
  // Without a retry the failure is already the run's message: only an actual retry is worth a line.
  if (retry && retry.attempts.length > 0) {
    // A retry that failed again is the run's message (with its fix): list the attempts only.
    const results = retry.attempts.map((a) => `${a.outcome}${a.errorCode ? ` (${a.errorCode})` : ''}`);
    summary.push(
      `Upload retried ${countOf(retry.attempts.length, 'time')}: ${cell(results.join(', '))}.`,
      '',
    );
  }
  const policies = rollout?.repoint.policies ?? [];
  if (policies.length > 0) {
    summary.push('| Provisioning policy | Before | After | Change |', '| --- | --- | --- | --- |');
    for (const p of policies) {
      summary.push(
        `| ${cell(p.policyName)} | ${cell(describeImage(p.from))} | ${cell(describeImage(p.to))} | ${p.action} |`,
      );
    }
    summary.push('', REPROVISION_NOTE, '');
  }
  const deleted = [...(freed?.deleted ?? []), ...(rollout?.prune.deleted ?? [])];
  const skipped = [...(freed?.skipped ?? []), ...(rollout?.prune.skipped ?? [])];
  for (const d of deleted)
    summary.push(`- Deleted device image '${cell(d.image.displayName)}' ${d.image.version} (${d.outcome}).`);
  for (const s of skipped)
    summary.push(`- Kept device image '${cell(s.image.displayName)}' ${s.image.version}: ${cell(s.detail)}`);
  const source = rollout?.source;
  if (source) {
    summary.push(
      source.action === 'deleted' || source.action === 'already-gone'
        ? `- Source managed image ${source.action === 'deleted' ? 'deleted' : 'was already gone'}: \`${source.imageId}\``
        : `- Source managed image kept (${source.action}): ${cell(source.detail)}`,
    );
  }
  return {
    dryRun: false,
    updatedPolicies: policies.filter((p) => p.action === 'patched').map((p) => p.policyId),
    deletedImages: deleted.filter((d) => d.outcome === 'deleted').map((d) => d.image.id),
    summary,
  };
}
