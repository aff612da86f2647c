import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  MARKER,
  markerKey,
  postPullRequestComment,
  pullRequestContext,
  renderComment,
  skippedCommentNote,
  type PullRequestTarget,
} from '../../src/report/prComment.ts';
import { BOT, startFakeGitHub, TOKEN, type FakeGitHub } from '../../fake-cloud/github-api.ts';
import { sampleReport } from './sampleReport.ts';

const PR = 7;
const messages: string[] = [];
const log = {
  info: (m: string) => messages.push(`info: ${m}`),
  warning: (m: string) => messages.push(`warning: ${m}`),
  debug: (m: string) => messages.push(`debug: ${m}`),
};

let gh: FakeGitHub;
let target: PullRequestTarget;
beforeEach(async () => {
  messages.length = 0;
  gh = await startFakeGitHub('octo', 'images');
  target = { token: TOKEN, repo: { owner: 'octo', repo: 'images' }, pullNumber: PR, apiUrl: gh.url };
});
afterEach(async () => {
  await gh.close();
});

const mine = () => gh.comments.filter((c) => c.body.startsWith(MARKER));

describe('postPullRequestComment', () => {
  it('creates one comment, then edits it in place on the next run', async () => {
    const first = await postPullRequestComment(sampleReport(), target, log);
    expect(first).toMatchObject({ posted: true, action: 'created' });
    expect(mine()).toHaveLength(1);
    expect(mine()[0]!.body).toContain('image.os-disk-size');

    const second = await postPullRequestComment(
      sampleReport({ outcome: 'validated', message: 'All checks passed', checks: [] }),
      target,
      log,
    );
    expect(second).toMatchObject({ posted: true, action: 'updated' });
    if (first.posted && second.posted) expect(second.commentId).toBe(first.commentId);
    expect(gh.comments).toHaveLength(1);
    expect(gh.comments[0]!.body).toContain('Validated (not registered)');
    expect(gh.comments[0]!.body).not.toContain('image.os-disk-size');
    expect(gh.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    expect(gh.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1);
    // Every request carried the token.
    expect(gh.requests.every((r) => r.authorization === `token ${TOKEN}`)).toBe(true);
  });

  it('keeps one comment per display name (a matrix) and leaves other comments alone', async () => {
    const human = gh.add(PR, 'Looks good to me');
    const quoted = gh.add(PR, `${MARKER}\n${markerKey(sampleReport())}\nquoted by a reviewer`, {
      login: 'octocat',
      type: 'User',
    });
    const otherTool = gh.add(PR, '<!-- other-tool:report -->\nsomething else', BOT);
    const otherPr = gh.add(PR + 1, `${MARKER}\n${markerKey(sampleReport())}\nanother pull request`, BOT);

    await postPullRequestComment(sampleReport(), target, log);
    await postPullRequestComment(
      sampleReport({ inputs: { ...sampleReport().inputs, displayName: 'M365' } }),
      target,
      log,
    );
    await postPullRequestComment(sampleReport(), target, log);
    await postPullRequestComment(
      sampleReport({ inputs: { ...sampleReport().inputs, displayName: 'M365' } }),
      target,
      log,
    );

    const ours = gh.comments.filter(
      (c) => c.issue === PR && c.user.login === BOT.login && c.body.startsWith(MARKER),
    );
    expect(ours.map((c) => c.body.split('\n')[1])).toEqual([
      '<!-- w365-image:display-name=Win11%20Corporate -->',
      '<!-- w365-image:display-name=M365 -->',
    ]);
    expect(gh.requests.filter((r) => r.method === 'POST')).toHaveLength(2);
    expect(human.body).toBe('Looks good to me');
    expect(quoted.body).toContain('quoted by a reviewer');
    expect(otherTool.body).toContain('something else');
    expect(otherPr.body).toContain('another pull request');
  });

  it('follows Link pagination and finds its comment on page 2', async () => {
    gh.maxPerPage = 3;
    for (let i = 0; i < 4; i++) gh.add(PR, `chatter ${i}`);
    const existing = gh.add(PR, `${MARKER}\n${markerKey(sampleReport())}\nold report`, BOT);
    for (let i = 0; i < 3; i++) gh.add(PR, `more chatter ${i}`);

    const result = await postPullRequestComment(sampleReport(), target, log);
    expect(result).toMatchObject({ posted: true, action: 'updated', commentId: existing.id });
    expect(existing.body).toContain('image.os-disk-size');
    const pages = gh.requests.filter((r) => r.method === 'GET' && r.path.includes('/comments'));
    expect(pages.map((r) => new URL(r.path, gh.url).searchParams.get('page') ?? '1')).toEqual(['1', '2']);
    expect(gh.requests.filter((r) => r.method === 'POST')).toHaveLength(0);
  });

  it('reads at most 30 pages of comments, then writes a new report comment', async () => {
    gh.maxPerPage = 1;
    for (let i = 0; i < 31; i++) gh.add(PR, `chatter ${i}`);
    const beyond = gh.add(PR, `${MARKER}\n${markerKey(sampleReport())}\nold report`, BOT);

    const result = await postPullRequestComment(sampleReport(), target, log);
    expect(result).toMatchObject({ posted: true, action: 'created' });
    expect(beyond.body).toContain('old report');
    expect(gh.requests.filter((r) => r.method === 'GET' && r.path.includes('/comments'))).toHaveLength(30);
  });

  it('with a token that names its user, only that user counts as the author', async () => {
    gh.users.set('ghp_personal', 'release-bot-user');
    const botComment = gh.add(PR, `${MARKER}\n${markerKey(sampleReport())}\nfrom GITHUB_TOKEN`, BOT);
    const pat = { ...target, token: 'ghp_personal' };
    expect(await postPullRequestComment(sampleReport(), pat, log)).toMatchObject({ action: 'created' });
    expect(await postPullRequestComment(sampleReport(), pat, log)).toMatchObject({ action: 'updated' });
    expect(botComment.body).toContain('from GITHUB_TOKEN');
    expect(gh.comments.filter((c) => c.user.login === 'release-bot-user')).toHaveLength(1);
  });

  it('posts nothing and sends no request without a pull request', async () => {
    const ctx = pullRequestContext(
      { GITHUB_REPOSITORY: 'octo/images', GITHUB_TOKEN: TOKEN, GITHUB_EVENT_NAME: 'schedule' },
      { schedule: '0 2 9-15 * *' },
    );
    const result = await postPullRequestComment(sampleReport(), ctx, log);
    expect(result).toEqual({ posted: false, reason: 'no pull request in the schedule event' });
    expect(gh.requests).toHaveLength(0);
  });

  it('returns a reason instead of throwing when GitHub refuses (read-only fork token)', async () => {
    const result = await postPullRequestComment(sampleReport(), { ...target, token: '' }, log);
    expect(result.posted).toBe(false);
    const refused = await postPullRequestComment(
      sampleReport(),
      { ...target, repo: { owner: 'x', repo: 'y' } },
      log,
    );
    expect(refused).toMatchObject({ posted: false });
    if (!refused.posted) expect(refused.reason).toContain('pull-requests: write');
    expect(messages.some((m) => m.startsWith('warning: GitHub refused'))).toBe(true);
  });
});

describe('pull requests from forks', () => {
  const env = { GITHUB_REPOSITORY: 'octo/images', GITHUB_TOKEN: TOKEN, GITHUB_EVENT_NAME: 'pull_request' };
  const fromFork = {
    number: PR,
    pull_request: {
      number: PR,
      head: { repo: { full_name: 'contributor/images' } },
      base: { repo: { full_name: 'octo/images' } },
    },
  };

  it('skips the comment without a request or a warning, and says why for the job summary', async () => {
    gh.readOnlyTokens.add(TOKEN);
    const ctx = pullRequestContext(env, fromFork);
    expect(ctx).toEqual({
      reason:
        'pull request #7 comes from the fork contributor/images, and GitHub gives such runs a read-only token, so the report is in the job summary instead of a comment',
      fork: true,
    });
    const result = await postPullRequestComment(sampleReport(), ctx, log);
    expect(result).toMatchObject({ posted: false });
    expect(gh.requests).toHaveLength(0);
    expect(messages.filter((m) => m.startsWith('warning:'))).toEqual([]);
    expect(messages).toContain(`info: No pull request comment: ${'reason' in ctx ? ctx.reason : ''}.`);
    expect(skippedCommentNote(ctx)).toContain(
      '> No pull request comment: pull request #7 comes from the fork',
    );
  });

  it('treats a deleted fork as a fork and never prints an odd repository name', () => {
    const deleted = pullRequestContext(env, { pull_request: { number: PR, head: { repo: null } } });
    expect(deleted).toMatchObject({ fork: true });
    expect('reason' in deleted && deleted.reason).toContain('the fork a deleted repository');
    const odd = pullRequestContext(env, {
      pull_request: { number: PR, head: { repo: { full_name: 'x/y\n::error::injected' } } },
    });
    expect('reason' in odd && odd.reason).toContain('the fork another repository');
  });

  it('comments on a same-repository pull request (any letter case), and has no summary note for it', () => {
    const same = pullRequestContext(env, {
      pull_request: {
        number: PR,
        head: { repo: { full_name: 'Octo/Images' } },
        base: { repo: { full_name: 'octo/images' } },
      },
    });
    expect(same).toMatchObject({ token: TOKEN, pullNumber: PR });
    expect(skippedCommentNote(same)).toBe('');
  });

  it('still warns when a same-repository job cannot write (missing pull-requests: write)', async () => {
    gh.readOnlyTokens.add(TOKEN);
    const result = await postPullRequestComment(sampleReport(), target, log);
    expect(result).toMatchObject({ posted: false });
    if (!result.posted) expect(result.reason).toContain('403');
    expect(
      messages.some((m) => m.startsWith('warning: GitHub refused') && m.includes('pull-requests: write')),
    ).toBe(true);
  });
});

describe('pullRequestContext', () => {
  const env = {
    GITHUB_REPOSITORY: 'octo/images',
    GITHUB_TOKEN: 'from-env',
    GITHUB_API_URL: 'https://ghe.example/api/v3',
    GITHUB_SERVER_URL: 'https://ghe.example',
    GITHUB_RUN_ID: '99',
    GITHUB_EVENT_NAME: 'pull_request',
  };

  it('reads the number from the event file, the repository and the token', () => {
    const dir = mkdtempSync(join(tmpdir(), 'w365-event-'));
    const path = join(dir, 'event.json');
    writeFileSync(path, JSON.stringify({ action: 'synchronize', number: 12, pull_request: { number: 12 } }));
    expect(pullRequestContext({ ...env, GITHUB_EVENT_PATH: path })).toEqual({
      token: 'from-env',
      repo: { owner: 'octo', repo: 'images' },
      pullNumber: 12,
      apiUrl: 'https://ghe.example/api/v3',
      runUrl: 'https://ghe.example/octo/images/actions/runs/99',
    });
  });

  it('prefers the github-token input, and knows issue comments on pull requests', () => {
    const ctx = pullRequestContext(
      { ...env, 'INPUT_GITHUB-TOKEN': 'from-input' },
      { issue: { number: 5, pull_request: { url: 'x' } } },
    );
    expect(ctx).toMatchObject({ token: 'from-input', pullNumber: 5 });
    expect(pullRequestContext(env, {}, 'explicit')).toEqual({
      reason: 'no pull request in the pull_request event',
    });
    expect(pullRequestContext(env, { issue: { number: 5 } })).toHaveProperty('reason');
  });

  it('explains what is missing', () => {
    expect(pullRequestContext({})).toEqual({
      reason: 'not running in GitHub Actions (no GITHUB_EVENT_PATH)',
    });
    expect(pullRequestContext({ GITHUB_REPOSITORY: 'octo/images' }, { pull_request: { number: 3 } })).toEqual(
      {
        reason: 'no GitHub token (set the github-token input)',
      },
    );
    expect(pullRequestContext({ GITHUB_TOKEN: 't' }, { pull_request: { number: 3 } })).toEqual({
      reason: 'GITHUB_REPOSITORY is not owner/repo',
    });
  });
});

describe('renderComment', () => {
  it('has the marker, the headline, image and versions, and the checks with failures first', () => {
    const body = renderComment(
      sampleReport({
        outcome: 'ready',
        registration: {
          deviceImageId: 'img-1',
          displayName: 'Win11 Corporate',
          version: '2026.1126.42',
          status: 'ready',
          errorCode: null,
          cause: null,
          fix: null,
          created: true,
          polls: 3,
          waitedSeconds: 60,
          graphRequests: 5,
          operatingSystem: 'Windows 11 Enterprise',
          osBuildNumber: '26200.7000',
          intuneUrl: 'https://intune.microsoft.com/',
        },
      }),
      { runUrl: 'https://github.com/octo/images/actions/runs/1' },
    );
    const lines = body.split('\n');
    expect(lines[0]).toBe(MARKER);
    expect(lines[1]).toBe('<!-- w365-image:display-name=Win11%20Corporate -->');
    expect(body).toContain('Registered: ready in Windows 365');
    expect(body).toContain('| Version | `2026.1126.42` |');
    expect(body).toContain('| Device image | `img-1` (ready) |');
    // Cells escape every inline Markdown special, parentheses included (GitHub renders them as typed).
    expect(body).toContain('| OS | Windows 11 Enterprise 25H2 \\(build 26200.7000\\) |');
    expect(body).toContain('OS disk is 128 GB \\| too big');
    expect(body.indexOf('image.os-disk-size')).toBeLessThan(body.indexOf('image.generalized'));
    expect(body).toContain('[Workflow run](https://github.com/octo/images/actions/runs/1)');
  });

  it('stays under the GitHub comment limit', () => {
    const many = Array.from({ length: 2000 }, (_, i) => ({
      ...sampleReport().checks[1]!,
      id: `vm.rule-${i}`,
      detail: 'x'.repeat(100),
    }));
    const body = renderComment(sampleReport({ checks: many }));
    expect(body.length).toBeLessThanOrEqual(65_536);
    expect(body).toContain('truncated');
  });

  it('never carries a token that cloud text echoed (an ID token in an Entra error)', () => {
    const idToken = `eyJhbGciOiJSUzI1NiJ9.${Buffer.from('{"sub":"repo:contoso/x:ref:refs/heads/main"}').toString('base64url')}.c2lnbmF0dXJl`;
    const body = renderComment(
      sampleReport({
        outcome: 'error',
        error: { kind: 'graph', message: `AADSTS900144: body was client_assertion=${idToken}&scope=x` },
      }),
    );
    expect(body).toContain('client_assertion=***&scope=x');
    expect(body).not.toContain(idToken);
  });
});
