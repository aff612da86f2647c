import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SYSPREP_RULES } from '../../src/check/rules.ts';
import { ERROR_CODES } from '../../src/graph/errorCodes.ts';
import { IMAGE_CHECKS } from '../../src/validate/validate.ts';
import { BASE_CHECK_IDS } from '../../src/base/base.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const doc = readFileSync(join(ROOT, 'docs', 'troubleshooting.md'), 'utf8');

/** Error codes are types: read a union's members from the source so a new code cannot go undocumented. */
function unionMembers(file: string[], type: string): string[] {
  const source = readFileSync(join(ROOT, 'src', ...file), 'utf8');
  const union = new RegExp(`export type ${type} =([^;]+);`).exec(source)?.[1] ?? '';
  return [...union.matchAll(/'([^']+)'/g)].map((m) => m[1] ?? '');
}
const buildErrorCodes = () => unionMembers(['imageBuild', 'packerBuild.ts'], 'BuildErrorCode');
const rolloutErrorKinds = () => [
  ...unionMembers(['results', 'registration.ts'], 'RegistrationErrorKind'),
  ...unionMembers(['rollout', 'errors.ts'], 'RolloutErrorKind'),
  ...unionMembers(['net', 'failures.ts'], 'RunFailureKind'),
];

/** Checks built outside IMAGE_CHECKS: read every `id: '...'` in validate.ts. */
function validateIds(): string[] {
  const source = readFileSync(join(ROOT, 'src', 'validate', 'validate.ts'), 'utf8');
  return [...source.matchAll(/\bid: '([a-z][\w.-]+)'/g)].map((m) => m[1] ?? '');
}

/** The id as a table cell of the doc: `id` at the start of a row. */
const documented = (id: string) => doc.includes(`| \`${id}\` |`);

describe('docs/troubleshooting.md', () => {
  it.each([
    ...new Set([...IMAGE_CHECKS.map((c) => c.id), ...validateIds(), 'image-id.shape', 'image.readable']),
  ])('explains image check %s', (id) => expect(documented(id)).toBe(true));

  it.each(BASE_CHECK_IDS)('explains base image check %s', (id) => expect(documented(id)).toBe(true));

  it.each(['base:unresolved', 'freshness:unavailable'])('explains the run error %s', (kind) =>
    expect(documented(kind)).toBe(true),
  );

  it.each(SYSPREP_RULES.map((r) => r.id))('explains VM check %s', (id) => expect(documented(id)).toBe(true));

  it.each(Object.keys(ERROR_CODES))('explains Graph errorCode %s', (code) =>
    expect(documented(code)).toBe(true),
  );

  it('finds the build error codes in the source', () => {
    expect(buildErrorCodes()).toEqual(
      expect.arrayContaining(['packer-missing', 'validate-failed', 'facts-missing']),
    );
  });

  it.each(buildErrorCodes())('explains build error %s', (code) => expect(documented(code)).toBe(true));

  it('finds the registration and rollout error kinds in the source', () => {
    expect(rolloutErrorKinds()).toEqual(
      expect.arrayContaining(['image-limit', 'conflict', 'policy-refs', 'auth', 'deadline']),
    );
  });

  it.each(rolloutErrorKinds())('explains registration or rollout error %s', (kind) =>
    expect(documented(kind)).toBe(true),
  );

  it('has a cause and a fix for every row', () => {
    const rows = doc.split('\n').filter((l) => /^\| `[^`]+` \|/.test(l) && !l.includes('| Cause | Fix |'));
    expect(rows.length).toBeGreaterThan(40);
    for (const row of rows) {
      const cells = row
        .split(/(?<!\\)\|/)
        .slice(1, -1)
        .map((c) => c.trim());
      expect(cells, row).toHaveLength(3);
      expect(
        cells.every((c) => c.length > 5),
        row,
      ).toBe(true);
    }
  });
});
