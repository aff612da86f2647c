import * as core from '@actions/core';
import { InputError, parseInputs } from './config/inputs.ts';
import { AuthSetupError } from './azure/credential.ts';
import { fetchGitHubIdToken } from './azure/githubOidc.ts';
import { publishReport } from './report/publish.ts';
import { failureText } from './report/report.ts';
import { succeeded } from './results/outcome.ts';
import { runPipeline } from './pipeline/run.ts';
import { clockFromEnvironment } from './util/clock.ts';
import { actionsLog } from './util/log.ts';
import { safeLogText } from './util/untrusted.ts';

// Set at bundle time: the record store is bundled as its own file beside dist/index.js.
declare const W365_RECORD_STORE: string | undefined;

/**
 * The record store carries the Actions artifact client (larger than the rest of the bundle), so it is a file of its
 * own that only builds load; a computed specifier keeps the bundler from inlining it.
 */
function loadRecordStore(): Promise<typeof import('./record/store.ts')> {
  const specifier = typeof W365_RECORD_STORE === 'string' ? W365_RECORD_STORE : './record/store.ts';
  return import(new URL(specifier, import.meta.url).href) as Promise<typeof import('./record/store.ts')>;
}

/** The GitHub Action: inputs from INPUT_*, outputs to GITHUB_OUTPUT, summary to GITHUB_STEP_SUMMARY. */
export async function runAction(): Promise<void> {
  // The runner cancels a job with SIGINT, then SIGTERM: stop waiting, let Packer clean up, and still report.
  const cancel = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (!cancel.signal.aborted) core.warning(`Received ${signal}: cancelling.`);
    cancel.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Every failure message goes through the same neutralising and scrubbing as the log.
  const fail = (message: string) => core.setFailed(safeLogText(message));
  try {
    const clock = clockFromEnvironment();
    const config = parseInputs((name) => core.getInput(name), {
      env: process.env,
      now: new Date(clock.now()),
      cwd: process.cwd(),
    });
    // Records of earlier images live in this repository's artifacts; only a build reads or writes them.
    const store = config.build === 'build' ? await loadRecordStore() : undefined;
    const target = store?.recordStoreTarget(process.env, core.getInput('github-token'));
    let report = await runPipeline(config, {
      log: actionsLog,
      clock,
      env: process.env,
      // Our own request rather than core.getIDToken: it follows the run's timeout, retries, deadline and cancel.
      getIdToken: (audience, policy) => fetchGitHubIdToken(process.env, audience, policy),
      signal: cancel.signal,
      ...(store && target
        ? {
            records: {
              findPrevious: async (name: string) =>
                'reason' in target
                  ? { found: false as const, reason: target.reason }
                  : store.findPreviousRecord(target, name, actionsLog),
            },
          }
        : {}),
    });
    if (store && report.record) {
      const saved =
        target && !('reason' in target) && process.env.ACTIONS_RUNTIME_TOKEN
          ? await store.saveRecord(
              target,
              report.record,
              { report, factsPath: report.build?.factsPath ?? null },
              actionsLog,
            )
          : {
              saved: false as const,
              name: '',
              reason: target && 'reason' in target ? target.reason : 'no ACTIONS_RUNTIME_TOKEN',
            };
      report = {
        ...report,
        recordArtifact: { name: saved.name, saved: saved.saved, reason: saved.saved ? null : saved.reason },
      };
    }
    const { summary, outputs, problem } = await publishReport(report, config.reportPath);
    for (const [name, value] of Object.entries(outputs)) {
      try {
        core.setOutput(name, value);
      } catch (error) {
        actionsLog.warning(`Could not set the output ${name}: ${(error as Error).message}`);
      }
    }
    // Pull-request feedback is loaded only now: it is the largest dependency and never needed before this point.
    const {
      annotationsFor,
      emitAnnotations,
      postPullRequestComment,
      pullRequestContext,
      skippedCommentNote,
    } = await import('./report/prComment.ts');
    const pullRequest = pullRequestContext(process.env, undefined, core.getInput('github-token'));
    const fullSummary = summary + skippedCommentNote(pullRequest);
    // Self-hosted runners of old GitHub Enterprise versions have no job summary: print it instead of failing.
    let summaryWritten = false;
    if (process.env.GITHUB_STEP_SUMMARY) {
      try {
        await core.summary.addRaw(fullSummary).write();
        summaryWritten = true;
      } catch (error) {
        actionsLog.warning(`Could not write the job summary: ${(error as Error).message}`);
      }
    }
    if (!summaryWritten) actionsLog.info(fullSummary);
    emitAnnotations(annotationsFor(report));
    await postPullRequestComment(report, pullRequest, actionsLog);
    if (!succeeded(report.outcome)) {
      if (problem) actionsLog.error(problem);
      fail(failureText(report));
    } else if (problem) fail(problem);
    else actionsLog.info(report.message);
  } catch (error) {
    if (error instanceof InputError) fail(error.message);
    else if (error instanceof AuthSetupError) fail(`${error.message} Fix: ${error.fix}`);
    else {
      // The stack helps a maintainer, not the user: debug log only.
      if (error instanceof Error && error.stack) actionsLog.debug(error.stack);
      fail(`Unexpected error: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
