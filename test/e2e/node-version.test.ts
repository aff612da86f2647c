import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unsupportedNodeMessage } from '../../src/nodeVersion.ts';
import { DIST, spawnNode } from './harness.ts';

/**
 * Plays an older Node in this Node 24 process before dist/index.js loads: reports the given version and removes
 * `Set.prototype.union` (new in Node 22), which the bundled execa calls while loading, as Node 20 lacks it.
 */
function olderNode(version: string): string[] {
  const preload = [
    `Object.defineProperty(process, 'versions', { value: { ...process.versions, node: '${version}' } });`,
    'delete Set.prototype.union;',
  ].join('');
  return ['--import', `data:text/javascript,${encodeURIComponent(preload)}`];
}

const baseEnv = { PATH: process.env.PATH, HOME: process.env.HOME };

describe('dist/index.js on a Node older than 24', () => {
  it('as the action: one line naming Node 24 and npm ci, exit 2, no outputs and nothing else run', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'w365-node-'));
    const output = join(dir, 'output');
    await writeFile(output, '');
    const run = await spawnNode([...olderNode('20.20.2'), DIST], {
      ...baseEnv,
      GITHUB_ACTIONS: 'true',
      GITHUB_OUTPUT: output,
      INPUT_BUILD: 'true',
      'INPUT_SUBSCRIPTION-ID': '00000000-0000-0000-0000-000000000000',
    });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    const lines = run.stderr.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('needs Node.js 24 or newer, and this is Node.js 20.20.2');
    expect(lines[0]).toContain('`npm ci` installs Node.js 24 into node_modules/.bin');
    expect(run.stderr).not.toContain('TEXT_ENCODINGS');
    expect(await readFile(output, 'utf8')).toBe('');
  });

  it.each([['--help'], ['sysprep-check', '--facts', 'facts.json']])(
    'as the CLI (%s): the same line and exit 2',
    async (...args) => {
      const run = await spawnNode([...olderNode('22.11.0'), DIST, ...args], baseEnv);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr.trim()).toBe(unsupportedNodeMessage('22.11.0'));
    },
  );

  it('the same process on its own Node 24 runs normally', async () => {
    const run = await spawnNode([DIST, '--help'], baseEnv);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
  });
});

describe('unsupportedNodeMessage', () => {
  it.each(['20.20.2', '22.11.0', '23.9.0', '18.0.0', 'v24-nightly'])('refuses %s', (version) => {
    expect(unsupportedNodeMessage(version)).toContain(`Node.js 24 or newer, and this is Node.js ${version}`);
  });
  it.each(['24.0.0', '24.21.0', '25.2.1'])('accepts %s', (version) => {
    expect(unsupportedNodeMessage(version)).toBeUndefined();
  });
});
