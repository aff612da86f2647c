/** A small fake of the GitHub REST API's issue comments, on 127.0.0.1, for the pull request comment tests. */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { artifactStore, type ArtifactStore } from './github-artifacts.ts';

export interface FakeComment {
  id: number;
  issue: number;
  body: string;
  user: { login: string; type: 'User' | 'Bot' };
}

export interface Request {
  method: string;
  path: string;
  authorization: string | undefined;
}

export interface FakeGitHub {
  url: string;
  comments: FakeComment[];
  requests: Request[];
  /** Comments per page when the client does not ask (GitHub: 30); per_page is honoured up to this cap. */
  maxPerPage: number;
  /** Logins the /user endpoint knows by token; other tokens get 403 like GITHUB_TOKEN. */
  users: Map<string, string>;
  /** Tokens that may read but not write, as GITHUB_TOKEN in a fork's pull request: writes get 403. */
  readOnlyTokens: Set<string>;
  add(issue: number, body: string, user?: FakeComment['user']): FakeComment;
  /** Workflow artifacts (REST, the results service's Twirp API and blob storage). */
  artifacts: ArtifactStore;
  close(): Promise<void>;
}

export const BOT = { login: 'github-actions[bot]', type: 'Bot' } as const;
export const TOKEN = 'ghs_faketoken';

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

export async function startFakeGitHub(owner = 'octo', repo = 'images'): Promise<FakeGitHub> {
  let nextId = 1000;
  const artifacts = artifactStore(owner, repo);
  const state = {
    comments: [] as FakeComment[],
    requests: [] as Request[],
    maxPerPage: 100,
    users: new Map<string, string>(),
    readOnlyTokens: new Set<string>(),
  };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const authorization = req.headers.authorization;
      state.requests.push({ method: req.method ?? '', path: url.pathname + url.search, authorization });
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
        res.end(JSON.stringify(body));
      };
      const base = `http://${req.headers.host}`;
      // The results service and blob storage authorize by runtime token and signed URL, not by the REST token.
      if (url.pathname.startsWith('/twirp/') || url.pathname.startsWith('/_blobs/')) {
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        artifacts.handle(req, res, url, Buffer.concat(chunks), base);
        return;
      }
      const token = /^(?:token|Bearer) (.+)$/.exec(authorization ?? '')?.[1];
      if (!token) return send(401, { message: 'Requires authentication' });
      if (req.method !== 'GET' && state.readOnlyTokens.has(token))
        return send(403, {
          message: 'Resource not accessible by integration',
          documentation_url: 'https://docs.github.com/rest/issues/comments#create-an-issue-comment',
        });
      if (artifacts.handle(req, res, url, Buffer.alloc(0), base)) return;
      const json = (c: FakeComment) => ({
        id: c.id,
        body: c.body,
        user: c.user,
        html_url: `https://github.test/${owner}/${repo}/pull/${c.issue}#issuecomment-${c.id}`,
      });

      if (req.method === 'GET' && url.pathname === '/user') {
        const login = state.users.get(token);
        if (!login) return send(403, { message: 'Resource not accessible by integration' });
        return send(200, { login, type: 'User' });
      }
      const list = new RegExp(`^/repos/${owner}/${repo}/issues/(\\d+)/comments$`).exec(url.pathname);
      if (list) {
        const issue = Number(list[1]);
        if (req.method === 'GET') {
          const all = state.comments.filter((c) => c.issue === issue);
          const perPage = Math.min(Number(url.searchParams.get('per_page') ?? 30), state.maxPerPage);
          const page = Number(url.searchParams.get('page') ?? 1);
          const last = Math.max(1, Math.ceil(all.length / perPage));
          const links: string[] = [];
          const link = (p: number, rel: string) =>
            `<${base}${url.pathname}?per_page=${perPage}&page=${p}>; rel="${rel}"`;
          if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
          if (page > 1) links.push(link(1, 'first'), link(page - 1, 'prev'));
          return send(
            200,
            all.slice((page - 1) * perPage, page * perPage).map(json),
            links.length > 0 ? { link: links.join(', ') } : {},
          );
        }
        if (req.method === 'POST') {
          const { body } = (await readBody(req)) as { body?: string };
          if (typeof body !== 'string') return send(422, { message: 'body is missing' });
          const user = state.users.has(token)
            ? { login: state.users.get(token)!, type: 'User' as const }
            : BOT;
          const comment = { id: nextId++, issue, body, user };
          state.comments.push(comment);
          return send(201, json(comment));
        }
      }
      const one = new RegExp(`^/repos/${owner}/${repo}/issues/comments/(\\d+)$`).exec(url.pathname);
      if (one && req.method === 'PATCH') {
        const comment = state.comments.find((c) => c.id === Number(one[1]));
        if (!comment) return send(404, { message: 'Not Found' });
        const { body } = (await readBody(req)) as { body?: string };
        if (typeof body !== 'string') return send(422, { message: 'body is missing' });
        comment.body = body;
        return send(200, json(comment));
      }
      return send(404, { message: `Not Found: ${req.method} ${url.pathname}` });
    })().catch((error: unknown) => {
      res.writeHead(500);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get comments() {
      return state.comments;
    },
    get requests() {
      return state.requests;
    },
    get maxPerPage() {
      return state.maxPerPage;
    },
    set maxPerPage(n: number) {
      state.maxPerPage = n;
    },
    users: state.users,
    readOnlyTokens: state.readOnlyTokens,
    artifacts,
    add(issue, body, user = BOT) {
      const comment = { id: nextId++, issue, body, user };
      state.comments.push(comment);
      return comment;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
