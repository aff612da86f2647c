import { afterEach, describe, expect, it } from 'vitest';
import type { ProvisioningPolicy } from '../../src/graph/provisioningPolicies.ts';
import { RolloutError } from '../../src/rollout/errors.ts';
import {
  loadPolicies,
  PolicyRefError,
  repointPolicies,
  resolvePolicies,
  REPROVISION_NOTE,
} from '../../src/rollout/policies.ts';
import { policyImage, startEnv, writes, type Env } from './support.ts';

const policy = (id: string, displayName: string, imageId = 'gallery-x'): ProvisioningPolicy => ({
  id,
  displayName,
  imageId,
  imageDisplayName: 'Windows 11',
  imageType: 'gallery',
});

const A = '11111111-1111-4111-8111-111111111111';
const B = '22222222-2222-4222-8222-222222222222';
const C = '33333333-3333-4333-8333-333333333333';

describe('resolvePolicies', () => {
  const all = [policy(A, 'Sales'), policy(B, 'Engineering'), policy(C, 'Engineering')];

  it('maps IDs (any case) and exact display names, ignoring blanks and duplicates', () => {
    const resolved = resolvePolicies(['Sales', ` ${B.toUpperCase()} `, '', A], all);
    expect(resolved.map((r) => [r.policy.id, r.matchedBy])).toEqual([
      [A, 'displayName'],
      [B, 'id'],
    ]);
  });

  it('lists every unknown and ambiguous entry in one error', () => {
    let error: unknown;
    try {
      resolvePolicies(['sales', 'Engineering', 'Marketing', '44444444-4444-4444-8444-444444444444'], all);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PolicyRefError);
    const e = error as PolicyRefError;
    expect(e.kind).toBe('policy-refs');
    expect(e.unknown.map((u) => u.ref)).toEqual([
      'sales',
      'Marketing',
      '44444444-4444-4444-8444-444444444444',
    ]);
    expect(e.unknown[0]?.similar).toEqual(['Sales']);
    expect(e.ambiguous).toEqual([
      {
        ref: 'Engineering',
        policies: [
          { id: B, displayName: 'Engineering' },
          { id: C, displayName: 'Engineering' },
        ],
      },
    ]);
    expect(e.message).toContain("did you mean 'Sales'");
    expect(e.message).toContain(`give the policy ID instead`);
    expect(e.message).toContain('no policy was changed');
  });
});

describe('repointPolicies against the fake cloud', () => {
  let env: Env;
  afterEach(async () => env.fake.close());

  async function setup() {
    env = await startEnv();
    const { fake } = env;
    const old = fake.addDeviceImage({ displayName: 'Win11 Corp', version: '1.0.0' });
    const ready = fake.addDeviceImage({ displayName: 'Win11 Corp', version: '1.0.1' });
    const pending = fake.addDeviceImage({
      displayName: 'Win11 Corp',
      version: '1.0.2',
      status: 'pending',
      uploadOutcome: 'never',
    });
    const sales = fake.addProvisioningPolicy({ displayName: 'Sales', imageId: old.id, imageType: 'custom' });
    const eng = fake.addProvisioningPolicy({
      displayName: 'Engineering',
      imageId: 'MicrosoftWindowsDesktop_windows-ent-cpc_win11-24h2-ent-cpc',
      imageDisplayName: 'Windows 11 Enterprise 24H2',
      imageType: 'gallery',
    });
    const other = fake.addProvisioningPolicy({ displayName: 'Other', imageId: old.id, imageType: 'custom' });
    // More policies than a page (page size 3), so the list must follow nextLink.
    for (let i = 0; i < 4; i++) {
      fake.addProvisioningPolicy({ displayName: `Filler ${i}`, imageId: 'g', imageType: 'gallery' });
    }
    return { old, ready, pending, sales, eng, other };
  }

  it('points each policy at the image and reports old and new, then skips them on a re-run', async () => {
    const { old, ready, sales, eng, other } = await setup();
    const { graph, log, fake } = env;
    const { resolved, all } = await loadPolicies(graph, ['Sales', eng.id]);
    expect(all).toHaveLength(7);
    const first = await repointPolicies(resolved, ready.id, { graph, log });

    expect(policyImage(fake, sales.id)).toBe(ready.id);
    expect(policyImage(fake, eng.id)).toBe(ready.id);
    expect(policyImage(fake, other.id)).toBe(old.id);
    const engState = (
      fake.snapshot() as { provisioningPolicies: ProvisioningPolicy[] }
    ).provisioningPolicies.find((p) => p.id === eng.id);
    expect(engState).toMatchObject({ imageType: 'custom', imageDisplayName: 'Win11 Corp' });
    expect(first.policies).toEqual([
      {
        policyId: sales.id,
        policyName: 'Sales',
        action: 'patched',
        from: { imageId: old.id, imageDisplayName: old.id, imageType: 'custom' },
        to: { imageId: ready.id, imageDisplayName: 'Win11 Corp', imageType: 'custom' },
      },
      {
        policyId: eng.id,
        policyName: 'Engineering',
        action: 'patched',
        from: {
          imageId: 'MicrosoftWindowsDesktop_windows-ent-cpc_win11-24h2-ent-cpc',
          imageDisplayName: 'Windows 11 Enterprise 24H2',
          imageType: 'gallery',
        },
        to: { imageId: ready.id, imageDisplayName: 'Win11 Corp', imageType: 'custom' },
      },
    ]);
    expect(first.note).toBe(REPROVISION_NOTE);
    expect(first.note).toMatch(/keep their current image until they are reprovisioned/);
    expect(fake.counters.policyPatches).toBe(2);

    const again = await repointPolicies((await loadPolicies(graph, ['Sales', eng.id])).resolved, ready.id, {
      graph,
      log,
    });
    expect(again.policies.map((p) => p.action)).toEqual(['unchanged', 'unchanged']);
    expect(fake.counters.policyPatches).toBe(2);
  });

  it('fails on an unknown policy before any PATCH', async () => {
    const { ready } = await setup();
    const { graph } = env;
    await expect(loadPolicies(graph, ['Sales', 'Nope'])).rejects.toThrow(PolicyRefError);
    await expect(loadPolicies(graph, ['Sales', 'Nope'])).rejects.toThrow(
      /'Nope' matches no provisioning policy/,
    );
    expect(env.fake.counters.policyPatches).toBe(0);
    expect(writes(env.fake)).toEqual([]);
    expect(ready.status).toBe('ready');
  });

  it('fails on a display name two policies share, before any PATCH', async () => {
    await setup();
    const twin = env.fake.addProvisioningPolicy({ displayName: 'Sales', imageId: 'g', imageType: 'gallery' });
    const error = await loadPolicies(env.graph, ['Engineering', 'Sales']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PolicyRefError);
    expect((error as PolicyRefError).ambiguous[0]?.policies.map((p) => p.id)).toContain(twin.id);
    expect(writes(env.fake)).toEqual([]);
  });

  it('refuses to point a policy at an image that is not ready, or gone', async () => {
    const { pending, sales } = await setup();
    const { graph, log } = env;
    const { resolved } = await loadPolicies(graph, [sales.id]);
    const error = await repointPolicies(resolved, pending.id, { graph, log }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RolloutError);
    expect((error as RolloutError).kind).toBe('image-not-ready');
    expect((error as Error).message).toMatch(/is pending, not ready; no policy was changed/);
    await expect(
      repointPolicies(resolved, '99999999-9999-4999-8999-999999999999', { graph, log }),
    ).rejects.toThrow(/no longer exists/);
    expect(env.fake.counters.policyPatches).toBe(0);
  });
});
