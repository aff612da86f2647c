import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FactsError, MAX_FACT_STRING, factsSchemaErrors, parseFacts } from '../../src/check/facts.ts';

const dir = fileURLToPath(new URL('../fixtures/facts/', import.meta.url));
const SCHEMA_PATH = fileURLToPath(new URL('../../packer/facts.schema.json', import.meta.url));
const DIST = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as Record<string, unknown>;
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'unknown-schema-version.json');

/** The parts of the clean fixture these tests edit. */
interface Doc {
  [key: string]: unknown;
  os: Record<string, unknown>;
  partitions: { items: Array<Record<string, unknown>> };
  avdAndFslogix: { fslogixProducts: unknown[] };
  teams: Record<string, unknown>;
  appx: { provisionedPackageNames: string[] };
  inventory: { programs: Array<Record<string, unknown>> };
}
const clean = (): Doc => JSON.parse(readFileSync(`${dir}clean-win11-25h2.json`, 'utf8')) as Doc;
const parse = (document: unknown) => parseFacts(JSON.stringify(document), 'edited.json');
const reason = (section: { readable: boolean; reason?: string }) =>
  section.readable ? 'readable' : section.reason;

// The guest side writes these documents (test/powershell checks facts.ps1's real output with the same validator and
// the clean fixture's shape), so a fixture the schema rejects is a fixture facts.ps1 could never write.
describe('facts fixtures match packer/facts.schema.json', () => {
  it.each(fixtures)('%s', (name) => {
    expect(factsSchemaErrors(JSON.parse(readFileSync(`${dir}${name}`, 'utf8')))).toEqual([]);
  });

  it('the validator reports the first problem of each part of a document facts.ps1 could not write', () => {
    const document = clean();
    document.os.currentBuild = '26200';
    delete document.buildVm;
    document.extra = true;
    document.inventory.programs[0]!.view = '16-bit';
    expect(factsSchemaErrors(document)).toEqual([
      'the document has the property "extra", which packer/facts.schema.json does not define',
      'os.currentBuild is the string "26200", but packer/facts.schema.json expects an integer or null',
      'buildVm is missing; packer/facts.schema.json requires it',
      'inventory.programs[0].view is the string "16-bit", but packer/facts.schema.json allows only ["64-bit","32-bit"]',
    ]);
  });

  it('is valid JSON Schema 2020-12 using only keywords a strict validator knows', () => {
    const ajv = new Ajv2020({ strict: true, allowUnionTypes: true });
    ajv.addFormat('date-time', true);
    expect(ajv.validateSchema(schema), JSON.stringify(ajv.errors)).toBe(true);
    expect(() => ajv.compile(schema)).not.toThrow();
  });
});

describe('the schema decides what a readable section is', () => {
  it('constraints the old field readers never had make the section unreadable and name the path', () => {
    const document = clean();
    document.os.servicePack = 'SP1';
    delete document.partitions.items[1]!.gptType;
    document.avdAndFslogix.fslogixProducts.push({
      displayName: 'FSLogix',
      displayVersion: null,
    });
    document.teams.error = 5;
    const facts = parse(document);
    expect(reason(facts.os)).toBe(
      'os has the property "servicePack", which packer/facts.schema.json does not define',
    );
    expect(reason(facts.partitions)).toBe(
      'partitions.items[1].gptType is missing; packer/facts.schema.json requires it',
    );
    expect(reason(facts.avdAndFslogix)).toBe(
      'avdAndFslogix.fslogixProducts[0].displayVersion is null, but packer/facts.schema.json expects a string',
    );
    expect(reason(facts.teams)).toBe(
      'teams.error is a number (5), but packer/facts.schema.json expects a string or null',
    );
    expect(facts.imageState.readable).toBe(true);
  });

  it('strings over MAX_FACT_STRING break the schema, which bounds every string a rule reads', () => {
    const bounds: Array<[string, unknown]> = [];
    const visit = (node: unknown, where: string): void => {
      if (!node || typeof node !== 'object') return;
      const record = node as Record<string, unknown>;
      const types = [record.type].flat();
      if (types.includes('string') && !/\.(error|collector\.\w+)$/.test(where))
        bounds.push([where, record.maxLength]);
      for (const [key, child] of Object.entries((record.properties ?? {}) as Record<string, unknown>))
        if (!(where === '$' && key === 'inventory')) visit(child, `${where}.${key}`);
      visit(record.items, `${where}[]`);
    };
    visit(schema, '$');
    visit((schema.$defs as Record<string, unknown>).installedProduct, '$defs.installedProduct');
    expect(bounds.length).toBeGreaterThan(50);
    expect(bounds.filter(([, max]) => max !== MAX_FACT_STRING)).toEqual([]);

    const document = clean();
    document.appx.provisionedPackageNames[2] = 'P'.repeat(MAX_FACT_STRING + 1);
    expect(reason(parse(document).appx)).toBe(
      `appx.provisionedPackageNames[2] is the string "${'P'.repeat(40)}"… (4097 characters), but packer/facts.schema.json says it must NOT have more than 4096 characters`,
    );
  });

  it('a section with an error is unreadable for the VM reason, whatever else it holds', () => {
    const document = clean();
    document.mdm = { enrollments: 'garbage', error: 'System.UnauthorizedAccessException: denied' };
    expect(reason(parse(document).mdm)).toBe(
      "the VM could not read 'mdm': System.UnauthorizedAccessException: denied",
    );
  });

  it('a problem outside every section refuses the document, naming the path and the fix', () => {
    const document = clean();
    document.collectedAt = 'yesterday';
    const error = (() => {
      try {
        return parse(document);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(FactsError);
    expect((error as FactsError).code).toBe('facts-schema-mismatch');
    expect((error as FactsError).message).toBe(
      'The facts file edited.json does not match packer/facts.schema.json: collectedAt is the string "yesterday", but packer/facts.schema.json says it must match format "date-time". Pass the file packer/scripts/facts.ps1 wrote, with the packer/ template of the same w365-image release as the action; do not edit it by hand.',
    );
    delete document.collector;
    expect(() => parse(document)).toThrow('collector is missing; packer/facts.schema.json requires it');
  });
});

describe('the validator reads packer/facts.schema.json itself', () => {
  afterEach(() => {
    vi.doUnmock('../../packer/facts.schema.json');
    vi.resetModules();
  });

  it('a constraint added to the schema is enforced with no code change', async () => {
    const stricter = structuredClone(schema) as {
      properties: { os: { properties: { currentBuild: Record<string, unknown> } } };
    };
    stricter.properties.os.properties.currentBuild.minimum = 22000;
    vi.resetModules();
    vi.doMock('../../packer/facts.schema.json', () => ({ default: stricter }));
    const facts = await import('../../src/check/facts.ts');
    const document = clean();
    document.os.currentBuild = 19045;
    const parsed = facts.parseFacts(JSON.stringify(document), 'win10.json');
    expect(reason(parsed.os)).toBe(
      'os.currentBuild is a number (19045), but packer/facts.schema.json says it must be >= 22000',
    );
  });

  it('the bundle enforces the schema file: dist/index.js refuses what only the schema forbids', () => {
    const document = clean();
    document.os.servicePack = 'SP1';
    const file = join(mkdtempSync(join(tmpdir(), 'w365-facts-schema-')), 'facts.json');
    writeFileSync(file, JSON.stringify(document));
    const run = spawnSync(process.execPath, [DIST, 'sysprep-check', '--facts', file], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(1);
    expect(run.stdout).toMatch(
      /^UNVERIFIED!\s+vm\.edition\s+\(R1\)\s+Cannot verify: os has the property "servicePack", which packer\/facts\.schema\.json does not define\./m,
    );
    expect(readFileSync(DIST, 'utf8')).toContain(JSON.stringify(schema.$id));
  });
});
