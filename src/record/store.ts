import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { githubApi } from '../net/githubApi.ts';
import type { Log } from '../util/log.ts';
import { parseRecord, RECORD_FILE, recordArtifactName, type ImageRecord } from './record.ts';

/** Where records live: this repository's workflow artifacts, read with the job's token. */
export interface RecordStoreTarget {
  token: string;
  owner: string;
  repo: string;
  /** Only records made on this branch count (a pull request's branch must not stand in for the default branch's). */
  branch: string | undefined;
  /** Working folder for downloads and uploads. */
  workDir: string;
}

export interface PreviousRecord {
  record: ImageRecord;
  artifactId: number;
  workflowRunId: number | null;
  createdAt: string | null;
}

export type Found = { found: true; previous: PreviousRecord } | { found: false; reason: string };
export type Saved =
  { saved: true; name: string; id: number } | { saved: false; name: string; reason: string };

/** Bound on each GitHub call chain: the artifact client retries for minutes on its own. */
const TIMEOUT_MS = 120_000;
/** Artifacts of this name looked at, newest first, before giving up. */
const CANDIDATES = 3;

/** The store for this job, or why there is none (outside GitHub Actions, no token). */
export function recordStoreTarget(
  env: NodeJS.ProcessEnv,
  token: string | undefined,
): RecordStoreTarget | { reason: string } {
  const [owner, repo, ...rest] = (env.GITHUB_REPOSITORY ?? '').split('/');
  if (!owner || !repo || rest.length > 0)
    return { reason: 'GITHUB_REPOSITORY is not set (not in GitHub Actions)' };
  const auth = token || env.GITHUB_TOKEN;
  if (!auth) return { reason: 'no GitHub token (set the github-token input)' };
  return {
    token: auth,
    owner,
    repo,
    // A pull request's runs are listed under its head branch; GITHUB_REF_NAME is then '<number>/merge'.
    branch: env.GITHUB_HEAD_REF || env.GITHUB_REF_NAME || undefined,
    workDir: env.RUNNER_TEMP || tmpdir(),
  };
}

interface ArtifactItem {
  id: number;
  name: string;
  expired: boolean;
  created_at?: string | null;
  workflow_run?: { id?: number | null; head_branch?: string | null } | null;
}

/** The newest unexpired record artifact of this display name on this branch, downloaded and checked. */
export async function findPreviousRecord(
  target: RecordStoreTarget,
  displayName: string,
  log: Pick<Log, 'info' | 'debug' | 'warning'>,
): Promise<Found> {
  const name = recordArtifactName(displayName);
  try {
    return await bounded(async () => {
      const octokit = githubApi(target.token);
      const { data } = await octokit.rest.actions.listArtifactsForRepo({
        owner: target.owner,
        repo: target.repo,
        name,
        per_page: 50,
      });
      const candidates = (data.artifacts as ArtifactItem[])
        .filter((a) => a.name === name && !a.expired)
        .filter((a) => !target.branch || a.workflow_run?.head_branch === target.branch)
        .sort((a, b) => (b.created_at ?? '').localeCompare(a.created_at ?? '') || b.id - a.id)
        .slice(0, CANDIDATES);
      if (candidates.length === 0)
        return {
          found: false,
          reason: `no artifact '${name}'${target.branch ? ` from branch ${target.branch}` : ''} (the first run of this display name, or its record expired)`,
        } as const;
      const { DefaultArtifactClient } = await import('@actions/artifact');
      const client = new DefaultArtifactClient();
      for (const artifact of candidates) {
        const dir = await mkdtemp(join(target.workDir, 'w365-record-'));
        await client.downloadArtifact(artifact.id, {
          path: dir,
          findBy: {
            token: target.token,
            workflowRunId: artifact.workflow_run?.id ?? 0,
            repositoryOwner: target.owner,
            repositoryName: target.repo,
          },
        });
        const text = await readFile(join(dir, RECORD_FILE), 'utf8').catch(() => undefined);
        const record = text === undefined ? undefined : parseRecord(safeJson(text));
        if (!record || record.displayName !== displayName) {
          log.debug(`Artifact ${artifact.id} holds no record of '${displayName}': skipped.`);
          continue;
        }
        return {
          found: true,
          previous: {
            record,
            artifactId: artifact.id,
            workflowRunId: artifact.workflow_run?.id ?? null,
            createdAt: artifact.created_at ?? null,
          },
        } as const;
      }
      return {
        found: false,
        reason: `no readable record of '${displayName}' in artifact '${name}'`,
      } as const;
    });
  } catch (error) {
    const reason = `could not read the previous record (${message(error)}); the job needs permissions: actions: read`;
    log.warning(`Previous image record: ${reason}.`);
    return { found: false, reason };
  }
}

/** Uploads the record (with the report and the facts beside it) as this run's artifact. */
export async function saveRecord(
  target: Pick<RecordStoreTarget, 'workDir'>,
  record: ImageRecord,
  files: { report: unknown; factsPath: string | null },
  log: Pick<Log, 'info' | 'warning'>,
): Promise<Saved> {
  const name = recordArtifactName(record.displayName);
  try {
    return await bounded(async () => {
      const dir = await mkdtemp(join(target.workDir, 'w365-record-out-'));
      await mkdir(dir, { recursive: true });
      const paths = [join(dir, RECORD_FILE), join(dir, 'report.json')];
      await writeFile(paths[0] as string, JSON.stringify(record, null, 2) + '\n');
      await writeFile(paths[1] as string, JSON.stringify(files.report, null, 2) + '\n');
      if (files.factsPath) {
        const facts = await readFile(files.factsPath).catch(() => undefined);
        if (facts) {
          paths.push(join(dir, 'facts.json'));
          await writeFile(join(dir, 'facts.json'), facts);
        }
      }
      const { DefaultArtifactClient } = await import('@actions/artifact');
      const uploaded = await new DefaultArtifactClient().uploadArtifact(name, paths, dir);
      log.info(`Saved the image record as artifact '${name}' (${uploaded.id ?? 'no id'}).`);
      return { saved: true, name, id: uploaded.id ?? 0 } as const;
    });
  } catch (error) {
    const reason = `could not save the image record as artifact '${name}': ${message(error)}`;
    log.warning(`${reason}. The next run will build and cannot show what changed.`);
    return { saved: false, name, reason };
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    return undefined;
  }
}

function message(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}

function bounded<T>(work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)), TIMEOUT_MS);
    timer.unref();
  });
  return Promise.race([work(), timeout]).finally(() => clearTimeout(timer));
}
