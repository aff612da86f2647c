import { readFileSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import * as core from '@actions/core';
import type { getOctokit } from '@actions/github';
import { githubApi } from '../net/githubApi.ts';
import type { CheckResult } from '../results/checks.ts';
import { historyLines } from './historySummary.ts';
import { cell, codeSpan, fenced } from './markdown.ts';
import type { Report } from './report.ts';
import { checksTable, HEADLINE, osDescription } from './summary.ts';
import type { Log } from '../util/log.ts';
import { safeLogText, scrubSecrets } from '../util/untrusted.ts';

/** Pages of 100 comments read to find the report comment of an earlier run. */
const MAX_COMMENT_PAGES = 30;

/** First line of every report comment; the second line names the device image, so a matrix gets one comment each. */
export const MARKER = '<!-- w365-image:report -->';
/** GitHub refuses comment bodies over 65,536 characters. */
const MAX_BODY = 65_000;
/** Who writes the comment when the token cannot name its own user (GITHUB_TOKEN, GitHub App tokens). */
const DEFAULT_BOT = 'github-actions[bot]';

export interface PullRequestTarget {
  token: string;
  repo: { owner: string; repo: string };
  pullNumber: number;
  /** REST API root; default GITHUB_API_URL or https://api.github.com. */
  apiUrl?: string;
  /** Link to the workflow run, shown in the comment. */
  runUrl?: string;
  /** Login that writes the comment, when known; else it is asked for, with a fallback to bot accounts. */
  author?: string;
}

/** Why no comment is posted (no pull request, no token, ...). */
export interface NoPullRequest {
  reason: string;
  /** A pull request from a fork: its token is read-only, so skipping is expected, not a problem to warn about. */
  fork?: true;
}

export type CommentResult =
  | { posted: true; action: 'created' | 'updated'; commentId: number; url: string }
  | { posted: false; reason: string };

/** The line after MARKER that tells this report's comment apart from other display names'. */
export function markerKey(report: Report): string {
  const name = report.registration?.displayName || report.inputs.displayName || report.image?.name || '';
  return `<!-- w365-image:display-name=${encodeURIComponent(name)} -->`;
}

interface RepoRef {
  repo?: { full_name?: unknown } | null;
}

interface PayloadLike {
  pull_request?: { number?: unknown; head?: RepoRef | null; base?: RepoRef | null } | null;
  issue?: { number?: unknown; pull_request?: unknown } | null;
  number?: unknown;
}

/**
 * Where to comment, from the runner's environment: token (the `github-token` input, else GITHUB_TOKEN), GITHUB_REPOSITORY,
 * the pull request number from the event payload (read from GITHUB_EVENT_PATH unless given), GITHUB_API_URL and the run URL.
 */
export function pullRequestContext(
  env: NodeJS.ProcessEnv,
  payload?: unknown,
  token?: string,
): PullRequestTarget | NoPullRequest {
  let event = payload;
  if (event === undefined) {
    if (!env.GITHUB_EVENT_PATH) return { reason: 'not running in GitHub Actions (no GITHUB_EVENT_PATH)' };
    try {
      event = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8'));
    } catch (error) {
      return {
        reason: `cannot read the event payload: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
  }
  const p = (event && typeof event === 'object' ? event : {}) as PayloadLike;
  const number =
    p.pull_request && typeof p.pull_request === 'object'
      ? p.pull_request.number
      : p.issue && typeof p.issue === 'object' && p.issue.pull_request
        ? p.issue.number
        : undefined;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < 1)
    return { reason: `no pull request in the ${env.GITHUB_EVENT_NAME ?? 'current'} event` };
  const [owner, repo, ...rest] = (env.GITHUB_REPOSITORY ?? '').split('/');
  if (!owner || !repo || rest.length > 0) return { reason: 'GITHUB_REPOSITORY is not owner/repo' };
  const fork = forkOf(p.pull_request, `${owner}/${repo}`);
  if (fork !== undefined)
    return {
      reason: `pull request #${number} comes from the fork ${fork}, and GitHub gives such runs a read-only token, so the report is in the job summary instead of a comment`,
      fork: true,
    };
  const auth = token || env['INPUT_GITHUB-TOKEN'] || env.GITHUB_TOKEN;
  if (!auth) return { reason: 'no GitHub token (set the github-token input)' };
  const target: PullRequestTarget = { token: auth, repo: { owner, repo }, pullNumber: number };
  if (env.GITHUB_API_URL) target.apiUrl = env.GITHUB_API_URL;
  if (env.GITHUB_SERVER_URL && env.GITHUB_RUN_ID)
    target.runUrl = `${env.GITHUB_SERVER_URL}/${owner}/${repo}/actions/runs/${env.GITHUB_RUN_ID}`;
  return target;
}

/**
 * The head repository of a pull request from another repository (a fork), named safely for logs and summaries;
 * undefined for a same-repository pull request or an event without head information.
 */
function forkOf(pr: PayloadLike['pull_request'], repository: string): string | undefined {
  if (!pr || typeof pr !== 'object' || !pr.head || typeof pr.head !== 'object') return undefined;
  // GitHub sends head.repo: null when the fork has been deleted.
  if (pr.head.repo === null) return 'a deleted repository';
  const head = pr.head.repo?.full_name;
  if (typeof head !== 'string') return undefined;
  const base = typeof pr.base?.repo?.full_name === 'string' ? pr.base.repo.full_name : repository;
  if (head.toLowerCase() === base.toLowerCase()) return undefined;
  return /^[\w.-]{1,100}\/[\w.-]{1,100}$/.test(head) ? head : 'another repository';
}

/** The job summary's line for a pull request comment that was skipped on purpose; empty when there is none. */
export function skippedCommentNote(ctx: PullRequestTarget | NoPullRequest): string {
  return 'fork' in ctx && ctx.fork ? `\n> No pull request comment: ${ctx.reason}.\n` : '';
}

/** The comment: marker, headline, image and versions, the checks table (the failures first). */
export function renderComment(report: Report, options: { runUrl?: string } = {}): string {
  const lines = [
    MARKER,
    markerKey(report),
    `### w365-image: ${HEADLINE[report.outcome]}`,
    '',
    cell(report.message),
    '',
  ];
  lines.push('| | |', '| --- | --- |');
  if (report.image) lines.push(`| Managed image | [${cell(report.image.name)}](${report.image.portalUrl}) |`);
  else if (report.build?.imageId) lines.push(`| Managed image | ${codeSpan(report.build.imageId)} |`);
  else if (report.inputs.imageId) lines.push(`| Managed image | ${codeSpan(report.inputs.imageId)} |`);
  if (report.inputs.displayName) lines.push(`| Display name | ${cell(report.inputs.displayName)} |`);
  if (report.inputs.version) lines.push(`| Version | ${codeSpan(report.inputs.version)} |`);
  if (report.build?.packerVersion) lines.push(`| Packer | ${cell(report.build.packerVersion)} |`);
  if (report.base) lines.push(`| Base | ${codeSpan(`${report.base.sku} ${report.base.version}`)} |`);
  if (report.build?.error) lines.push(`| Build error | ${codeSpan(report.build.error)} |`);
  const r = report.registration;
  if (r) {
    lines.push(`| Device image | ${codeSpan(r.deviceImageId)} (${cell(r.status)}) |`);
    if (r.osBuildNumber) lines.push(`| OS | ${cell(osDescription(r.operatingSystem, r.osBuildNumber))} |`);
    if (r.errorCode) {
      // The message above already gives the cause and the fix of a failed upload: say them once.
      const said = (text: string | null) => !text || report.message.includes(text);
      const explained = said(r.cause) && said(r.fix) ? '' : `: ${cell(r.cause)} ${cell(r.fix)}`;
      lines.push(`| Error code | ${codeSpan(r.errorCode)}${explained} |`);
    }
  }
  lines.push(`| Tool | w365-image ${cell(report.tool.version)} |`, '');
  if (report.checks.length > 0) {
    const order: CheckResult['status'][] = ['fail', 'unverified', 'warn', 'pass', 'skip'];
    const checks = [...report.checks].sort((a, b) => order.indexOf(a.status) - order.indexOf(b.status));
    lines.push(...checksTable(checks), '');
  }
  lines.push(...historyLines(report, { collapse: true }));
  if (report.rollout && report.rollout.summary.length > 0) lines.push(...report.rollout.summary, '');
  if (report.error) lines.push(...fenced(report.error.message), '');
  if (options.runUrl) lines.push(`[Workflow run](${options.runUrl}) · ${report.finishedAt}`);
  else lines.push(report.finishedAt);
  // A comment is public to everyone who can read the pull request: no token may ride along in cloud text.
  let body = scrubSecrets(lines.join('\n') + '\n');
  if (body.length > MAX_BODY)
    body = body.slice(0, MAX_BODY) + '\n\n… (truncated: the full report is in the job summary)\n';
  return body;
}

interface CommentLike {
  id: number;
  body?: string | null;
  user?: { login?: string; type?: string } | null;
}

/**
 * Creates the report comment on the pull request, or edits the one an earlier run (of the same display name) left.
 * Never throws: a comment that cannot be written is a warning, not a failed image.
 */
export async function postPullRequestComment(
  report: Report,
  ctx: PullRequestTarget | NoPullRequest,
  log: Pick<Log, 'info' | 'warning' | 'debug'>,
): Promise<CommentResult> {
  if ('reason' in ctx) {
    if (ctx.fork) log.info(`No pull request comment: ${ctx.reason}.`);
    else log.debug(`No pull request comment: ${ctx.reason}.`);
    return { posted: false, reason: ctx.reason };
  }
  if (!ctx.token) return { posted: false, reason: 'no GitHub token (set the github-token input)' };
  const { owner, repo } = ctx.repo;
  const body = renderComment(report, ctx.runUrl ? { runUrl: ctx.runUrl } : {});
  const key = markerKey(report);
  try {
    const octokit = githubApi(ctx.token, { baseUrl: ctx.apiUrl });
    const mine = await authorMatcher(octokit, ctx.author);
    let existing: CommentLike | undefined;
    const pages = octokit.paginate.iterator(octokit.rest.issues.listComments, {
      owner,
      repo,
      issue_number: ctx.pullNumber,
      per_page: 100,
    });
    let read = 0;
    for await (const page of pages) {
      existing = (page.data as CommentLike[]).find(
        (c) => typeof c.body === 'string' && c.body.startsWith(`${MARKER}\n${key}\n`) && mine(c),
      );
      // A pull request with more comments than this gets a new report comment rather than an endless read.
      if (existing || ++read >= MAX_COMMENT_PAGES) break;
    }
    if (existing) {
      const { data } = await octokit.rest.issues.updateComment({
        owner,
        repo,
        comment_id: existing.id,
        body,
      });
      log.info(`Updated the report comment on pull request #${ctx.pullNumber}: ${data.html_url}`);
      return { posted: true, action: 'updated', commentId: data.id, url: data.html_url };
    }
    const { data } = await octokit.rest.issues.createComment({
      owner,
      repo,
      issue_number: ctx.pullNumber,
      body,
    });
    log.info(`Commented on pull request #${ctx.pullNumber}: ${data.html_url}`);
    return { posted: true, action: 'created', commentId: data.id, url: data.html_url };
  } catch (error) {
    const status = (error as { status?: unknown }).status;
    const hint =
      status === 403 || status === 404
        ? ' The job needs permissions: pull-requests: write; pull requests from forks only get a read-only token.'
        : '';
    const reason = `GitHub refused the pull request comment (${typeof status === 'number' ? status : 'no answer'}: ${
      error instanceof Error ? error.message : String(error)
    }).${hint}`;
    log.warning(reason);
    return { posted: false, reason };
  }
}

/** Which comments this token wrote: its user when it can tell (a PAT), else bot accounts (GITHUB_TOKEN, apps). */
async function authorMatcher(
  octokit: ReturnType<typeof getOctokit>,
  author: string | undefined,
): Promise<(c: CommentLike) => boolean> {
  if (author) return (c) => c.user?.login === author;
  try {
    const { data } = await octokit.rest.users.getAuthenticated();
    return (c) => c.user?.login === data.login;
  } catch {
    // GITHUB_TOKEN and GitHub App installation tokens cannot read /user.
    return (c) => c.user?.login === DEFAULT_BOT || c.user?.type === 'Bot';
  }
}

export interface Annotation {
  title: string;
  message: string;
  /** Path relative to the repository root; absent when the file is outside it (e.g. the action's bundled template). */
  file?: string;
  startLine?: number;
}

// Packer's -machine-readable lines: timestamp,target,type,data... with escaped newlines and commas.
const MACHINE = /^\d+,[^,]*,ui,[a-z]+,(.*)$/;
const ANSI = new RegExp(String.raw`\u001b\[[0-9;]*m`, 'g');
const LOCATION = /^\s*on (.+?\.pkr\.(?:hcl|json)) line (\d+)(?:,.*)?:\s*$/;
const PACKER_FILE = /^\s*(\S+\.pkr\.(?:hcl|json)|\S+\.pkrvars\.hcl)\s*$/;

function tailLines(tail: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of tail) {
    const m = MACHINE.exec(raw);
    const text = m ? (m[1] ?? '').replaceAll('%!(PACKER_COMMA)', ',').replaceAll('\\n', '\n') : raw;
    for (const line of text.split('\n')) out.push(line.replace(ANSI, '').replace(/^[│╷╵]\s?/, ''));
  }
  return out;
}

/** A diagnostic's file, relative to the repository; undefined when it lies outside it. */
function repoPath(file: string, workspace: string): string | undefined {
  const rel = relative(workspace, resolve(workspace, file));
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return undefined;
  return rel.split(sep).join('/');
}

/**
 * File and line annotations for template problems in Packer's output tail: HCL diagnostics
 * (`Error: <summary>` ... `on <file> line <n>:` ... detail) and the files `packer fmt -check` lists.
 */
export function annotationsFor(report: Report, options: { workspace?: string } = {}): Annotation[] {
  const build = report.build;
  if (!build || build.outputTail.length === 0) return [];
  const workspace = resolve(options.workspace ?? process.env.GITHUB_WORKSPACE ?? process.cwd());
  const lines = tailLines(build.outputTail);
  const annotations: Annotation[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const error = /^\s*Error: (.+)$/.exec(line);
    if (error) {
      const title = (error[1] ?? '').trim();
      const detail: string[] = [];
      let file: string | undefined;
      let startLine: number | undefined;
      let j = i + 1;
      let inSnippet = false;
      for (; j < lines.length; j++) {
        const next = lines[j] ?? '';
        if (/^\s*(Error|Warning): /.test(next) || /^==> /.test(next)) break;
        const at = LOCATION.exec(next);
        if (at && startLine === undefined) {
          file = repoPath(at[1] ?? '', workspace);
          startLine = Number(at[2]);
          inSnippet = true;
          continue;
        }
        if (inSnippet) {
          // The source snippet runs to the first blank line after the location.
          if (next.trim() === '') inSnippet = false;
          continue;
        }
        if (next.trim() !== '') detail.push(next.trim().replace(/^\* /, ''));
      }
      const message = detail.length > 0 ? detail.join('\n') : title;
      const annotation: Annotation = { title: `Packer: ${title}`, message };
      if (file) annotation.file = file;
      if (file && startLine !== undefined) annotation.startLine = startLine;
      annotations.push(annotation);
      i = j - 1;
      continue;
    }
    if (build.error === 'fmt-failed') {
      const unformatted = PACKER_FILE.exec(line);
      if (unformatted) {
        const file = repoPath(unformatted[1] ?? '', workspace);
        const annotation: Annotation = {
          title: 'Packer: file not formatted',
          message: 'packer fmt -check failed: run `packer fmt` on the template and commit the result.',
        };
        if (file) {
          annotation.file = file;
          annotation.startLine = 1;
        }
        annotations.push(annotation);
      }
    }
  }
  return annotations;
}

type ErrorSink = (message: string, properties: core.AnnotationProperties) => void;

/** Emits the annotations as workflow error commands (`::error file=...,line=...::`). Returns how many. */
export function emitAnnotations(annotations: readonly Annotation[], error: ErrorSink = core.error): number {
  for (const a of annotations) {
    // Packer's text: escaped by the toolkit already, but cut to size and scrubbed like every log line.
    const properties: core.AnnotationProperties = { title: safeLogText(a.title) };
    if (a.file) properties.file = a.file;
    if (a.startLine !== undefined) properties.startLine = a.startLine;
    error(safeLogText(a.message), properties);
  }
  return annotations.length;
}
