import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { INPUTS } from '../../src/config/inputs.ts';
import type { Outputs } from '../../src/report/publish.ts';

const root = resolve(import.meta.dirname, '../..');
const action = parse(readFileSync(resolve(root, 'action.yml'), 'utf8')) as {
  runs: { using: string; main: string };
  inputs: Record<string, { description: string; default?: string }>;
  outputs: Record<string, { description: string }>;
  branding: { icon: string; color: string };
};
const readme = readFileSync(resolve(root, 'README.md'), 'utf8');
const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as {
  type: string;
  engines: { node: string };
  bin: Record<string, string>;
};

describe('action.yml', () => {
  it('runs the bundle on node24', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js' });
    expect(action.branding.icon).toBeTruthy();
  });

  it('declares exactly the inputs the code reads, with the same defaults', () => {
    expect(Object.keys(action.inputs).sort()).toEqual(INPUTS.map((i) => i.name).sort());
    for (const input of INPUTS) expect(action.inputs[input.name]?.default, input.name).toBe(input.default);
  });

  it('declares exactly the outputs the code sets', () => {
    const outputs: Record<keyof Outputs, true> = {
      'image-id': true,
      'device-image-id': true,
      'display-name': true,
      version: true,
      status: true,
      'updated-policies': true,
      'deleted-images': true,
      'report-path': true,
      'base-image-version': true,
      changed: true,
      'record-artifact': true,
    };
    expect(Object.keys(action.outputs).sort()).toEqual(Object.keys(outputs).sort());
  });

  it('has every input and output documented in the README', () => {
    for (const name of [...Object.keys(action.inputs), ...Object.keys(action.outputs)]) {
      expect(readme, name).toContain(`| \`${name}\` |`);
    }
  });
});

describe('package.json', () => {
  it('is ESM on Node 24 with the w365-image command', () => {
    expect(pkg.type).toBe('module');
    expect(pkg.engines.node).toBe('>=24');
    expect(pkg.bin['w365-image']).toBe('dist/index.js');
  });
});
