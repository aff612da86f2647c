import { describe, expect, it } from 'vitest';
import { AuthSetupError } from '../../src/azure/credential.ts';
import { CLOUDS } from '../../src/config/clouds.ts';
import { parseInputs, type Config } from '../../src/config/inputs.ts';
import { createServices } from '../../src/pipeline/services.ts';
import { systemClock } from '../../src/util/clock.ts';
import { testLog } from '../rollout/support.ts';

const IMAGE =
  '/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers/Microsoft.Compute/images/img';

function config(values: Record<string, string>): Config {
  return parseInputs((name) => values[name] ?? '', { env: {}, now: new Date(), cwd: '/tmp/x' });
}

function services(values: Record<string, string>, env: NodeJS.ProcessEnv = {}) {
  const tokens: string[] = [];
  const made = createServices(config(values), CLOUDS.public, {
    log: testLog(),
    clock: systemClock(),
    env,
    signal: undefined,
    getIdToken: async (audience) => {
      tokens.push(audience);
      return 'id-token';
    },
  });
  return { made, tokens };
}

describe('createServices', () => {
  it('signs in only when a stage first reaches a cloud, so a run that needs none never does', () => {
    // auth: oidc without GitHub's token endpoint cannot work: that is found out on first use, not before.
    const { made, tokens } = services({
      'image-id': IMAGE,
      'tenant-id': 'contoso.onmicrosoft.com',
      'client-id': '0f0e0d0c-0b0a-0908-0706-050403020100',
    });
    expect(tokens).toEqual([]);
    expect(() => made.graph).toThrow(AuthSetupError);
    expect(() => made.images()).toThrow(AuthSetupError);
  });

  it('builds each client once and hands the same one to every stage', () => {
    const { made } = services({
      'image-id': IMAGE,
      auth: 'azure-cli',
      'subscription-id': '11111111-2222-3333-4444-555555555555',
    });
    const graph = made.graph;
    expect(made.graph).toBe(graph);
    const images = made.images();
    expect(made.images()).toBe(images);
    const marketplace = made.marketplace();
    expect(made.marketplace()).toBe(marketplace);
    // One request policy for all of them: the deadline the pipeline sets is the one Graph follows.
    expect(graph.policy).toBe(made.policy);
  });
});
