import type { TokenCredential } from '@azure/identity';
import { CLOUDS } from '../config/clouds.ts';
import type { Config } from '../config/inputs.ts';
import { createCredential, explainAuthError } from '../azure/credential.ts';
import { ManagedImageClient } from '../azure/managedImage.ts';
import type { ManagedImageId } from '../azure/resourceId.ts';
import { GraphClient } from '../graph/client.ts';
import { findDeviceImages, sameSource } from '../graph/deviceImages.ts';
import type { Clock } from '../util/clock.ts';
import type { Log } from '../util/log.ts';
import { TOOL_VERSION, USER_AGENT } from '../version.ts';
import { MarketplaceClient } from '../azure/marketplace.ts';
import type { BaseImage } from './base.ts';
import { baseStage } from './baseStage.ts';
import { failed, type CheckResult } from './checks.ts';
import { checkFreshness } from './freshness.ts';
import { emptyHistory, loadInventory, withHistory, type History } from './history.ts';
import type { Found } from '../record/store.ts';
import { workflowRunUrl } from '../build/variables.ts';
import { registerImage, RegistrationError } from './register.ts';
import { dryRunRollout, finishRollout, prepareRollout, rolloutSection } from './rollout.ts';
import { RolloutError } from '../rollout/errors.ts';
import { portalUrl, registrationSection, type Outcome, type Report } from './report.ts';
import { validateImage } from './validate.ts';

export interface PipelineDeps {
  log: Log;
  clock: Clock;
  env: NodeJS.ProcessEnv;
  getIdToken: (audience: string) => Promise<string>;
  /** Aborted when the job is cancelled. */
  signal?: AbortSignal;
  /** Where earlier image records are found (the action: this repository's artifacts); none in a terminal. */
  records?: { findPrevious(displayName: string): Promise<Found> };
}

/** build -> check -> validate -> register -> report. Each step sees only what the steps before produced. */
export async function runPipeline(config: Config, deps: PipelineDeps): Promise<Report> {
  const { log, clock } = deps;
  const cloud = CLOUDS[config.cloud];
  const started = clock.now();
  const timings: Report['timings'] = {
    buildSeconds: null,
    validateSeconds: 0,
    registerSeconds: null,
    totalSeconds: 0,
  };
  const checks: CheckResult[] = [];
  let imageId = config.imageId;
  let image: ManagedImageId | undefined = undefined;
  let location: string | null = null;
  let build: Report['build'] = null;
  let displayName = config.displayName ?? '';
  let base: BaseImage | null = null;
  let templateDigest: string | null = null;
  const history = emptyHistory();

  const finish = (
    outcome: Outcome,
    message: string,
    extra: {
      registration?: Report['registration'];
      rollout?: Report['rollout'];
      error?: Report['error'];
    } = {},
  ): Report => {
    const finished = clock.now();
    timings.totalSeconds = Math.round((finished - started) / 1000);
    const report: Report = {
      schemaVersion: 1,
      tool: { name: 'w365-image', version: TOOL_VERSION },
      outcome,
      message,
      startedAt: new Date(started).toISOString(),
      finishedAt: new Date(finished).toISOString(),
      timings,
      inputs: {
        imageId,
        build: config.build,
        displayName,
        version: config.version,
        versionDerived: config.versionDerived,
        register: config.register,
        auth: config.auth,
        azureEnvironment: config.cloud,
        waitTimeoutMinutes: config.waitTimeoutMinutes,
      },
      build,
      base,
      templateDigest,
      image: image ? { ...image, location, portalUrl: portalUrl(cloud, config.tenantId, image.id) } : null,
      checks,
      registration: extra.registration ?? null,
      rollout: extra.rollout ?? null,
      error: extra.error ?? null,
    };
    return withHistory(report, history, workflowRunUrl(deps.env));
  };
  const seconds = (since: number) => Math.round((clock.now() - since) / 1000);

  let credential: TokenCredential | undefined;
  const getCredential = () =>
    (credential ??= createCredential(
      {
        auth: config.auth,
        tenantId: config.tenantId,
        clientId: config.clientId,
        cloud,
        authorityHost: config.authorityHost,
      },
      deps,
    ));

  let graphClient: GraphClient | undefined;
  const getGraph = () =>
    (graphClient ??= new GraphClient({
      endpoint: config.graphEndpoint ?? cloud.graphEndpoint,
      scope: cloud.graphScope,
      credential: getCredential(),
      clock,
      log,
      userAgent: USER_AGENT,
    }));

  if (config.build === 'build') {
    const resolved = await log.group('Resolve the base image', () =>
      baseStage(config, {
        log,
        clock,
        marketplace: () =>
          new MarketplaceClient({
            credential: getCredential(),
            subscriptionId: config.subscriptionId ?? '',
            endpoint: config.armEndpoint ?? cloud.armEndpoint,
            scope: cloud.armScope,
            userAgent: USER_AGENT,
          }),
        graph: getGraph,
      }),
    );
    checks.push(...resolved.checks);
    logChecks(log, resolved.checks);
    templateDigest = resolved.templateDigest;
    if (!resolved.base) {
      return finish(
        resolved.error ? 'error' : 'invalid',
        resolved.message,
        resolved.error ? { error: resolved.error } : {},
      );
    }
    base = resolved.base;
    try {
      const digest = resolved.templateDigest ?? '';
      const stop = await compareWithPrevious(config, deps, base, digest, getGraph, history);
      if (stop) return finish('up-to-date', stop);
    } catch (error) {
      // A build that cannot be compared would cost a full build and then fail to register the same way.
      const reason = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
      const message = `Could not compare with the newest ready image of '${config.displayName ?? ''}' (skip-if-unchanged): ${reason} Nothing was built.`;
      return finish('error', message, { error: { kind: 'freshness:unavailable', message } });
    }
  }

  if (config.build !== 'none') {
    const buildStarted = clock.now();
    const { buildStage } = await import('./build.ts');
    const stage = await buildStage(config, {
      log,
      clock,
      env: deps.env,
      signal: deps.signal,
      baseImageVersion: base?.version,
    });
    timings.buildSeconds = seconds(buildStarted);
    build = stage.build;
    imageId = stage.imageId;
    if (config.build === 'build') Object.assign(history, await loadInventory(stage.build.factsPath));
    if (stage.done) return finish(stage.outcome, stage.message, stage.error ? { error: stage.error } : {});
    checks.push(...stage.checks);
    logChecks(log, stage.checks);
  }

  const validateStarted = clock.now();
  const validation = await log.group('Validate the managed image', async () => {
    const result = await validateImage({
      imageId,
      subscriptionId: config.build === 'build' ? undefined : config.subscriptionId,
      read: async (id) => {
        const images = new ManagedImageClient({
          credential: getCredential(),
          subscriptionId: id.subscriptionId,
          endpoint: config.armEndpoint ?? cloud.armEndpoint,
          scope: cloud.armScope,
          userAgent: USER_AGENT,
        });
        const read = await images.read(id);
        if (!read.ok && read.status === undefined) {
          const help = explainAuthError(read.message);
          if (help) return { ...read, message: `${read.message} — ${help}` };
        }
        return read;
      },
    });
    logChecks(log, result.checks);
    return result;
  });
  timings.validateSeconds = Math.round((clock.now() - validateStarted) / 100) / 10;
  checks.push(...validation.checks);
  image = validation.imageId;
  location = validation.image?.location ?? null;
  displayName = config.displayName ?? image?.name ?? '';

  // A re-run after a crash during the source clean-up: the managed image is gone, but Windows 365 already holds
  // its ready copy, so the rest of the rollout can still finish.
  if (validation.sourceGone && image && config.register && onlySourceChecksFailed(checks)) {
    const sourceId = image.id;
    const earlier = await findDeviceImages(getGraph(), displayName, config.version).catch(
      (error: unknown) => {
        log.debug(`Could not look for an earlier registration: ${(error as Error).message}`);
        return [];
      },
    );
    const registered = earlier.find(
      (d) =>
        sameSource(d.sourceImageResourceId, sourceId) && (d.status === 'ready' || d.status === 'warning'),
    );
    if (registered) {
      log.info(
        `The managed image is gone, but device image ${registered.id} made from it is already ${registered.status}: continuing the rollout.`,
      );
      for (const c of checks) {
        if (c.id.startsWith('image.') && c.status !== 'pass') {
          Object.assign(c, {
            status: 'skip',
            detail: `Not needed: the image was deleted after Windows 365 accepted it as device image ${registered.id}.`,
            fix: null,
          });
        }
      }
    }
  }

  const failures = failed(checks).concat(checks.filter((c) => c.status === 'unverified'));
  if (!image || failures.length > 0) {
    return finish(
      'invalid',
      `${failures.length} check(s) failed: ${failures.map((c) => c.id).join(', ')}. Nothing was uploaded.`,
    );
  }
  if (!config.register) {
    return finish('validated', 'Every check passed; register is false, so nothing was uploaded.');
  }

  const graph = getGraph();
  const source = image;
  const target = { displayName, version: config.version, source };
  const stepDeps = {
    graph,
    clock,
    log,
    signal: deps.signal,
    images: () =>
      new ManagedImageClient({
        credential: getCredential(),
        subscriptionId: source.subscriptionId,
        endpoint: config.armEndpoint ?? cloud.armEndpoint,
        scope: cloud.armScope,
        userAgent: USER_AGENT,
      }),
  };
  const registerStarted = clock.now();
  const failedWith = (error: unknown): Report => {
    timings.registerSeconds = seconds(registerStarted);
    const kind = error instanceof RegistrationError || error instanceof RolloutError ? error.kind : 'graph';
    const message = error instanceof Error ? error.message : String(error);
    const help = explainAuthError(message);
    return finish(kind === 'cancelled' ? 'cancelled' : 'error', message.split('\n')[0] ?? message, {
      error: { kind, message: help ? `${message}\n${help}` : message },
    });
  };

  if (config.dryRun) {
    try {
      const rollout = await log.group('Dry run: plan the registration and rollout', () =>
        dryRunRollout(config, target, stepDeps),
      );
      timings.registerSeconds = seconds(registerStarted);
      return finish('dry-run', 'Dry run: every check passed; nothing was uploaded, changed or deleted.', {
        rollout,
      });
    } catch (error) {
      return failedWith(error);
    }
  }

  let outcome: Awaited<ReturnType<typeof finishRollout>>;
  let freed: Awaited<ReturnType<typeof prepareRollout>>;
  try {
    freed = await log.group('Check policies and room for the image', () =>
      prepareRollout(config, target, stepDeps),
    );
    const first = await log.group('Register with Windows 365', () =>
      registerImage(
        {
          displayName,
          version: config.version,
          sourceImageResourceId: source.id,
          timeoutMs: config.waitTimeoutMinutes * 60_000,
        },
        stepDeps,
      ),
    );
    outcome = await finishRollout(config, target, first, stepDeps);
  } catch (error) {
    return failedWith(error);
  }
  timings.registerSeconds = seconds(registerStarted);
  const { registration } = outcome;
  const section = registrationSection(registration, graph.requests, cloud);
  const extra = { registration: section, rollout: rolloutSection(freed, outcome.retry, outcome.rollout) };
  const name = `'${displayName}' ${config.version} (${registration.deviceImage.id})`;
  switch (registration.outcome) {
    case 'ready':
      return finish('ready', `Device image ${name} is ready for provisioning policies.`, extra);
    case 'warning':
      return finish(
        'warning',
        `Device image ${name} is usable but Windows 365 reported a warning: ${registration.deviceImage.statusDetails ?? 'see Intune'}.`,
        extra,
      );
    case 'failed':
      return finish(
        'failed',
        `Windows 365 rejected ${name}: ${section.errorCode}. ${section.cause} Fix: ${section.fix}`,
        extra,
      );
    case 'timeout':
      return finish(
        'timeout',
        `Device image ${name} is still ${registration.deviceImage.status} after ${config.waitTimeoutMinutes} minutes. The upload goes on in Windows 365: re-run with the same display-name and version to resume waiting (no second upload).`,
        extra,
      );
  }
}

/**
 * Finds the previous record of the display name and, with skip-if-unchanged, compares it with what this run would
 * build. Returns the up-to-date message when nothing needs building.
 */
async function compareWithPrevious(
  config: Config,
  deps: PipelineDeps,
  base: BaseImage,
  digest: string,
  getGraph: () => GraphClient,
  history: History,
): Promise<string | undefined> {
  const { log } = deps;
  const displayName = config.displayName;
  if (!displayName) {
    history.previousNote = 'no display-name: records are kept per display name';
    return undefined;
  }
  if (!deps.records) {
    history.previousNote = 'records are kept as workflow artifacts: none outside GitHub Actions';
  } else {
    const records = deps.records;
    const found = await log.group('Find the previous image record', () => records.findPrevious(displayName));
    if (found.found) {
      history.previous = found.previous;
      log.info(
        `Previous record: '${displayName}' ${found.previous.record.version} (artifact ${found.previous.artifactId}).`,
      );
    } else {
      history.previousNote = found.reason;
      log.info(`No previous record: ${found.reason}.`);
    }
  }
  if (!config.skipIfUnchanged) return undefined;
  const freshness = await checkFreshness({
    displayName,
    record: history.previous?.record,
    base,
    templateDigest: digest,
    toolVersion: TOOL_VERSION,
    graph: getGraph(),
  });
  history.freshness = freshness;
  if (!freshness.upToDate) {
    log.info(`Building: ${freshness.reason}.`);
    return undefined;
  }
  const image = freshness.newestReady;
  return `Up to date: '${displayName}' ${image?.version ?? ''} (${image?.id ?? ''}) was built from ${base.sku} ${base.version} with the same template and w365-image ${TOOL_VERSION} (base not refreshed yet). Nothing was built or uploaded.`;
}

/** Only the checks that a deleted source image fails (it cannot be read, or is being deleted). */
function onlySourceChecksFailed(checks: readonly CheckResult[]): boolean {
  return failed(checks).every((c) => c.id === 'image.readable' || c.id === 'image.provisioning-state');
}

function logChecks(log: Log, checks: readonly CheckResult[]): void {
  for (const c of checks) {
    const line = `${c.status.toUpperCase().padEnd(4)} ${c.id} (${c.requirement}): ${c.detail}`;
    if (c.status === 'fail' || c.status === 'unverified') log.error(`${line} Fix: ${c.fix}`);
    else if (c.status === 'warn') log.warning(`${line} ${c.fix ?? ''}`);
    else log.info(line);
  }
}
