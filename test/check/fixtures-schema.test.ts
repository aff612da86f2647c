import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { schemaErrors } from '../powershell/json-schema.ts';

const dir = fileURLToPath(new URL('../fixtures/facts/', import.meta.url));
const schema = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../packer/facts.schema.json', import.meta.url)), 'utf8'),
);
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'unknown-schema-version.json');

// The guest side writes these documents (test/powershell checks facts.ps1's real output against the same schema
// and the clean fixture's shape), so a fixture the schema rejects is a fixture facts.ps1 could never write.
describe('facts fixtures match packer/facts.schema.json', () => {
  it.each(fixtures)('%s', (name) => {
    expect(schemaErrors(schema, JSON.parse(readFileSync(`${dir}${name}`, 'utf8')))).toEqual([]);
  });

  it('the validator rejects a document facts.ps1 could not write', () => {
    const clean = JSON.parse(readFileSync(`${dir}clean-win11-25h2.json`, 'utf8'));
    clean.os.currentBuild = '26200';
    delete clean.buildVm;
    clean.extra = true;
    clean.inventory.programs[0].view = '16-bit';
    expect(schemaErrors(schema, clean)).toEqual([
      '$: missing required "buildVm"',
      '$.os.currentBuild: must be integer or null, is string',
      '$.inventory.programs[0].view: must be one of ["64-bit","32-bit"]',
      '$: unexpected property "extra"',
    ]);
  });
});
