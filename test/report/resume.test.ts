import { describe, expect, it } from 'vitest';
import { parseInputs } from '../../src/config/inputs.ts';
import { resumeHint } from '../../src/report/resume.ts';

const SUB = '11111111-2222-3333-4444-555555555555';
const IMAGE = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/images/img-17`;
const context = { env: {}, now: new Date('2026-11-26T14:23:05Z'), cwd: '/tmp/x' };

function config(values: Record<string, string>) {
  return parseInputs((name) => values[name] ?? '', context);
}

describe('resumeHint', () => {
  it('prints the exact command line in a terminal, quoted for the shell', () => {
    const hint = resumeHint(
      config({
        'image-id': IMAGE,
        auth: 'azure-cli',
        'provisioning-policies': "Sales\nO'Brien PCs",
        'delete-source-image': 'true',
      }),
      { imageId: IMAGE, displayName: "O'Brien", version: '2026.1102.81530' },
      {},
    );
    expect(hint).toBe(
      `To resume, run: w365-image --image-id ${IMAGE} --display-name 'O'\\''Brien' --version 2026.1102.81530 --auth azure-cli --wait-timeout-minutes 180 --provisioning-policies Sales --provisioning-policies 'O'\\''Brien PCs' --keep-images 3 --delete-source-image true --upload-retries 1`,
    );
  });

  it('names the step inputs in a workflow, and stops a re-run from building again', () => {
    const built = config({
      'image-id': '',
      build: 'true',
      'subscription-id': SUB,
      'tenant-id': 'contoso.onmicrosoft.com',
      'client-id': '0f0e0d0c-0b0a-0908-0706-050403020100',
    });
    const hint = resumeHint(
      built,
      { imageId: IMAGE, displayName: 'img-17', version: '1.0.0' },
      {
        GITHUB_ACTIONS: 'true',
      },
    );
    expect(hint).toContain(
      `To resume, re-run the step with: { image-id: "${IMAGE}", display-name: "img-17", version: "1.0.0", build: "false", auth: "oidc", tenant-id: "contoso.onmicrosoft.com"`,
    );
  });
});
