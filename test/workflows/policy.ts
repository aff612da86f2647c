/**
 * Checks for this repository's GitHub workflows: the official schema (@actions/workflow-parser) plus the
 * security rules the project depends on. Every checker takes the workflow text and returns problems as
 * strings, so tests can feed it mutated workflows and assert what it reports.
 */
import { registerHooks } from 'node:module';
import { parse } from 'yaml';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, Json>;
  [key: string]: Json | undefined;
}
export interface Job {
  'runs-on'?: Json;
  permissions?: Json;
  if?: string;
  environment?: Json;
  needs?: string | string[];
  steps?: Step[];
  uses?: string;
  concurrency?: Json;
  [key: string]: unknown;
}
export interface Workflow {
  name?: string;
  on?: Json;
  permissions?: Json;
  concurrency?: Json;
  jobs?: Record<string, Job>;
  [key: string]: unknown;
}

// The parser imports its JSON schema without an import attribute, which Node 24 refuses: add it for that package only.
let hooked = false;
async function workflowParser() {
  if (!hooked) {
    registerHooks({
      load(url, context, nextLoad) {
        if (url.includes('/@actions/workflow-parser/') && url.endsWith('.json'))
          return nextLoad(url, {
            ...context,
            importAttributes: { ...context.importAttributes, type: 'json' },
          });
        return nextLoad(url, context);
      },
    });
    hooked = true;
  }
  return import('@actions/workflow-parser');
}

/** Errors of GitHub's own workflow parser: unknown keys, invalid values, unclosed `${{`, steps without run/uses. */
export async function officialErrors(name: string, text: string): Promise<string[]> {
  const { parseWorkflow, convertWorkflowTemplate, NoOperationTraceWriter } = await workflowParser();
  const result = parseWorkflow({ name, content: text }, new NoOperationTraceWriter());
  const errors = result.context.errors.getErrors().map((e) => e.message);
  if (errors.length === 0 && result.value) {
    const template = await convertWorkflowTemplate(result.context, result.value);
    errors.push(...(template.errors ?? []).map((e) => e.Message));
  }
  return errors;
}

export function load(text: string): Workflow {
  const doc: unknown = parse(text);
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw new Error('a workflow is a mapping');
  return doc as Workflow;
}

/** Event name -> its configuration (`on: push`, `on: [push, pull_request]` and mappings alike). */
export function events(wf: Workflow): Record<string, Json> {
  const on = wf.on;
  if (typeof on === 'string') return { [on]: null };
  if (Array.isArray(on)) return Object.fromEntries(on.map((e) => [String(e), null]));
  if (on && typeof on === 'object') return on;
  return {};
}

const TOP_LEVEL = new Set([
  'name',
  'run-name',
  'on',
  'permissions',
  'env',
  'defaults',
  'concurrency',
  'jobs',
]);
const PERMISSION_SCOPES = new Set([
  'actions',
  'attestations',
  'checks',
  'contents',
  'deployments',
  'discussions',
  'id-token',
  'issues',
  'models',
  'packages',
  'pages',
  'pull-requests',
  'repository-projects',
  'security-events',
  'statuses',
]);

/** Some `${{` is not closed by `}}` before the next one opens (GitHub would refuse the workflow). */
export function unbalancedExpressions(value: string): boolean {
  let i = 0;
  for (;;) {
    const open = value.indexOf('${{', i);
    if (open === -1) return false;
    const end = value.indexOf('}}', open + 3);
    const nextOpen = value.indexOf('${{', open + 3);
    if (end === -1 || (nextOpen !== -1 && nextOpen < end)) return true;
    i = end + 2;
  }
}

function strings(node: Json | undefined, path: string, out: [string, string][]): [string, string][] {
  if (typeof node === 'string') out.push([path, node]);
  else if (Array.isArray(node)) node.forEach((n, i) => strings(n, `${path}[${i}]`, out));
  else if (node && typeof node === 'object')
    for (const [k, v] of Object.entries(node)) strings(v, path ? `${path}.${k}` : k, out);
  return out;
}

/** Structure the project requires on top of GitHub's schema. */
export function schemaProblems(text: string): string[] {
  const wf = load(text);
  const problems: string[] = [];
  for (const key of Object.keys(wf)) if (!TOP_LEVEL.has(key)) problems.push(`unknown top-level key '${key}'`);
  if (!wf.on) problems.push("no 'on' trigger");
  if (!wf.jobs || Object.keys(wf.jobs).length === 0) problems.push('no jobs');
  for (const [id, job] of Object.entries(wf.jobs ?? {})) {
    if (job.uses === undefined && job['runs-on'] === undefined) problems.push(`job '${id}' has no runs-on`);
    if (job.permissions === undefined) problems.push(`job '${id}' has no explicit permissions`);
    else {
      const perms = job.permissions;
      if (typeof perms === 'string') problems.push(`job '${id}' uses the blanket permissions '${perms}'`);
      else if (perms && typeof perms === 'object' && !Array.isArray(perms))
        for (const scope of Object.keys(perms))
          if (!PERMISSION_SCOPES.has(scope))
            problems.push(`job '${id}' has an unknown permission '${scope}'`);
    }
    if (job.uses === undefined && (!Array.isArray(job.steps) || job.steps.length === 0))
      problems.push(`job '${id}' has no steps`);
    (job.steps ?? []).forEach((step, i) => {
      const hasUses = typeof step.uses === 'string';
      const hasRun = typeof step.run === 'string';
      if (hasUses === hasRun) problems.push(`job '${id}' step ${i + 1} needs exactly one of uses or run`);
      if (hasUses && !isPinned(step.uses as string))
        problems.push(`job '${id}' step ${i + 1} uses '${step.uses}' without a version`);
    });
  }
  for (const [path, value] of strings(wf as unknown as JsonObject, '', []))
    if (unbalancedExpressions(value)) problems.push(`unbalanced \${{ }} in ${path}`);
  return problems;
}

/** Local actions (`./`) and Docker images need no ref; every other action names a tag, branch or SHA. */
function isPinned(uses: string): boolean {
  if (uses.startsWith('./') || uses.startsWith('docker://')) return true;
  const at = uses.lastIndexOf('@');
  return at > 0 && at < uses.length - 1;
}

/** Permissions a job runs with: its own block, else the workflow's. */
export function effectivePermissions(wf: Workflow, job: Job): Json | undefined {
  return job.permissions !== undefined ? job.permissions : wf.permissions;
}

export function hasIdTokenWrite(perms: Json | undefined): boolean {
  if (perms === 'write-all') return true;
  if (perms && typeof perms === 'object' && !Array.isArray(perms)) return perms['id-token'] === 'write';
  return false;
}

/** A step that signs in to Azure: azure/login, the action itself unless it only checks the template, or the az CLI. */
export function isAzureStep(step: Step): boolean {
  const uses = step.uses ?? '';
  if (/^azure\/login@/i.test(uses)) return true;
  if (uses === './' || /^w365-image\/w365-image@/i.test(uses))
    return String(step.with?.build ?? '') !== 'validate';
  return typeof step.run === 'string' && /(^|[\s;&|(])az\s/m.test(step.run);
}

/** Events whose runs can carry code from a fork. */
const FORK_EVENTS = ['pull_request', 'pull_request_review', 'pull_request_review_comment'];
/** The condition a job reachable from a pull request must carry: the head repository is this repository. */
const SAME_REPO_GUARDS = [
  /github\.event\.pull_request\.head\.repo\.full_name\s*==\s*github\.repository\b/,
  /github\.repository\s*==\s*github\.event\.pull_request\.head\.repo\.full_name\b/,
];

export function hasSameRepoGuard(condition: string | undefined): boolean {
  if (!condition) return false;
  // An `||` could let a fork through whatever else the condition says.
  if (condition.includes('||')) return false;
  return SAME_REPO_GUARDS.some((re) => re.test(condition));
}

/** Fork pull requests never reach a job with an OIDC token, and no workflow runs fork code with write access. */
export function securityProblems(text: string): string[] {
  const wf = load(text);
  const on = events(wf);
  const problems: string[] = [];
  if ('pull_request_target' in on)
    problems.push('uses pull_request_target (runs fork code with repository secrets)');
  if ('workflow_run' in on) problems.push('uses workflow_run (can act on fork code with repository secrets)');
  const forkReachable = FORK_EVENTS.some((e) => e in on);
  for (const [id, job] of Object.entries(wf.jobs ?? {})) {
    const idToken = hasIdTokenWrite(effectivePermissions(wf, job));
    if (idToken && forkReachable && !hasSameRepoGuard(job.if))
      problems.push(
        `job '${id}' has id-token: write and can run for a fork pull request (no head-repo guard)`,
      );
    if (idToken && !(job.steps ?? []).some(isAzureStep))
      problems.push(`job '${id}' has id-token: write but no step reaches Azure`);
  }
  if (hasIdTokenWrite(wf.permissions))
    problems.push('id-token: write at workflow level: grant it per job, only where Azure is reached');
  return problems;
}

/**
 * A scheduled workflow can also be started by hand, and either guards the weekday in a step (cron ORs the day fields)
 * or lets the action's freshness gate (skip-if-unchanged) decide whether anything is built.
 */
export function scheduleProblems(text: string): string[] {
  const wf = load(text);
  const on = events(wf);
  const problems: string[] = [];
  const schedule = on.schedule;
  if (!Array.isArray(schedule) || schedule.length === 0) return ['no schedule'];
  if (!('workflow_dispatch' in on)) problems.push('schedule without a workflow_dispatch sibling');
  for (const entry of schedule) {
    const cron = entry && typeof entry === 'object' && !Array.isArray(entry) ? String(entry.cron ?? '') : '';
    const fields = cron.trim().split(/\s+/);
    if (fields.length !== 5) {
      problems.push(`cron '${cron}' does not have five fields`);
      continue;
    }
    if (fields[2] !== '*' && fields[4] !== '*')
      problems.push(`cron '${cron}' sets day-of-month and day-of-week: cron ORs them`);
  }
  const guard = Object.values(wf.jobs ?? {}).some((job) =>
    (job.steps ?? []).some(
      (s) =>
        typeof s.run === 'string' &&
        /date\b[^\n]*\+%[uwaA]/.test(s.run) &&
        /GITHUB_OUTPUT|exit\s+[1-9]/.test(s.run),
    ),
  );
  // The action's freshness gate also makes a daily schedule build once: only when the base or the template moved.
  const freshnessGate = Object.values(wf.jobs ?? {}).some((job) =>
    (job.steps ?? []).some((s) => String(s.with?.['skip-if-unchanged'] ?? '') === 'true'),
  );
  if (freshnessGate) return problems;
  if (!guard)
    problems.push(
      'no weekday guard step (date +%u with a step output or exit) and no freshness gate (skip-if-unchanged)',
    );
  const gated = Object.values(wf.jobs ?? {}).some(
    (job) => typeof job.if === 'string' && /needs\.[\w-]+\.outputs\./.test(job.if),
  );
  if (!gated) problems.push('no job waits on the weekday guard output');
  return problems;
}

/** Jobs that change production run in a protected environment, one run at a time. */
export function productionProblems(text: string): string[] {
  const wf = load(text);
  const problems: string[] = [];
  const concurrency = (job: Job) => job.concurrency ?? wf.concurrency;
  for (const [id, job] of Object.entries(wf.jobs ?? {})) {
    if (!(job.steps ?? []).some(isAzureStep)) continue;
    if (!job.environment) problems.push(`job '${id}' reaches Azure without an environment`);
    const c = concurrency(job);
    const group = c && typeof c === 'object' && !Array.isArray(c) ? c.group : c;
    if (typeof group !== 'string' || group === '') problems.push(`job '${id}' has no concurrency group`);
  }
  return problems;
}
