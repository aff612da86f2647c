import { describe, expect, it } from 'vitest';
import { fakeInputs, runAction, SCALE, useFakeCloud } from './harness.ts';

const cloud = useFakeCloud();

describe('budgets that fit a GitHub-hosted job', () => {
  it('warns when the wait cannot fit 360 minutes on a hosted runner, and not with the defaults', async () => {
    const f = await cloud();
    const image = f.addManagedImage({ resourceGroup: 'images', name: 'img' });
    const inputs = { 'image-id': image.id, ...fakeInputs(f) };
    const hosted = { RUNNER_ENVIRONMENT: 'github-hosted' };
    const defaults = await runAction(f, inputs, { timeScale: SCALE, env: hosted });
    expect(defaults.code, defaults.stdout).toBe(0);
    expect(defaults.stdout).not.toContain('cannot fit a GitHub-hosted job');
    const long = await runAction(
      f,
      { ...inputs, 'wait-timeout-minutes': '400' },
      { timeScale: SCALE, env: hosted },
    );
    expect(long.stdout).toMatch(
      /::warning::wait-timeout-minutes 400 = 400 minutes, .*cannot fit a GitHub-hosted job/,
    );
    const selfHosted = await runAction(
      f,
      { ...inputs, 'wait-timeout-minutes': '400' },
      { timeScale: SCALE, env: { RUNNER_ENVIRONMENT: 'self-hosted' } },
    );
    expect(selfHosted.stdout).not.toContain('cannot fit a GitHub-hosted job');
  });
});
