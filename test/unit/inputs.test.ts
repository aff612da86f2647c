import { describe, expect, it } from 'vitest';
import {
  checkVersion,
  defaultVersion,
  InputError,
  parseInputs,
  type Config,
} from '../../src/config/inputs.ts';

const IMAGE =
  '/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers/Microsoft.Compute/images/img';
const context = { env: {}, now: new Date('2026-11-26T14:23:05Z'), cwd: '/tmp/x' };

function parse(values: Record<string, string>, env: NodeJS.ProcessEnv = {}): Config {
  return parseInputs((name) => values[name] ?? '', { ...context, env });
}

function inputError(values: Record<string, string>): InputError {
  try {
    parse(values);
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error('expected an InputError');
}

const oidc = {
  'image-id': IMAGE,
  'tenant-id': 'contoso.onmicrosoft.com',
  'client-id': '0f0e0d0c-0b0a-0908-0706-050403020100',
};

describe('parseInputs', () => {
  it('applies the documented defaults', () => {
    const config = parse(oidc, { GITHUB_RUN_NUMBER: '42', RUNNER_TEMP: '/runner/tmp' });
    expect(config).toMatchObject({
      register: true,
      auth: 'oidc',
      cloud: 'public',
      waitTimeoutMinutes: 240,
      version: '2026.1126.42',
      versionDerived: true,
      displayName: undefined,
      reportPath: '/runner/tmp/w365-image-report.json',
    });
  });

  it('names the input, the problem and the fix', () => {
    const error = inputError({ ...oidc, version: '1.2' });
    expect(error.input).toBe('version');
    expect(error.message).toContain("'1.2' is not Major.Minor.Patch");
    expect(error.message).toContain('for example 1.0.0');
  });

  it.each([
    [{ 'image-id': '', build: 'false' }, 'image-id'],
    [{ ...oidc, build: 'true' }, 'build'],
    [{ ...oidc, build: 'sometimes' }, 'build'],
    [{ ...oidc, 'image-id': '' }, 'subscription-id'],
    [
      {
        ...oidc,
        'image-id': '',
        'subscription-id': '11111111-2222-3333-4444-555555555555',
        'build-timeout-minutes': '-5',
      },
      'build-timeout-minutes',
    ],
    [{ ...oidc, 'tenant-id': '' }, 'tenant-id'],
    [{ ...oidc, 'client-id': '' }, 'client-id'],
    [{ ...oidc, 'client-id': 'not-a-guid' }, 'client-id'],
    [{ ...oidc, auth: 'secret' }, 'auth'],
    [{ ...oidc, register: 'maybe' }, 'register'],
    [{ ...oidc, 'azure-environment': 'china' }, 'azure-environment'],
    [{ ...oidc, 'wait-timeout-minutes': '0' }, 'wait-timeout-minutes'],
    [{ ...oidc, 'wait-timeout-minutes': 'soon' }, 'wait-timeout-minutes'],
    [{ ...oidc, 'graph-endpoint': 'http://127.0.0.1:8080' }, 'graph-endpoint'],
    [{ ...oidc, 'arm-endpoint': 'not a url' }, 'arm-endpoint'],
    [{ ...oidc, 'subscription-id': 'abc' }, 'subscription-id'],
    [{ ...oidc, 'display-name': 'bad\u0007name' }, 'display-name'],
    [
      {
        ...oidc,
        'image-id': '',
        'subscription-id': '11111111-2222-3333-4444-555555555555',
        'dry-run': 'true',
      },
      'dry-run',
    ],
    [{ ...oidc, register: 'false', 'provisioning-policies': 'Sales' }, 'provisioning-policies'],
    [{ ...oidc, 'keep-images': '-1' }, 'keep-images'],
  ])('rejects %j in %s', (values, input) => {
    expect(inputError(values).input).toBe(input);
  });

  it('builds when no image-id is given, and only validates the template with build: validate', () => {
    const sub = '11111111-2222-3333-4444-555555555555';
    const built = parse({
      ...oidc,
      'image-id': '',
      'subscription-id': sub,
      'var-file': 'a.pkrvars.hcl\n\n b.pkrvars.hcl ',
    });
    expect(built).toMatchObject({
      build: 'build',
      imageId: '',
      varFiles: ['a.pkrvars.hcl', 'b.pkrvars.hcl'],
      buildTimeoutMinutes: 150,
    });
    expect(parse({ ...oidc, 'image-id': '', build: 'validate' }).build).toBe('validate');
    expect(parse(oidc).build).toBe('none');
  });

  it('does not need tenant-id or client-id for azure-cli', () => {
    expect(parse({ 'image-id': IMAGE, auth: 'azure-cli' }).auth).toBe('azure-cli');
  });

  it('keeps an explicit version and display name', () => {
    const config = parse({ ...oidc, version: '1.5.13', 'display-name': "O'Brien image", register: 'false' });
    expect(config).toMatchObject({
      version: '1.5.13',
      versionDerived: false,
      displayName: "O'Brien image",
      register: false,
    });
  });

  it('normalises endpoint overrides to an origin without a trailing slash', () => {
    expect(parse({ ...oidc, 'graph-endpoint': 'https://127.0.0.1:8443/' }).graphEndpoint).toBe(
      'https://127.0.0.1:8443',
    );
  });
});

describe('version', () => {
  it('derives YYYY.MMDD.run-number, sorting by date', () => {
    expect(defaultVersion({ GITHUB_RUN_NUMBER: '7' }, new Date('2026-01-05T00:00:00Z'))).toBe('2026.105.7');
    expect(defaultVersion({ GITHUB_RUN_NUMBER: '7' }, new Date('2026-12-31T00:00:00Z'))).toBe('2026.1231.7');
  });

  it('uses the time of day outside a workflow run', () => {
    expect(defaultVersion({}, new Date('2026-11-26T14:23:05Z'))).toBe('2026.1126.142305');
  });

  it.each(['1.0', '1.0.0.0', 'v1.0.0', '1.01.0', '1.0.-1', '1.0.2147483648', ''])('rejects %s', (v) => {
    expect(() => checkVersion(v)).toThrow(InputError);
  });

  it.each(['0.0.1', '1.5.13', '2026.1126.42'])('accepts %s', (v) => {
    expect(() => checkVersion(v)).not.toThrow();
  });
});

describe('skip-if-unchanged', () => {
  const build = { ...oidc, 'image-id': '', 'subscription-id': '11111111-2222-3333-4444-555555555555' };

  it('is off by default and on for a build with a display name', () => {
    expect(parse(build).skipIfUnchanged).toBe(false);
    expect(
      parse({ ...build, 'skip-if-unchanged': 'true', 'display-name': 'Win11 Corp' }).skipIfUnchanged,
    ).toBe(true);
  });

  it.each([
    [{ ...oidc, 'skip-if-unchanged': 'true' }, 'needs a build'],
    [{ ...build, 'skip-if-unchanged': 'true' }, 'needs display-name'],
    [{ ...build, 'skip-if-unchanged': 'maybe' }, 'is not a boolean'],
  ])('rejects %j', (values, problem) => {
    const error = inputError(values);
    expect(error.input).toBe('skip-if-unchanged');
    expect(error.message).toContain(problem);
  });
});
