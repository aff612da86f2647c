/**
 * Windows 11 / Windows 10 General Availability Channel releases and the last day Microsoft services their
 * Enterprise and Education editions (36 months after release for Windows 11 releases).
 *
 * Source: Microsoft Learn, "Windows 11 release information"
 *   https://learn.microsoft.com/windows/release-health/windows11-release-information
 * and "Windows 10 release information"
 *   https://learn.microsoft.com/windows/release-health/release-information
 * Servicing always ends on a Patch Tuesday (second Tuesday). Update this table when Microsoft publishes a release,
 * together with its copy of the source facts, docs/sources/windows-release-information.md (a test compares them).
 */
export const RELEASES_AS_OF = '2026-11-26';

export interface WindowsRelease {
  build: number;
  product: 'Windows 11' | 'Windows 10';
  version: string;
  /** Last day of servicing for Enterprise and Education, YYYY-MM-DD (the final monthly update ships that day). */
  enterpriseEndOfServicing: string;
}

export const WINDOWS_RELEASES: readonly WindowsRelease[] = [
  { build: 26300, product: 'Windows 11', version: '26H2', enterpriseEndOfServicing: '2029-10-09' },
  { build: 28000, product: 'Windows 11', version: '26H1', enterpriseEndOfServicing: '2029-03-13' },
  { build: 26200, product: 'Windows 11', version: '25H2', enterpriseEndOfServicing: '2028-10-10' },
  { build: 26100, product: 'Windows 11', version: '24H2', enterpriseEndOfServicing: '2027-10-12' },
  { build: 22631, product: 'Windows 11', version: '23H2', enterpriseEndOfServicing: '2026-11-10' },
  { build: 22621, product: 'Windows 11', version: '22H2', enterpriseEndOfServicing: '2025-10-14' },
  { build: 22000, product: 'Windows 11', version: '21H2', enterpriseEndOfServicing: '2024-10-08' },
  { build: 19045, product: 'Windows 10', version: '22H2', enterpriseEndOfServicing: '2025-10-14' },
  { build: 19044, product: 'Windows 10', version: '21H2', enterpriseEndOfServicing: '2024-06-11' },
  { build: 19043, product: 'Windows 10', version: '21H1', enterpriseEndOfServicing: '2022-12-13' },
  { build: 19042, product: 'Windows 10', version: '20H2', enterpriseEndOfServicing: '2023-05-09' },
];

export const ENDING_SOON_DAYS = 90;

export type Servicing =
  | { state: 'supported'; release: WindowsRelease; daysLeft: number }
  | { state: 'ending-soon'; release: WindowsRelease; daysLeft: number }
  | { state: 'ended'; release: WindowsRelease; daysSinceEnd: number }
  /** `newerThanTable`: a build above every known one (a release newer than RELEASES_AS_OF, or an Insider build). */
  | { state: 'unknown'; build: number; newerThanTable: boolean };

const DAY_MS = 86_400_000;

/** Where `build` stands on `on` (UTC calendar days). */
export function servicingOf(build: number, on: Date, endingSoonDays = ENDING_SOON_DAYS): Servicing {
  const release = WINDOWS_RELEASES.find((r) => r.build === build);
  if (!release) {
    const newest = Math.max(...WINDOWS_RELEASES.map((r) => r.build));
    return { state: 'unknown', build, newerThanTable: build > newest };
  }
  const today = Date.UTC(on.getUTCFullYear(), on.getUTCMonth(), on.getUTCDate());
  const lastDay = Date.parse(`${release.enterpriseEndOfServicing}T00:00:00Z`);
  const daysLeft = Math.round((lastDay - today) / DAY_MS);
  if (daysLeft < 0) return { state: 'ended', release, daysSinceEnd: -daysLeft };
  if (daysLeft <= endingSoonDays) return { state: 'ending-soon', release, daysLeft };
  return { state: 'supported', release, daysLeft };
}

export function releaseName(release: WindowsRelease): string {
  return `${release.product} ${release.version} (build ${release.build})`;
}
