import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeGitHub, TOKEN, type FakeGitHub } from '../../fake-cloud/github-api.ts';
import { fakeInputs, runAction, useFakeCloud } from './harness.ts';

const cloud = useFakeCloud();
let github: FakeGitHub | undefined;

afterEach(async () => {
  await github?.close();
  github = undefined;
});

describe('pull-request feedback from dist/index.js', () => {
  it('posts one report comment per pull request and edits it on the next run', async () => {
    const fake = await cloud();
    github = await startFakeGitHub('octo', 'images');
    const image = fake.addManagedImage({ resourceGroup: 'images', name: 'pr-7' });
    const event = join(await mkdtemp(join(tmpdir(), 'w365-event-')), 'event.json');
    await writeFile(event, JSON.stringify({ pull_request: { number: 7 } }));
    const env = {
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: event,
      GITHUB_REPOSITORY: 'octo/images',
      GITHUB_API_URL: github.url,
    };
    const inputs = { 'image-id': image.id, register: 'false', 'github-token': TOKEN, ...fakeInputs(fake) };

    const first = await runAction(fake, inputs, { env });
    expect(first.code, first.stdout).toBe(0);
    expect(github.comments).toHaveLength(1);
    const [comment] = github.comments;
    expect(comment?.issue).toBe(7);
    expect(comment?.body).toContain('<!-- w365-image:report -->');
    expect(comment?.body).toContain('image.generation');

    const second = await runAction(fake, inputs, { env });
    expect(second.code).toBe(0);
    expect(github.comments).toHaveLength(1);
    expect(github.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    expect(github.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1);
    expect(github.requests.every((r) => r.authorization?.endsWith(TOKEN))).toBe(true);
  });

  it('on a fork pull request (read-only token) skips the comment without a warning and says so in the summary', async () => {
    const fake = await cloud();
    github = await startFakeGitHub('octo', 'images');
    github.readOnlyTokens.add(TOKEN);
    const event = join(await mkdtemp(join(tmpdir(), 'w365-event-')), 'event.json');
    await writeFile(
      event,
      JSON.stringify({
        number: 9,
        pull_request: {
          number: 9,
          head: { repo: { full_name: 'contributor/images' } },
          base: { repo: { full_name: 'octo/images' } },
        },
      }),
    );
    const fakePacker = resolve(import.meta.dirname, '../fixtures/packer');
    const run = await runAction(
      fake,
      { build: 'validate', template: resolve(import.meta.dirname, '../../packer'), 'github-token': TOKEN },
      {
        env: {
          PATH: `${fakePacker}${delimiter}${process.env.PATH}`,
          FAKE_PACKER_MODE: 'ok',
          GITHUB_EVENT_NAME: 'pull_request',
          GITHUB_EVENT_PATH: event,
          GITHUB_REPOSITORY: 'octo/images',
          GITHUB_API_URL: github.url,
        },
        withoutOidc: true,
      },
    );
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.outputs.status).toBe('template-valid');
    expect(github.requests).toHaveLength(0);
    expect(run.stdout).not.toContain('::warning');
    expect(run.summary).toContain(
      '> No pull request comment: pull request #9 comes from the fork contributor/images, and GitHub gives such runs a read-only token',
    );
  });

  it('posts nothing outside a pull request', async () => {
    const fake = await cloud();
    github = await startFakeGitHub('octo', 'images');
    const image = fake.addManagedImage({ resourceGroup: 'images', name: 'main' });
    const event = join(await mkdtemp(join(tmpdir(), 'w365-event-')), 'event.json');
    await writeFile(event, JSON.stringify({ ref: 'refs/heads/main' }));
    const run = await runAction(
      fake,
      { 'image-id': image.id, register: 'false', 'github-token': TOKEN, ...fakeInputs(fake) },
      {
        env: {
          GITHUB_EVENT_NAME: 'push',
          GITHUB_EVENT_PATH: event,
          GITHUB_REPOSITORY: 'octo/images',
          GITHUB_API_URL: github.url,
        },
      },
    );
    expect(run.code).toBe(0);
    expect(github.requests).toHaveLength(0);
  });
});
