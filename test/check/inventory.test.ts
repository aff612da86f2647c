import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readInventory } from '../../src/check/inventory.ts';

const FACTS = resolve(import.meta.dirname, '../fixtures/facts');

describe('readInventory', () => {
  it('reads the inventory section of the clean fixture', () => {
    const read = readInventory(JSON.parse(readFileSync(resolve(FACTS, 'clean-win11-25h2.json'), 'utf8')));
    expect(read.ok).toBe(true);
    if (!read.ok) return;
    expect(read.inventory.ubr).toBe(7171);
    expect(read.inventory.programs).toContainEqual({
      name: 'Remote Desktop WebRTC Redirector Service',
      version: '1.54.2408.19001',
      publisher: 'Microsoft Corporation',
      view: '64-bit',
    });
    expect(read.inventory.components.vcRedist).toHaveLength(1);
    expect(read.inventory.updates.map((u) => u.id)).toEqual(['KB5065789', 'KB5066835']);
  });

  it('says why there is no inventory: an older template, or the collector failed', () => {
    const older = readInventory(JSON.parse(readFileSync(resolve(FACTS, 'bitlocker-on.json'), 'utf8')));
    expect(older).toEqual({ ok: false, reason: expect.stringContaining("no 'inventory' section") });
    const failed = readInventory({ inventory: { error: 'System.UnauthorizedAccessException: denied' } });
    expect(failed).toEqual({ ok: false, reason: expect.stringContaining('UnauthorizedAccessException') });
  });

  it('drops malformed items instead of failing', () => {
    const read = readInventory({
      inventory: {
        currentBuild: '26200',
        ubr: 7171,
        programs: [{ version: '1' }, 'x', { name: 'Ok', view: 'bogus' }],
        appx: [{ name: 'A' }],
        updates: [{ id: 'KB1' }],
        components: null,
        error: null,
      },
    });
    expect(read.ok && read.inventory).toMatchObject({
      currentBuild: null,
      programs: [{ name: 'Ok', version: null, view: '64-bit' }],
      appx: [],
      updates: [{ id: 'KB1', description: null, installedOn: null }],
      components: { edge: null, vcRedist: [] },
    });
  });
});
