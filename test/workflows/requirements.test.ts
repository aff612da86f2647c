import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SYSPREP_RULES } from '../../src/check/rules.ts';
import { IMAGE_CHECKS } from '../../src/validate/validate.ts';
import { repoRoot, trackedFiles } from './repoPaths.ts';

const DOC = 'docs/requirements.md';
const doc = readFileSync(join(repoRoot, DOC), 'utf8');

/** R-number -> its table row in docs/requirements.md. */
function definitions(text: string): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\| (R\d+) \|/.exec(line);
    if (m?.[1]) {
      if (rows.has(m[1])) throw new Error(`${m[1]} is defined twice`);
      rows.set(m[1], line);
    }
  }
  return rows;
}

/** Every R-number a project file uses (tests may invent some for their fixtures). */
function usedNumbers(): Array<{ file: string; number: string }> {
  return trackedFiles()
    .filter((f) => !f.startsWith('test/') && f !== DOC)
    .flatMap((file) => {
      const text = readFileSync(join(repoRoot, file), 'utf8');
      return [...text.matchAll(/\bR(\d{1,2})\b/g)].map((m) => ({ file, number: `R${m[1]}` }));
    });
}

describe('docs/requirements.md defines the R-numbers', () => {
  const rows = definitions(doc);

  it('defines R1 to R15, each once, and names its Microsoft Learn sources', () => {
    expect([...rows.keys()]).toEqual(Array.from({ length: 15 }, (_, i) => `R${i + 1}`));
    expect(doc).toContain('https://learn.microsoft.com/windows-365/enterprise/device-images');
    expect(doc).toContain('https://learn.microsoft.com/windows-365/enterprise/add-device-images');
    expect(doc).toMatch(/does not number them/);
  });

  it.each([
    ...IMAGE_CHECKS.map((c) => [c.id, c.requirement] as const),
    ...SYSPREP_RULES.filter((r) => /^R\d+$/.test(r.requirement)).map((r) => [r.id, r.requirement] as const),
    ['image-id.shape', 'R11'] as const,
    ['image.readable', 'R11'] as const,
  ])('lists check %s under %s', (id, requirement) => {
    expect(rows.get(requirement) ?? '', `${requirement} row`).toContain(`\`${id}\``);
  });

  it('every R-number used in the sources and docs is defined there', () => {
    const used = usedNumbers();
    expect(used.length).toBeGreaterThan(20);
    expect(used.filter((u) => !rows.has(u.number))).toEqual([]);
  });

  it('every file that introduces the R-numbers points to it instead of claiming Learn numbers them', () => {
    const introducing = trackedFiles().filter((f) => {
      if (f.startsWith('test/') || f === DOC) return false;
      return /R1\s*(?:-|\.\.|to)\s*R15|R-numbers|Requirement numbers/i.test(
        readFileSync(join(repoRoot, f), 'utf8'),
      );
    });
    expect(introducing).toEqual(expect.arrayContaining(['README.md', 'docs/troubleshooting.md']));
    for (const file of introducing)
      expect(readFileSync(join(repoRoot, file), 'utf8'), file).toContain('requirements.md');
  });
});
