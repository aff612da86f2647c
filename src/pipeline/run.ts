import type { TokenCredential } from '@azure/identity';
import { CLOUDS } from '../config/clouds.ts';
import type { Config } from '../config/inputs.ts';
import { createCredential, explainAuthError } from '../azure/credential.ts';
import { versionFromImage, versionFromTime } from '../azure/imageVersion.ts';
import { isRunFailure, type RunFailure } from '../net/failures.ts';
import { RequestPolicy } from '../net/policy.ts';
import { ManagedImageClient } from '../azure/managedImage.ts';
import type { ManagedImageId } from '../azure/resourceId.ts';
import { hostedJobBudgetWarning } from '../config/budget.ts';
import { GraphClient } from '../graph/client.ts';
import { findDeviceImagesNamed, listSourceImages, sameSource } from '../graph/deviceImages.ts';
import type { Clock } from '../util/clock.ts';
import type { Log } from '../util/log.ts';
import { scrubDeep } from '../util/untrusted.ts';
import { TOOL_VERSION, USER_AGENT } from '../version.ts';
import { MarketplaceClient } from '../azure/marketplace.ts';
import type { BaseImage } from '../base/base.ts';
import { baseStage } from '../base/stage.ts';
import { failed, type CheckResult } from '../results/checks.ts';
import { findUploadOfSource, registerImage } from '../register/register.ts';
import { RegistrationError } from '../results/registration.ts';
import { resumeHint } from '../report/resume.ts';
import { dryRunRollout, finishRollout, notCheckedWithoutImage, prepareRollout } from '../rollout/stage.ts';
import { dryRunSection, rolloutSection } from '../report/rolloutSection.ts';
import { checkFreshness } from '../base/freshness.ts';
import { emptyHistory, loadInventory, withHistory, type History } from '../report/history.ts';
import type { Found } from '../record/store.ts';
import { workflowRunUrl } from '../imageBuild/variables.ts';
import { RolloutError } from '../rollout/errors.ts';
import { portalUrl, registrationSection, type Report } from '../report/report.ts';
import type { Outcome } from '../results/outcome.ts';
import { checkWindows365CanSee, validateImage, windows365ViewSkipped } from '../validate/validate.ts';
import { checkReportPath } from '../report/outputLocation.ts';
import { countOf } from '../util/plural.ts';

/** After a build, how long to wait for a freshly captured image to show up in Windows 365's view. */
const NEW_IMAGE_SETTLE_MS = 3 * 60_000;

export interface PipelineDeps {
  log: Log;
  clock: Clock;
  env: NodeJS.ProcessEnv;
  getIdToken: (audience: string, policy: RequestPolicy) => Promise<string>;
  /** Aborted when the job is cancelled. */
  signal?: AbortSignal;
  /** Where earlier image records are found (the action: this repository's artifacts); none in a terminal. */
  records?: { findPrevious(displayName: string): Promise<Found> };
}

/** build -> check -> validate -> register -> report. Each step sees only what the steps before produced. */
export async function runPipeline(config: Config, deps: PipelineDeps): Promise<Report> {
  const { log, clock } = deps;
  // Before the first change: a report that cannot be written must not be found out after the upload.
  await checkReportPath(config.reportPath);
  // The bearer for GitHub's token endpoint: nothing we publish may ever carry it.
  if (deps.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN) log.mask(deps.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN);
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
  let version = config.version ?? '';
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
        version,
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
    // Every writer (report file, job summary, PR comment, outputs, CLI) publishes this object: scrub it once here.
    return scrubDeep<Report>(withHistory(report, history, workflowRunUrl(deps.env)));
  };
  const seconds = (since: number) => Math.round((clock.now() - since) / 1000);

  const budget = hostedJobBudgetWarning(config, deps.env);
  if (budget) log.warning(budget);

  // From here on every request and wait follows one policy. The run's deadline: wait-timeout-minutes from now for
  // the checks, the upload request and the wait for the verdict (each wait and the rollout extend it).
  // The build has its own timeout, so the clock starts again when it ends.
  const policy = new RequestPolicy({ clock, signal: deps.signal });
  const startDeadline = () =>
    policy.setDeadline(
      clock.now() + config.waitTimeoutMinutes * 60_000,
      `wait-timeout-minutes: ${config.waitTimeoutMinutes}`,
    );
  startDeadline();
  /** The report for a run stopped by a RunFailure: cancelled, or an error with the fix for its cause. */
  const stoppedBy = (failure: RunFailure): Report =>
    finish(failure.kind === 'cancelled' ? 'cancelled' : 'error', `${failure.message} Fix: ${failure.fix}`, {
      error: { kind: failure.kind, message: `${failure.message}\nFix: ${failure.fix}` },
    });

  let credential: TokenCredential | undefined;
  const getCredential = () =>
    (credential ??= maskingTokens(
      createCredential(
        {
          auth: config.auth,
          tenantId: config.tenantId,
          clientId: config.clientId,
          cloud,
          authorityHost: config.authorityHost,
        },
        { ...deps, policy },
      ),
      log,
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
      policy,
    }));

  /**
   * A dry run with build: validate has no image yet, but everything else a real run would read is checked: Graph
   * access, the provisioning policies, the 20-image room and the retention plan. The summary says what is left.
   */
  const planWithoutImage = async (): Promise<Report> => {
    const planStarted = clock.now();
    const notChecked = notCheckedWithoutImage(config);
    const planVersion = config.version ?? versionFromTime(new Date(clock.now()));
    const planName = config.displayName ?? '(the managed image name)';
    try {
      const rollout = await log.group('Dry run: plan the registration and rollout (no image yet)', () =>
        dryRunRollout(
          config,
          { displayName: planName, version: planVersion, source: undefined },
          {
            graph: getGraph(),
            clock,
            log,
            signal: deps.signal,
            images: () => {
              throw new Error('A dry run with build: validate reads no managed image.');
            },
          },
        ).then((plan) => dryRunSection(plan, notChecked)),
      );
      timings.registerSeconds = seconds(planStarted);
      for (const line of notChecked) log.info(`Not checked: ${line}`);
      return finish(
        'dry-run',
        'Dry run: the template is valid, and Graph access, the provisioning policies, the room for the image and the retention plan were checked; the image checks need a built image. Nothing was built, uploaded, changed or deleted.',
        { rollout },
      );
    } catch (error) {
      timings.registerSeconds = seconds(planStarted);
      if (isRunFailure(error)) return stoppedBy(error);
      const message = error instanceof Error ? error.message : String(error);
      const kind = error instanceof RegistrationError || error instanceof RolloutError ? error.kind : 'graph';
      const help = explainAuthError(message);
      return finish('error', message.split('\n')[0] ?? message, {
        error: { kind, message: help ? `${message}\n${help}` : message },
      });
    }
  };

  if (config.build === 'build') {
    let resolved: Awaited<ReturnType<typeof baseStage>>;
    try {
      resolved = await log.group('Resolve the base image', () =>
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
              policy,
            }),
          graph: getGraph,
        }),
      );
    } catch (error) {
      if (!isRunFailure(error)) throw error;
      return stoppedBy(error);
    }
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
    const { buildStage } = await import('../imageBuild/stage.ts');
    const stage = await buildStage(config, {
      log,
      clock,
      env: deps.env,
      signal: deps.signal,
      baseImageVersion: base?.version,
    });
    build = stage.build;
    imageId = stage.imageId;
    if (stage.done) {
      timings.buildSeconds = seconds(buildStarted);
      startDeadline();
      if (config.build === 'build') Object.assign(history, await loadInventory(stage.build.factsPath));
      if (stage.outcome === 'template-valid' && config.dryRun && config.register) return planWithoutImage();
      return finish(stage.outcome, stage.message, stage.error ? { error: stage.error } : {});
    }
    const { checkStage } = await import('../check/stage.ts');
    const checked = await checkStage(stage.build.factsPath, { log, clock });
    timings.buildSeconds = seconds(buildStarted);
    startDeadline();
    if (config.build === 'build') Object.assign(history, await loadInventory(stage.build.factsPath));
    if (checked.done) return finish(checked.outcome, checked.message, { error: checked.error });
    if (stage.build.factsPath) build = { ...stage.build, baseImage: checked.baseImage };
    checks.push(...checked.checks);
    logChecks(log, checked.checks);
  }

  const validateStarted = clock.now();
  let validation: Awaited<ReturnType<typeof validateImage>>;
  try {
    validation = await log.group('Validate the managed image', async () => {
      const result = await validateImage({
        imageId,
        subscriptionId: config.build === 'build' ? undefined : config.subscriptionId,
        read: (id) =>
          new ManagedImageClient({
            credential: getCredential(),
            subscriptionId: id.subscriptionId,
            endpoint: config.armEndpoint ?? cloud.armEndpoint,
            scope: cloud.armScope,
            userAgent: USER_AGENT,
            policy,
          }).read(id),
      });
      const parsed = result.imageId;
      if (result.image && parsed && config.register) {
        const seen = await checkWindows365CanSee({
          image: parsed,
          listSourceImages: () => listSourceImages(getGraph()),
          clock,
          settleMs: config.build === 'build' ? NEW_IMAGE_SETTLE_MS : 0,
          signal: deps.signal,
        });
        result.checks.push(seen);
      } else if (result.image && parsed) {
        result.checks.push(
          windows365ViewSkipped('register is false (asking Windows 365 needs Graph access).'),
        );
      }
      logChecks(log, result.checks);
      return result;
    });
  } catch (error) {
    if (!isRunFailure(error)) throw error;
    timings.validateSeconds = Math.round((clock.now() - validateStarted) / 100) / 10;
    return stoppedBy(error);
  }
  timings.validateSeconds = Math.round((clock.now() - validateStarted) / 100) / 10;
  checks.push(...validation.checks);
  image = validation.imageId;
  location = validation.image?.location ?? null;
  displayName = config.displayName ?? image?.name ?? '';

  // A re-run after a crash during the source clean-up: the managed image is gone, but Windows 365 already holds
  // its ready copy, so the rest of the rollout can still finish.
  if (validation.sourceGone && image && config.register && onlySourceChecksFailed(checks)) {
    const sourceId = image.id;
    const earlier = await findDeviceImagesNamed(getGraph(), displayName).catch((error: unknown) => {
      if (isRunFailure(error)) return error;
      log.debug(`Could not look for an earlier registration: ${(error as Error).message}`);
      return [];
    });
    if (isRunFailure(earlier)) return stoppedBy(earlier);
    const registered = earlier.find(
      (d) =>
        d.displayName === displayName &&
        (config.version === undefined || d.version === config.version) &&
        sameSource(d.sourceImageResourceId, sourceId) &&
        (d.status === 'ready' || d.status === 'warning'),
    );
    if (registered) {
      version = registered.version;
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

  if (config.version === undefined && !version && image && validation.image) {
    const derived = versionFromImage(image.id, validation.image);
    version = derived.version;
    log.info(`Version ${version}, derived from ${derived.from}: every run for this image computes the same.`);
  }

  const failures = failed(checks).concat(checks.filter((c) => c.status === 'unverified'));
  if (!image || failures.length > 0) {
    return finish(
      'invalid',
      `${countOf(failures.length, 'check')} failed: ${failures.map((c) => c.id).join(', ')}. Nothing was uploaded.`,
    );
  }
  if (!config.register) {
    return finish('validated', 'Every check passed; register is false, so nothing was uploaded.');
  }

  const graph = getGraph();
  const source = image;
  // One source, one upload: an earlier run's upload of this very image is adopted, whatever its version.
  try {
    const earlier = await findUploadOfSource(graph, displayName, source.id);
    if (earlier) {
      log.info(
        `Device image ${earlier.id} '${earlier.displayName}' version ${earlier.version} (${earlier.status}) was already made from this managed image by an earlier run: adopting it${earlier.version === version ? '' : ` with its version ${earlier.version} (this run would have used ${version})`} instead of uploading the same image again.`,
      );
      version = earlier.version;
    }
  } catch (error) {
    return finish('error', `Could not look for earlier uploads of this image: ${(error as Error).message}`, {
      error: { kind: 'graph', message: (error as Error).message },
    });
  }
  const target = { displayName, version, source };
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
        policy,
      }),
    resumeHint: resumeHint(config, { imageId: source.id, displayName, version }, deps.env),
  };
  // Advice to re-run says exactly what to re-run with (after a build, the same inputs would build again).
  const withResumeHint = (text: string): string =>
    /re-run/i.test(text) && !text.includes(stepDeps.resumeHint) ? `${text}\n${stepDeps.resumeHint}` : text;
  const registerStarted = clock.now();
  const failedWith = (error: unknown): Report => {
    timings.registerSeconds = seconds(registerStarted);
    if (isRunFailure(error)) return stoppedBy(error);
    const kind = error instanceof RegistrationError || error instanceof RolloutError ? error.kind : 'graph';
    const message = withResumeHint(error instanceof Error ? error.message : String(error));
    if (message.endsWith(stepDeps.resumeHint)) log.info(stepDeps.resumeHint);
    const help = explainAuthError(message);
    return finish(kind === 'cancelled' ? 'cancelled' : 'error', message.split('\n')[0] ?? message, {
      error: { kind, message: help ? `${message}\n${help}` : message },
    });
  };

  if (config.dryRun) {
    try {
      const rollout = await log.group('Dry run: plan the registration and rollout', () =>
        dryRunRollout(config, target, stepDeps).then((plan) => dryRunSection(plan)),
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
          version,
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
  const name = `'${displayName}' ${registration.deviceImage.version} (${registration.deviceImage.id})`;
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
        withResumeHint(
          `Windows 365 rejected ${name}: ${section.errorCode}. ${section.cause} Fix: ${section.fix}`,
        ),
        extra,
      );
    case 'timeout':
      return finish(
        'timeout',
        `Device image ${name} is still ${registration.deviceImage.status} after ${config.waitTimeoutMinutes} minutes. The upload goes on in Windows 365: re-run to resume waiting (no second upload). ${stepDeps.resumeHint}`,
        extra,
      );
  }
}

/** The credential, with every access token it hands out masked (an echoing endpoint must not publish one). */
function maskingTokens(credential: TokenCredential, log: Log): TokenCredential {
  return {
    getToken: async (scopes, options) => {
      const token = await credential.getToken(scopes, options);
      if (token) log.mask(token.token);
      return token;
    },
  };
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
    // A fix the detail already states is not repeated.
    const fix = c.fix && !c.detail.includes(c.fix) ? c.fix : '';
    if (c.status === 'fail' || c.status === 'unverified') log.error(fix ? `${line} Fix: ${fix}` : line);
    else if (c.status === 'warn') log.warning(fix ? `${line} ${fix}` : line);
    else log.info(line);
  }
}
