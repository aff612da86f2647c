import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { releaseName, servicingOf, WINDOWS_RELEASES } from '../../src/check/releases.ts';
import { osDescription } from '../../src/report/summary.ts';

const SOURCE = join(import.meta.dirname, '..', '..', 'docs', 'sources', 'windows-release-information.md');

interface SourceRow {
  product: string;
  version: string;
  build: number;
  availability: string;
  enterpriseEndOfServicing: string;
}

/** The rows of the copied Microsoft Learn table. */
function sourceRows(): SourceRow[] {
  return readFileSync(SOURCE, 'utf8')
    .split('\n')
    .filter((line) => /^\| Windows 1[01] \|/.test(line))
    .map((line) => {
      const [product, version, build, availability, end] = line
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim());
      return {
        product: product ?? '',
        version: version ?? '',
        build: Number(build),
        availability: availability ?? '',
        enterpriseEndOfServicing: end ?? '',
      };
    });
}

describe('the Windows release table matches its source (docs/sources/windows-release-information.md)', () => {
  const rows = sourceRows();

  it('has every row of the source, build for build', () => {
    expect(rows.length).toBeGreaterThanOrEqual(11);
    const fromCode = WINDOWS_RELEASES.map((r) => [r.build, r.product, r.version, r.enterpriseEndOfServicing]);
    const fromSource = rows.map((r) => [r.build, r.product, r.version, r.enterpriseEndOfServicing]);
    expect(fromCode.sort()).toEqual(fromSource.sort());
  });

  it.each([
    [26100, 'Windows 11 24H2 (build 26100)'],
    [26200, 'Windows 11 25H2 (build 26200)'],
    [26300, 'Windows 11 26H2 (build 26300)'],
    [22631, 'Windows 11 23H2 (build 22631)'],
    [19045, 'Windows 10 22H2 (build 19045)'],
  ])('build %i is %s', (build, name) => {
    const servicing = servicingOf(build, new Date('2026-12-01T00:00:00Z'));
    expect('release' in servicing ? releaseName(servicing.release) : 'unknown').toBe(name);
  });

  it('ends servicing on a Patch Tuesday (the second Tuesday), 36 months after a Windows 11 release', () => {
    for (const row of rows) {
      const end = new Date(`${row.enterpriseEndOfServicing}T00:00:00Z`);
      expect(end.getUTCDay(), row.enterpriseEndOfServicing).toBe(2);
      expect(end.getUTCDate(), row.enterpriseEndOfServicing).toBeGreaterThanOrEqual(8);
      expect(end.getUTCDate(), row.enterpriseEndOfServicing).toBeLessThanOrEqual(14);
      if (row.product === 'Windows 11') {
        const start = new Date(`${row.availability}T00:00:00Z`);
        const months =
          (end.getUTCFullYear() - start.getUTCFullYear()) * 12 + end.getUTCMonth() - start.getUTCMonth();
        expect(months, `${row.version}`).toBeGreaterThanOrEqual(36);
        expect(months, `${row.version}`).toBeLessThanOrEqual(37);
      }
    }
  });
});

describe('the OS line of the report', () => {
  it.each([
    ['25H2', 'Windows 11 Enterprise 25H2'],
    ['24H2', 'Windows 11 Enterprise 24H2'],
    ['26200.7171', 'Windows 11 Enterprise 25H2 (build 26200.7171)'],
    ['26100.4946', 'Windows 11 Enterprise 24H2 (build 26100.4946)'],
    ['26200', 'Windows 11 Enterprise 25H2 (build 26200)'],
    ['29999.1', 'Windows 11 Enterprise build 29999.1'],
  ])('osBuildNumber %s reads %s', (osBuildNumber, text) => {
    expect(osDescription('Windows 11 Enterprise', osBuildNumber)).toBe(text);
  });
});
