import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { templateDigest, templateValues } from '../../src/imageBuild/templateInputs.ts';

const TEMPLATE = resolve(import.meta.dirname, '../../packer');

async function copyOfTemplate(): Promise<string> {
  const dir = join(await mkdtemp(join(tmpdir(), 'w365-template-')), 'packer');
  await cp(TEMPLATE, dir, { recursive: true });
  return dir;
}

describe('templateValues', () => {
  it("reads the template's defaults, then auto var files, var files and packer-vars, later winning", async () => {
    const dir = await copyOfTemplate();
    const defaults = await templateValues(dir, [], '');
    expect(defaults.get('image_sku')).toBe('win11-25h2-ent-cpc');
    expect(defaults.get('use_m365_sku')).toBe('false');
    expect(defaults.get('image_version')).toBe('latest');

    await writeFile(join(dir, 'site.auto.pkrvars.hcl'), 'image_sku = "win11-24h2-ent-cpc"\n');
    const varFile = join(await mkdtemp(join(tmpdir(), 'w365-vars-')), 'my.pkrvars.hcl');
    await writeFile(varFile, 'use_m365_sku  = true # the M365 twin\nlocation = "northeurope"\n');
    const values = await templateValues(dir, [varFile], 'location=swedencentral');
    expect(values.get('image_sku')).toBe('win11-24h2-ent-cpc');
    expect(values.get('use_m365_sku')).toBe('true');
    expect(values.get('location')).toBe('swedencentral');
  });
});

describe('templateDigest', () => {
  it('ignores the per-run image name and the base version, and sees every other change', async () => {
    const dir = await copyOfTemplate();
    const vars = 'image_sku=win11-25h2-ent-cpc\nlocation=westeurope';
    const first = await templateDigest(dir, [], `${vars}\nmanaged_image_name=img-1\nimage_version=1.2.3`);
    expect(first).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await templateDigest(dir, [], `managed_image_name=img-2\n${vars}`)).toBe(first);

    expect(await templateDigest(dir, [], `${vars}\nwindows_update=true`)).not.toBe(first);
    await writeFile(join(dir, 'scripts', 'sysprep.ps1'), '# changed\n', { flag: 'a' });
    expect(await templateDigest(dir, [], vars)).not.toBe(first);
  });
});
