import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { githubApi } from '../../src/net/githubApi.ts';

// A GitHub API that accepts every request and never answers.
let server: Server;
let url: string;
let received = 0;
beforeEach(async () => {
  received = 0;
  server = createServer(() => void received++);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  server.closeAllConnections();
  await new Promise((done) => server.close(done));
});

const listComments = (api: ReturnType<typeof githubApi>) =>
  api.rest.issues.listComments({ owner: 'octo', repo: 'images', issue_number: 7 });

describe('githubApi', () => {
  it('ends a request that never answers after its timeout', async () => {
    const api = githubApi('ghs_token', { baseUrl: url, timeoutMs: 300 });
    await expect(listComments(api)).rejects.toThrow(/abort|timeout/i);
    expect(received).toBe(1);
  });

  it("ends a request that never answers on the run's cancel", async () => {
    const cancel = new AbortController();
    const api = githubApi('ghs_token', { baseUrl: url, signal: cancel.signal, timeoutMs: 60_000 });
    const pending = listComments(api);
    setTimeout(() => cancel.abort(), 100);
    await expect(pending).rejects.toThrow(/abort/i);
  });
});
