import { describe, expect, it } from 'vitest';
import { parseManagedImageId } from '../../src/azure/resourceId.ts';

const SUB = '11111111-2222-3333-4444-555555555555';

describe('parseManagedImageId', () => {
  it('parses a managed image ID, any case, trailing slash tolerated', () => {
    const parsed = parseManagedImageId(
      `/SUBSCRIPTIONS/${SUB}/resourcegroups/My-RG/providers/microsoft.compute/IMAGES/win11-cpc_1/`,
    );
    expect(parsed).toEqual({
      ok: true,
      value: {
        id: `/subscriptions/${SUB}/resourceGroups/My-RG/providers/Microsoft.Compute/images/win11-cpc_1`,
        subscriptionId: SUB,
        resourceGroup: 'My-RG',
        name: 'win11-cpc_1',
      },
    });
  });

  it.each([
    [
      `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/def/versions/1.0.0`,
      'Compute Gallery',
    ],
    ['https://acct.blob.core.windows.net/vhds/os.vhd', 'VHD URL'],
    ['MicrosoftWindowsDesktop:windows-ent-cpc:win11-25h2-ent-cpc:latest', 'Marketplace image URN'],
    [`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/snapshots/s`, 'snapshot'],
    [
      `/subscriptions/not-a-guid/resourceGroups/rg/providers/Microsoft.Compute/images/img`,
      'not a managed image',
    ],
    [`/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/images/-bad`, 'does not allow'],
    [`/subscriptions/${SUB}/resourceGroups/rg./providers/Microsoft.Compute/images/img`, 'ending in a period'],
  ])('explains %s', (raw, words) => {
    const parsed = parseManagedImageId(raw);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.problem).toContain(words);
      expect(parsed.fix.length).toBeGreaterThan(10);
    }
  });
});
