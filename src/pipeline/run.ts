import type { Config } from '../config/inputs.ts';
import { hostedJobBudgetWarning } from '../config/budget.ts';
import { isRunFailure } from '../net/failures.ts';
import { baseStage, compareWithPrevious, type RecordFinder } from '../base/stage.ts';
import { validateStage, nameStage, validationVerdict, displayNameOf } from '../validate/stage.ts';
import { adoptEarlierUpload, registerStage, retryStage } from '../register/stage.ts';
import { dryRunRollout, dryRunWithoutImage, prepareRollout, rolloutStage } from '../rollout/stage.ts';
import { dryRunSection, rolloutSection } from '../report/rolloutSection.ts';
import {
  composeReport,
  failedReport,
  registeredReport,
  secondsSince,
  startOfRun,
  stoppedReport,
  type RunSoFar,
} from '../report/compose.ts';
import { loadInventory } from '../report/history.ts';
import { checkReportPath } from '../report/outputLocation.ts';
import type { Report } from '../report/report.ts';
import { resumeHint } from '../report/resume.ts';
import { logChecks } from '../results/checks.ts';
import type { Target } from '../results/registration.ts';
import type { Services } from '../results/services.ts';
import { createContext, startDeadline, type RunContext } from './context.ts';
import { createServices, type ServiceInputs } from './services.ts';

export interface PipelineInputs extends ServiceInputs {
  /** Where earlier image records are found (the action: this repository's artifacts); none in a terminal. */
  records?: RecordFinder | undefined;
}

/** A stage either ends the run with its report or hands on what the run found so far. */
type Next<T = RunSoFar> = Report | T;

function ended<T extends object>(next: Next<T>): next is Report {
  return 'schemaVersion' in next;
}

/**
 * base -> build -> check -> validate -> register -> retry -> rollout -> report. Each stage sees only what the stages
 * before it produced, and the first one that ends the run hands back its report.
 */
export async function runPipeline(config: Config, inputs: PipelineInputs): Promise<Report> {
  // Before the first change: a report that cannot be written must not be found out after the upload.
  await checkReportPath(config.reportPath);
  // The bearer for GitHub's token endpoint: nothing we publish may ever carry it.
  if (inputs.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN) inputs.log.mask(inputs.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN);
  const ctx = createContext(config, inputs);
  const budget = hostedJobBudgetWarning(config, inputs.env);
  if (budget) inputs.log.warning(budget);
  const services = createServices(config, ctx.cloud, inputs);
  startDeadline(ctx, services.policy);

  const start = startOfRun(config);
  const based = config.build === 'build' ? await base(ctx, services, start, inputs.records) : start;
  if (ended(based)) return based;
  const built = config.build === 'none' ? based : await build(ctx, services, based);
  if (ended(built)) return built;
  const validated = await validate(ctx, services, built);
  if (ended(validated)) return validated;
  return register(ctx, services, validated.so, validated.target);
}

/** Resolves the exact base image and, with skip-if-unchanged, stops when the newest image was built from it. */
async function base(
  ctx: RunContext,
  services: Services,
  so: RunSoFar,
  records: RecordFinder | undefined,
): Promise<Next> {
  let resolved: Awaited<ReturnType<typeof baseStage>>;
  try {
    resolved = await ctx.log.group('Resolve the base image', () => baseStage(ctx.config, services));
  } catch (error) {
    if (!isRunFailure(error)) throw error;
    return stoppedReport(ctx, so, error);
  }
  logChecks(ctx.log, resolved.checks);
  const checked = {
    ...so,
    checks: [...so.checks, ...resolved.checks],
    templateDigest: resolved.templateDigest,
  };
  if (!resolved.base) {
    const { error } = resolved;
    return composeReport(ctx, checked, error ? 'error' : 'invalid', resolved.message, error ? { error } : {});
  }
  const target = { base: resolved.base, templateDigest: resolved.templateDigest ?? '' };
  const { previous, previousNote, freshness, stop } = await compareWithPrevious(
    ctx.config,
    target,
    records,
    services,
  );
  const compared = {
    ...checked,
    base: resolved.base,
    history: { ...checked.history, previous, previousNote, freshness },
  };
  if (!stop) return compared;
  return composeReport(ctx, compared, stop.outcome, stop.message, stop.error ? { error: stop.error } : {});
}

/** The Packer build (or its template checks), then the sysprep-check of the facts it downloaded. */
async function build(ctx: RunContext, services: Services, so: RunSoFar): Promise<Next> {
  const { config } = ctx;
  const started = ctx.clock.now();
  const { buildStage } = await import('../imageBuild/stage.ts');
  const stage = await buildStage(config, so.base?.version, services);
  const built = { ...so, build: stage.build, imageId: stage.imageId };
  if (stage.done) {
    const after = await afterBuild(ctx, services, built, started);
    if (stage.outcome === 'template-valid' && config.dryRun && config.register) {
      return planWithoutImage(ctx, services, after);
    }
    return composeReport(ctx, after, stage.outcome, stage.message, stage.error ? { error: stage.error } : {});
  }
  const { checkStage } = await import('../check/stage.ts');
  const checked = await checkStage(stage.build.factsPath, services);
  const after = await afterBuild(ctx, services, built, started);
  if (checked.done)
    return composeReport(ctx, after, checked.outcome, checked.message, { error: checked.error });
  logChecks(ctx.log, checked.checks);
  return {
    ...after,
    build: stage.build.factsPath ? { ...stage.build, baseImage: checked.baseImage } : stage.build,
    checks: [...after.checks, ...checked.checks],
  };
}

/** The build's time, a new deadline for what follows, and (build: true) the inventory of the facts. */
async function afterBuild(
  ctx: RunContext,
  services: Services,
  so: RunSoFar,
  started: number,
): Promise<RunSoFar> {
  const timings = { ...so.timings, buildSeconds: secondsSince(ctx, started) };
  startDeadline(ctx, services.policy);
  if (ctx.config.build !== 'build') return { ...so, timings };
  const inventory = await loadInventory(so.build?.factsPath ?? null);
  return { ...so, timings, history: { ...so.history, ...inventory } };
}

/** A dry run with build: validate: the template is valid; the plan is made without an image. */
async function planWithoutImage(ctx: RunContext, services: Services, so: RunSoFar): Promise<Report> {
  const started = ctx.clock.now();
  const timed = () => ({ ...so, timings: { ...so.timings, registerSeconds: secondsSince(ctx, started) } });
  try {
    const planned = await dryRunWithoutImage(ctx.config, services);
    const rollout = dryRunSection(planned.plan, planned.notChecked);
    return composeReport(
      ctx,
      timed(),
      'dry-run',
      'Dry run: the template is valid, and Graph access, the provisioning policies, the room for the image and the retention plan were checked; the image checks need a built image. Nothing was built, uploaded, changed or deleted.',
      { rollout },
    );
  } catch (error) {
    return failedReport(ctx, timed(), error, undefined);
  }
}

/** The managed image checks, and the device image the image becomes: its display name and version. */
async function validate(
  ctx: RunContext,
  services: Services,
  so: RunSoFar,
): Promise<Next<{ so: RunSoFar; target: Target }>> {
  const started = ctx.clock.now();
  const timed = (next: RunSoFar) => ({
    ...next,
    timings: { ...next.timings, validateSeconds: Math.round((ctx.clock.now() - started) / 100) / 10 },
  });
  let validation: Awaited<ReturnType<typeof validateStage>>;
  try {
    validation = await validateStage(ctx.config, so.imageId, services);
  } catch (error) {
    if (!isRunFailure(error)) throw error;
    return stoppedReport(ctx, timed(so), error);
  }
  const validated = {
    ...timed(so),
    checks: [...so.checks, ...validation.checks],
    image: validation.imageId,
    location: validation.image?.location ?? null,
    displayName: displayNameOf(ctx.config, validation),
  };
  const named = await nameStage(ctx.config, validation, validated.checks, services);
  if (isRunFailure(named)) return stoppedReport(ctx, validated, named);
  const next = { ...validated, version: named.version, checks: named.checks };
  const verdict = validationVerdict(ctx.config, validation, named);
  if ('outcome' in verdict) return composeReport(ctx, next, verdict.outcome, verdict.message);
  return { so: next, target: verdict };
}

/** register -> retry -> rollout (or, in a dry run, their plan), from an earlier upload of the image if there is one. */
async function register(
  ctx: RunContext,
  services: Services,
  so: RunSoFar,
  proposed: Target,
): Promise<Report> {
  const { config } = ctx;
  let target: Target;
  try {
    target = await adoptEarlierUpload(proposed, services);
  } catch (error) {
    const message = (error as Error).message;
    return composeReport(ctx, so, 'error', `Could not look for earlier uploads of this image: ${message}`, {
      error: { kind: 'graph', message },
    });
  }
  const adopted = { ...so, version: target.version };
  const { displayName, version } = target;
  const hint = resumeHint(config, { imageId: target.source.id, displayName, version }, ctx.env);
  const started = ctx.clock.now();
  const timed = () => ({
    ...adopted,
    timings: { ...adopted.timings, registerSeconds: secondsSince(ctx, started) },
  });

  if (config.dryRun) {
    try {
      const rollout = await ctx.log.group('Dry run: plan the registration and rollout', () =>
        dryRunRollout(config, target, services).then((plan) => dryRunSection(plan)),
      );
      const message = 'Dry run: every check passed; nothing was uploaded, changed or deleted.';
      return composeReport(ctx, timed(), 'dry-run', message, { rollout });
    } catch (error) {
      return failedReport(ctx, timed(), error, hint);
    }
  }

  let freed: Awaited<ReturnType<typeof prepareRollout>>;
  let registered: Awaited<ReturnType<typeof retryStage>>;
  let rollout: Awaited<ReturnType<typeof rolloutStage>>;
  try {
    freed = await ctx.log.group('Check policies and room for the image', () =>
      prepareRollout(config, target, services),
    );
    const first = await registerStage(config, target, hint, services);
    registered = await retryStage(config, first, hint, services);
    rollout = await rolloutStage(config, target, registered.registration, services);
  } catch (error) {
    return failedReport(ctx, timed(), error, hint);
  }
  const { registration, retry } = registered;
  const section = rolloutSection(freed, retry, rollout);
  return registeredReport(ctx, timed(), registration, services.graph.requests, section, hint);
}
