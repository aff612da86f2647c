import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { currentBuildSequence } from './build-sequence.ts';
import { repoRoot } from './helpers/repo.ts';

describe('the PowerShell suite builds what the template builds', () => {
  it('test/powershell/build-sequence.json is the template provisioner sequence, variables and locals', async () => {
    const written = JSON.parse(
      readFileSync(path.join(repoRoot, 'test/powershell/build-sequence.json'), 'utf8'),
    );
    // After a template change: node test/packer/build-sequence.ts > test/powershell/build-sequence.json
    expect(written).toEqual(await currentBuildSequence());
  });
});
