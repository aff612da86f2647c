import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findFacts, readManifest } from '../../src/imageBuild/manifest.ts';

const image = (name: string) =>
  `/subscriptions/8c3f2a71-5d4e-4b6a-9f10-2e7d5c9b1a04/resourceGroups/rg-w365-images/providers/Microsoft.Compute/images/${name}`;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'w365-manifest-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function manifest(document: unknown): Promise<string> {
  const path = join(dir, 'packer-manifest.json');
  await writeFile(path, typeof document === 'string' ? document : JSON.stringify(document));
  return path;
}

const entry = (name: string, run: string) => ({
  name: 'cloudpc',
  builder_type: 'azure-arm',
  build_time: 1764150000,
  files: null,
  artifact_id: image(name),
  packer_run_uuid: run,
  custom_data: { 'w365-git-commit': 'abc' },
});

describe('readManifest', () => {
  it('takes the azure-arm build of the last run, not an earlier one appended before it', async () => {
    const path = await manifest({
      builds: [entry('new', 'run-2'), entry('old', 'run-1')],
      last_run_uuid: 'run-2',
    });
    const build = await readManifest(path);
    expect(build.artifactId).toBe(image('new'));
    expect(build.customData).toEqual({ 'w365-git-commit': 'abc' });
  });

  it('a missing manifest is manifest-missing and says where it looked', async () => {
    await expect(readManifest(join(dir, 'nope.json'))).rejects.toMatchObject({
      code: 'manifest-missing',
      message: expect.stringContaining('nope.json'),
    });
  });

  it.each([
    ['not json {', 'not valid JSON'],
    [{ last_run_uuid: 'x' }, "no 'builds' list"],
    [
      { builds: [{ ...entry('a', 'run-1'), builder_type: 'file' }], last_run_uuid: 'run-1' },
      'no azure-arm build',
    ],
    [
      { builds: [entry('a', 'run-1')], last_run_uuid: 'run-2' },
      'no azure-arm build for the last run (run-2)',
    ],
    [
      {
        builds: [{ ...entry('a', 'r'), artifact_id: 'https://acct.blob.core.windows.net/system/x.vhd' }],
        last_run_uuid: 'r',
      },
      'not a managed image resource ID',
    ],
  ])('%j -> manifest-missing (%s)', async (document, text) => {
    await expect(readManifest(await manifest(document))).rejects.toMatchObject({
      code: 'manifest-missing',
      message: expect.stringContaining(text),
    });
  });
});

describe('findFacts', () => {
  it('returns the path when the file exists and facts-missing otherwise', async () => {
    const path = join(dir, 'w365-facts.json');
    await writeFile(path, '{}');
    await expect(findFacts(path)).resolves.toBe(path);
    await expect(findFacts(join(dir, 'other.json'))).rejects.toMatchObject({ code: 'facts-missing' });
  });
});
