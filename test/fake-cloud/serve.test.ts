import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { describe, expect, it } from 'vitest';

describe('serve.ts', () => {
  it('prints its connection details, serves a sample image, and stops on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [
        join(import.meta.dirname, '..', '..', 'fake-cloud', 'serve.ts'),
        '--time-scale',
        '60',
        '--upload-seconds',
        '30',
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      const lines = createInterface({ input: child.stdout });
      const [line] = (await once(lines, 'line')) as [string];
      const info = JSON.parse(line) as Record<string, string>;
      expect(Object.keys(info).sort()).toEqual(
        [
          'caFile',
          'clientId',
          'oidcRequestToken',
          'oidcRequestUrl',
          'sampleImageId',
          'subscriptionId',
          'tenantId',
          'url',
        ].sort(),
      );
      const caFile = info.caFile ?? '';
      setDefaultCACertificates([...getCACertificates('default'), await readFile(caFile, 'utf8')]);
      const state = (await (await fetch(`${info.url}/_fake/state`)).json()) as {
        managedImages: Array<{ id: string }>;
      };
      expect(state.managedImages.map((i) => i.id)).toEqual([info.sampleImageId]);
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
