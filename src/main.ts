import * as core from '@actions/core';
import { InputError, parseInputs } from './config/inputs.ts';
import { AuthSetupError } from './azure/credential.ts';
import { fetchGitHubIdToken } from './azure/githubOidc.ts';
import { outputsOf, writeReport } from './pipeline/publish.ts';
import { succeeded } from './pipeline/report.ts';
import { runPipeline } from './pipeline/run.ts';
import { clockFromEnvironment } from './util/clock.ts';
import { actionsLog } from './util/log.ts';

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
  try {
    const clock = clockFromEnvironment();
    const config = parseInputs((name) => core.getInput(name), {
      env: process.env,
      now: new Date(clock.now()),
      cwd: process.cwd(),
    });
    const report = await runPipeline(config, {
      log: actionsLog,
      clock,
      env: process.env,
      // Our own request rather than core.getIDToken: it follows the run's timeout, retries, deadline and cancel.
      getIdToken: (audience, policy) => fetchGitHubIdToken(process.env, audience, policy),
      signal: cancel.signal,
    });
    const summary = await writeReport(report, config.reportPath);
    for (const [name, value] of Object.entries(outputsOf(report, config.reportPath)))
      core.setOutput(name, value);
    // Pull-request feedback is loaded only now: it is the largest dependency and never needed before this point.
    const {
      annotationsFor,
      emitAnnotations,
      postPullRequestComment,
      pullRequestContext,
      skippedCommentNote,
    } = await import('./feedback/prComment.ts');
    const pullRequest = pullRequestContext(process.env, undefined, core.getInput('github-token'));
    const fullSummary = summary + skippedCommentNote(pullRequest);
    // Self-hosted runners of old GitHub Enterprise versions have no job summary: print it instead of failing.
    if (process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(fullSummary).write();
    else core.info(fullSummary);
    emitAnnotations(annotationsFor(report));
    await postPullRequestComment(report, pullRequest, actionsLog);
    if (!succeeded(report.outcome)) core.setFailed(report.message);
    else core.info(report.message);
  } catch (error) {
    if (error instanceof InputError) core.setFailed(error.message);
    else if (error instanceof AuthSetupError) core.setFailed(`${error.message} Fix: ${error.fix}`);
    else
      core.setFailed(
        `Unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
  }
}
