import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceImage } from '../../src/graph/deviceImages.ts';
import { planRollout } from '../../src/rollout/plan.ts';
import { renderRolloutPlan } from '../../src/report/rolloutPlan.ts';
import { dryRunSection, rolloutSection } from '../../src/report/rolloutSection.ts';
import { imageId, seedFullTenant, startEnv, type Env } from '../rollout/support.ts';

let env: Env | undefined;
afterEach(async () => {
  await env?.fake.close();
  env = undefined;
});

const cellsOf = (row: string) => row.split(/(?<!\\)\|/).slice(1, -1);

async function fullTenantPlan(keep: number) {
  env = await startEnv();
  const seed = seedFullTenant(env);
  const plan = await planRollout(
    {
      displayName: 'Corp',
      version: '1.0.5',
      source: imageId(seed.source.id),
      policyRefs: ['Sales', 'Engineering'],
      keep,
      deleteSourceImage: keep > 0,
      uploadRetries: 1,
    },
    { graph: env.graph, images: env.images, log: env.log },
  );
  return { plan, ...seed };
}

describe('renderRolloutPlan', () => {
  it('lists every step of the plan in one table, then the notes', async () => {
    const { plan, corp, sales, source } = await fullTenantPlan(3);
    const md = renderRolloutPlan(plan).join('\n');
    expect(md).toContain('| Step | Action | Target | Detail |');
    expect(md).toContain(
      `| Free a slot | delete | 'Corp' 1.0.0 (\`${(corp[0] as DeviceImage).id}\`, ready) |`,
    );
    expect(md).toContain(`| Policy | repoint | Sales (\`${sales.id}\`) |`);
    expect(md).toContain("| Prune | delete | 'Corp' 1.0.2");
    expect(md).toContain('| Prune | keep (in-use) |');
    expect(md).toContain(`| Source image | delete | \`${source.id}\` |`);
    expect(md).toMatch(/keep their current image until they are reprovisioned/);
    for (const row of md.split('\n').filter((l) => l.startsWith('| '))) expect(cellsOf(row)).toHaveLength(4);
  });

  it('says the slot is blocked when the tenant is full and nothing may be pruned', async () => {
    const { plan } = await fullTenantPlan(0);
    expect(renderRolloutPlan(plan).join('\n')).toContain('| Free a slot | **blocked** | 20 of 20 images |');
  });

  it('keeps names from the tenant inside their cells', async () => {
    env = await startEnv();
    const hostile = 'Sales | `rm` <img src=x> [x](https://evil.invalid)';
    const image = env.fake.addDeviceImage({ displayName: 'Corp', version: '1.0.0' });
    env.fake.addProvisioningPolicy({ displayName: hostile, imageId: image.id, imageType: 'custom' });
    const plan = await planRollout(
      {
        displayName: 'Corp',
        version: '1.0.1',
        source: undefined,
        policyRefs: [hostile],
        keep: 1,
        deleteSourceImage: false,
        uploadRetries: 0,
      },
      { graph: env.graph, log: env.log },
    );
    const row = renderRolloutPlan(plan).find((l) => l.startsWith('| Policy |')) ?? '';
    expect(cellsOf(row)).toHaveLength(4);
    expect(row).toContain('Sales \\| \\`rm\\` \\<img src=x\\> \\[x\\]\\(https://evil.invalid\\)');
  });
});

describe("the report's rollout section", () => {
  it('for a dry run: the plan as the summary, the planned changes as the fields', async () => {
    const { plan, sales, eng, corp } = await fullTenantPlan(3);
    const section = dryRunSection(plan, ['The image checks: build: validate builds no image.']);
    expect(section.dryRun).toBe(true);
    expect(section.updatedPolicies).toEqual([sales.id, eng.id]);
    expect(section.deletedImages).toEqual([(corp[2] as DeviceImage).id]);
    expect(section.summary[0]).toBe('### Dry run: what a real run would do');
    expect(section.summary.slice(-2)).toEqual([
      '**Not checked in this dry run:**',
      '- The image checks: build: validate builds no image.',
    ]);
  });

  it('for a real run: what changed, with names from the tenant escaped', () => {
    const image = (displayName: string, version: string): DeviceImage => ({
      id: `id-${version}`,
      displayName,
      version,
      sourceImageResourceId: '',
      status: 'ready',
    });
    const section = rolloutSection(
      { deleted: [{ image: image('Corp', '1.0.0'), outcome: 'deleted', detail: '' }], skipped: [], kept: [] },
      undefined,
      {
        repoint: {
          image: { id: 'new', displayName: 'Corp', version: '1.0.5' },
          policies: [
            {
              policyId: 'p1',
              policyName: 'A | B',
              action: 'patched',
              from: { imageId: 'old', imageDisplayName: 'Corp', imageType: 'custom' },
              to: { imageId: 'new', imageDisplayName: 'Corp', imageType: 'custom' },
            },
          ],
          note: '',
        },
        prune: {
          deleted: [{ image: image('Corp <b>', '1.0.1'), outcome: 'already-gone', detail: '' }],
          skipped: [],
          kept: [],
        },
        source: { action: 'deleted', imageId: '/subscriptions/s/images/x' },
      },
    );
    expect(section).toMatchObject({ dryRun: false, updatedPolicies: ['p1'], deletedImages: ['id-1.0.0'] });
    const row = section.summary.find((l) => l.startsWith('| A'));
    expect(row).toBe("| A \\| B | custom image 'Corp' \\(old\\) | custom image 'Corp' \\(new\\) | patched |");
    expect(section.summary).toContain("- Deleted device image 'Corp \\<b\\>' 1.0.1 (already-gone).");
    expect(section.summary).toContain('- Source managed image deleted: `/subscriptions/s/images/x`');
  });
});
