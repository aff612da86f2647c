/**
 * Workflow artifacts for the fake GitHub API, as @actions/artifact and the REST API see them:
 * - the results service's Twirp calls (POST /twirp/github.actions.results.api.v1.ArtifactService/CreateArtifact and
 *   /FinalizeArtifact), authorized by the job's ACTIONS_RUNTIME_TOKEN (a JWT whose `scp` names the run's backend IDs),
 *   with proto field names in the bodies;
 * - Azure Blob Storage block uploads to the signed URL (PUT ?comp=block&blockid=..., then PUT ?comp=blocklist);
 * - REST GET /repos/{o}/{r}/actions/artifacts?name= (newest first, paged) and
 *   GET /repos/{o}/{r}/actions/artifacts/{id}/zip (302 to the blob; 410 once expired).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface FakeArtifact {
  id: number;
  name: string;
  runId: number;
  branch: string;
  createdAt: string;
  expired: boolean;
  /** The zip as uploaded. */
  content: Buffer;
  digest: string | null;
}

interface Run {
  runId: number;
  branch: string;
}

interface Upload {
  run: Run;
  name: string;
  blocks: Map<string, Buffer>;
  content: Buffer | null;
}

export interface ArtifactStore {
  artifacts: FakeArtifact[];
  /** A runtime token for a job of this workflow run on this branch (ACTIONS_RUNTIME_TOKEN). */
  runtimeToken(runId: number, branch?: string): string;
  /** Handles the request when it is about artifacts; false otherwise. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer, base: string): boolean;
}

const TWIRP = '/twirp/github.actions.results.api.v1.ArtifactService/';

export function artifactStore(owner: string, repo: string): ArtifactStore {
  let nextId = 4_000;
  const artifacts: FakeArtifact[] = [];
  const runs = new Map<string, Run>();
  const tokens = new Map<string, Run>();
  const uploads = new Map<string, Upload>();
  /** Seconds since the epoch advance with each artifact, so "newest first" is unambiguous. */
  let createdSeq = Date.parse('2026-11-01T00:00:00Z');

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  };
  const twirpError = (res: ServerResponse, status: number, code: string, msg: string) =>
    send(res, status, { code, msg });

  const view = (a: FakeArtifact, base: string) => ({
    id: a.id,
    node_id: `MDg6QXJ0aWZhY3Q${a.id}`,
    name: a.name,
    size_in_bytes: a.content.length,
    url: `${base}/repos/${owner}/${repo}/actions/artifacts/${a.id}`,
    archive_download_url: `${base}/repos/${owner}/${repo}/actions/artifacts/${a.id}/zip`,
    expired: a.expired,
    digest: a.digest,
    created_at: a.createdAt,
    updated_at: a.createdAt,
    expires_at: new Date(Date.parse(a.createdAt) + 90 * 86_400_000).toISOString(),
    workflow_run: {
      id: a.runId,
      repository_id: 101,
      head_repository_id: 101,
      head_branch: a.branch,
      head_sha: '0123456789abcdef0123456789abcdef01234567',
    },
  });

  const handle: ArtifactStore['handle'] = (req, res, url, body, base) => {
    if (url.pathname.startsWith(TWIRP)) {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const run = token ? tokens.get(token) : undefined;
      if (!run) {
        twirpError(res, 401, 'unauthenticated', 'invalid or missing runtime token');
        return true;
      }
      let request: Record<string, unknown>;
      try {
        request = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      } catch {
        twirpError(res, 400, 'malformed', 'the body is not JSON');
        return true;
      }
      const backendRun = runs.get(String(request.workflow_run_backend_id));
      if (backendRun !== run || typeof request.name !== 'string') {
        twirpError(res, 400, 'invalid_argument', 'workflow_run_backend_id or name does not match the token');
        return true;
      }
      const key = `${run.runId}/${request.name}`;
      const method = url.pathname.slice(TWIRP.length);
      if (method === 'CreateArtifact') {
        if (artifacts.some((a) => a.runId === run.runId && a.name === request.name)) {
          twirpError(
            res,
            409,
            'already_exists',
            `an artifact named ${request.name} already exists in this run`,
          );
          return true;
        }
        const blob = randomUUID();
        uploads.set(key, { run, name: request.name, blocks: new Map(), content: null });
        uploads.set(`blob:${blob}`, uploads.get(key) as Upload);
        send(res, 200, {
          ok: true,
          signed_upload_url: `${base}/_blobs/${blob}?sv=2023-11-03&sr=b&sp=cw&sig=${randomBytes(8).toString('hex')}`,
        });
        return true;
      }
      if (method === 'FinalizeArtifact') {
        const upload = uploads.get(key);
        if (!upload?.content) {
          twirpError(res, 404, 'not_found', `no uploaded content for ${request.name}`);
          return true;
        }
        const hash = request.hash;
        const artifact: FakeArtifact = {
          id: nextId++,
          name: upload.name,
          runId: run.runId,
          branch: run.branch,
          createdAt: new Date((createdSeq += 60_000)).toISOString(),
          expired: false,
          content: upload.content,
          digest: typeof hash === 'string' ? hash : null,
        };
        artifacts.push(artifact);
        uploads.delete(key);
        send(res, 200, { ok: true, artifact_id: String(artifact.id) });
        return true;
      }
      twirpError(res, 404, 'bad_route', `no handler for ${method}`);
      return true;
    }

    const blob = /^\/_blobs\/([^/]+)$/.exec(url.pathname);
    if (blob) {
      if (req.method === 'GET') {
        const artifact = artifacts.find((a) => `artifact-${a.id}` === blob[1]);
        if (!artifact || url.searchParams.get('sig') !== 'download') {
          res.writeHead(404, { 'x-ms-error-code': 'BlobNotFound' });
          res.end();
          return true;
        }
        res.writeHead(200, {
          'content-type': 'application/zip',
          'content-length': String(artifact.content.length),
        });
        res.end(artifact.content);
        return true;
      }
      const upload = uploads.get(`blob:${blob[1]}`);
      const headers = {
        'x-ms-request-id': randomUUID(),
        'x-ms-version': '2025-11-05',
        date: new Date().toUTCString(),
      };
      if (!upload || req.method !== 'PUT' || !url.searchParams.get('sig')) {
        res.writeHead(403, { ...headers, 'x-ms-error-code': 'AuthenticationFailed' });
        res.end();
        return true;
      }
      const comp = url.searchParams.get('comp');
      if (comp === 'block') {
        upload.blocks.set(url.searchParams.get('blockid') ?? '', body);
        res.writeHead(201, { ...headers, 'x-ms-request-server-encrypted': 'true' });
        res.end();
        return true;
      }
      if (comp === 'blocklist') {
        const ids = [...body.toString('utf8').matchAll(/<(?:Latest|Committed|Uncommitted)>([^<]*)<\//g)].map(
          (m) => m[1] ?? '',
        );
        if (ids.some((id) => !upload.blocks.has(id))) {
          res.writeHead(400, { ...headers, 'x-ms-error-code': 'InvalidBlockList' });
          res.end();
          return true;
        }
        upload.content = Buffer.concat(ids.map((id) => upload.blocks.get(id) as Buffer));
        res.writeHead(201, {
          ...headers,
          etag: `"0x${randomBytes(8).toString('hex').toUpperCase()}"`,
          'last-modified': new Date().toUTCString(),
          'x-ms-request-server-encrypted': 'true',
        });
        res.end();
        return true;
      }
      // A single-shot Put Blob (small uploads).
      upload.content = body;
      res.writeHead(201, { ...headers, etag: `"0x${randomBytes(8).toString('hex').toUpperCase()}"` });
      res.end();
      return true;
    }

    const list = new RegExp(`^/repos/${owner}/${repo}/actions/artifacts$`).exec(url.pathname);
    if (list && req.method === 'GET') {
      const name = url.searchParams.get('name');
      const perPage = Math.min(Number(url.searchParams.get('per_page') ?? 30), 100);
      const page = Number(url.searchParams.get('page') ?? 1);
      const all = artifacts
        .filter((a) => name === null || a.name === name)
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
      send(res, 200, {
        total_count: all.length,
        artifacts: all.slice((page - 1) * perPage, page * perPage).map((a) => view(a, base)),
      });
      return true;
    }
    const zip = new RegExp(`^/repos/${owner}/${repo}/actions/artifacts/(\\d+)/(zip)$`).exec(url.pathname);
    if (zip && req.method === 'GET') {
      const artifact = artifacts.find((a) => a.id === Number(zip[1]));
      if (!artifact) send(res, 404, { message: 'Not Found' });
      else if (artifact.expired) send(res, 410, { message: 'Artifact has expired' });
      else {
        res.writeHead(302, { location: `${base}/_blobs/artifact-${artifact.id}?sig=download` });
        res.end();
      }
      return true;
    }
    return false;
  };

  return {
    artifacts,
    runtimeToken(runId, branch = 'main') {
      const run = { runId, branch };
      const runBackendId = randomUUID();
      runs.set(runBackendId, run);
      const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const token = `${b64({ typ: 'JWT', alg: 'RS256' })}.${b64({
        scp: `Actions.GenericRead:00000000-0000-0000-0000-000000000000 Actions.Results:${runBackendId}:${randomUUID()}`,
        exp: Math.floor(Date.now() / 1000) + 3600,
      })}.${randomBytes(16).toString('base64url')}`;
      tokens.set(token, run);
      return token;
    },
    handle,
  };
}
