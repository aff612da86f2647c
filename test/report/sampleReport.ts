import type { Report } from '../../src/report/report.ts';

/** A finished report with a failed build, a failed check and a registration, for the feedback tests. */
export function sampleReport(overrides: Partial<Report> = {}): Report {
  return {
    schemaVersion: 1,
    tool: { name: 'w365-image', version: '0.1.0' },
    outcome: 'invalid',
    message: '1 check failed: image.os-disk-size',
    startedAt: '2026-11-26T10:00:00.000Z',
    finishedAt: '2026-11-26T10:05:00.000Z',
    timings: { buildSeconds: null, validateSeconds: 2, registerSeconds: null, totalSeconds: 300 },
    inputs: {
      imageId: '/subscriptions/s/resourceGroups/images/providers/Microsoft.Compute/images/win11-42',
      build: 'false',
      displayName: 'Win11 Corporate',
      version: '2026.1126.42',
      versionDerived: true,
      register: true,
      auth: 'oidc',
      azureEnvironment: 'public',
      waitTimeoutMinutes: 240,
    },
    build: null,
    image: null,
    checks: [
      {
        id: 'image.generalized',
        requirement: 'R3',
        title: 'Generalized',
        status: 'pass',
        detail: 'osState is Generalized',
        errorCode: 'sourceImageNotGeneralized',
        fix: null,
      },
      {
        id: 'image.os-disk-size',
        requirement: 'R7',
        title: 'OS disk at most 64 GB',
        status: 'fail',
        detail: 'OS disk is 128 GB | too big',
        errorCode: 'sourceImageSizeExceedsLimitation',
        fix: 'Build with the default 64 GB OS disk.',
      },
    ],
    registration: null,
    rollout: null,
    error: null,
    ...overrides,
  };
}
