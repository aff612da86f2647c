import { describe, expect, it } from 'vitest';
import { versionFromImage, versionFromTime } from '../../src/azure/imageVersion.ts';
import { hostedJobBudgetWarning } from '../../src/config/budget.ts';
import { checkVersion, InputError, parseInputs, type Config } from '../../src/config/inputs.ts';

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
      waitTimeoutMinutes: 180,
      version: undefined,
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
    [{ ...oidc, 'image-id': '', build: 'true' }, 'subscription-id'],
    [
      {
        ...oidc,
        'image-id': '',
        build: 'true',
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
        build: 'true',
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

  it('builds only when asked: an empty image-id without build: true is an input error naming both', () => {
    const cases: Array<Record<string, string>> = [
      { ...oidc, 'image-id': '' },
      { 'image-id': '  ', auth: 'azure-cli' },
    ];
    for (const values of cases) {
      const error = inputError(values);
      expect(error.input).toBe('image-id');
      expect(error.message).toContain('is empty and build is not set');
      expect(error.message).toContain('set build: true');
    }
  });

  it('builds with build: true, and only validates the template with build: validate', () => {
    const sub = '11111111-2222-3333-4444-555555555555';
    const built = parse({
      ...oidc,
      'image-id': '',
      build: 'true',
      'subscription-id': sub,
      'var-file': 'a.pkrvars.hcl\n\n b.pkrvars.hcl ',
    });
    expect(built).toMatchObject({
      build: 'build',
      imageId: '',
      varFiles: ['a.pkrvars.hcl', 'b.pkrvars.hcl'],
      buildTimeoutMinutes: 120,
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

describe('dry run with build: validate', () => {
  it('needs tenant-id and client-id: it reads Graph', () => {
    const values = { 'image-id': '', build: 'validate', 'dry-run': 'true' };
    expect(inputError(values).input).toBe('tenant-id');
    expect(parse({ ...values, 'tenant-id': oidc['tenant-id'], 'client-id': oidc['client-id'] }).dryRun).toBe(
      true,
    );
    expect(parse({ 'image-id': '', build: 'validate' }).build).toBe('validate');
  });
});

describe('hosted job budget', () => {
  const hosted = { GITHUB_ACTIONS: 'true', RUNNER_ENVIRONMENT: 'github-hosted' };
  const building = { ...oidc, 'image-id': '', build: 'true', 'subscription-id': IMAGE.split('/')[2] ?? '' };

  it('lets the defaults fit a GitHub-hosted job with room to spare', () => {
    expect(hostedJobBudgetWarning(parse(building), hosted)).toBeUndefined();
  });

  it('warns when build plus wait cannot fit 360 minutes, naming both inputs', () => {
    const warning = hostedJobBudgetWarning(
      parse({ ...building, 'build-timeout-minutes': '150', 'wait-timeout-minutes': '240' }),
      hosted,
    );
    expect(warning).toContain('build-timeout-minutes 150 + wait-timeout-minutes 240 = 390 minutes');
    expect(warning).toContain('360');
  });

  it('does not warn on self-hosted runners or in a terminal', () => {
    const long = parse({ ...building, 'wait-timeout-minutes': '600' });
    expect(hostedJobBudgetWarning(long, hosted)).toBeDefined();
    expect(hostedJobBudgetWarning(long, { ...hosted, RUNNER_ENVIRONMENT: 'self-hosted' })).toBeUndefined();
    expect(hostedJobBudgetWarning(long, {})).toBeUndefined();
  });
});

describe('version', () => {
  const id = IMAGE;

  it('derives YYYY.MMDD.HHMMSS from the image creation time, the same on every run', () => {
    const image = { location: 'westeurope', systemData: { createdAt: new Date('2026-01-05T09:03:07Z') } };
    expect(versionFromImage(id, image).version).toBe('2026.105.90307');
    expect(versionFromImage(id.toUpperCase(), image).version).toBe('2026.105.90307');
    expect(versionFromTime(new Date('2026-12-31T23:59:59Z'))).toBe('2026.1231.235959');
    expect(() => checkVersion(versionFromImage(id, image).version)).not.toThrow();
  });

  it('falls back to a hash of the resource ID when Azure gives no creation time', () => {
    const a = versionFromImage(id, { location: 'westeurope' });
    expect(a.version).toMatch(/^0\.0\.\d+$/);
    expect(versionFromImage(id.toLowerCase(), undefined).version).toBe(a.version);
    expect(versionFromImage(`${id}2`, undefined).version).not.toBe(a.version);
    expect(() => checkVersion(a.version)).not.toThrow();
  });

  it.each(['1.0', '1.0.0.0', 'v1.0.0', '1.01.0', '1.0.-1', '1.0.2147483648', ''])('rejects %s', (v) => {
    expect(() => checkVersion(v)).toThrow(InputError);
  });

  it.each(['0.0.1', '1.5.13', '2026.1126.42'])('accepts %s', (v) => {
    expect(() => checkVersion(v)).not.toThrow();
  });
});

describe('azure-environment', () => {
  it.each([
    ['public', 'public'],
    ['usgov', 'usgov'],
    ['AzureUSGovernment', 'usgov'],
    ['azureusgovernment', 'usgov'],
    ['AzureCloud', 'public'],
  ])("takes '%s' as the %s cloud", (value, cloud) => {
    expect(parse({ ...oidc, 'azure-environment': value }).cloud).toBe(cloud);
  });

  it.each(['AzureChinaCloud', 'AzureStack', 'USGov Virginia'])(
    "refuses '%s', naming both spellings",
    (value) => {
      const error = inputError({ ...oidc, 'azure-environment': value });
      expect(error.input).toBe('azure-environment');
      expect(error.message).toContain(`'${value}' is not supported`);
      expect(error.message).toContain('AzureUSGovernment');
    },
  );
});

describe('input limits', () => {
  it.each(['0.00001', '1e-300', '0x10', '1e3', '+5', '-1', '10081', 'Infinity', '1_000', '5 minutes', '.5'])(
    "wait-timeout-minutes '%s' is refused: decimal digits only, 1 to 10080",
    (value) => {
      const error = inputError({ ...oidc, 'wait-timeout-minutes': value });
      expect(error.input).toBe('wait-timeout-minutes');
      expect(error.message).toContain('plain decimal number of minutes from 1 to 10080');
    },
  );

  it.each(['1', '90', '1.5', '10080'])("wait-timeout-minutes '%s' is accepted", (value) => {
    expect(parse({ ...oidc, 'wait-timeout-minutes': value }).waitTimeoutMinutes).toBe(Number(value));
  });

  it.each([
    ['build-timeout-minutes', '0x10'],
    ['keep-images', '1e2'],
    ['upload-retries', '-1'],
  ])('%s %s is refused the same way', (name, value) => {
    expect(inputError({ ...oidc, [name]: value }).input).toBe(name);
  });

  it('a 120 KB display-name is refused before anything runs, quoting only its first 40 characters', () => {
    const error = inputError({ ...oidc, 'display-name': 'W'.repeat(120_000) });
    expect(error.input).toBe('display-name');
    expect(error.message).toContain('is 120000 characters long');
    expect(error.message).toContain(`'${'W'.repeat(40)}…'`);
    expect(error.message).toContain('the limit is 256');
    expect(error.message.length).toBeLessThan(300);
  });

  it.each([
    ['image-id', 301],
    ['tenant-id', 254],
    ['version', 33],
    ['provisioning-policies', 16_385],
    ['packer-vars', 65_537],
    ['report-path', 4_097],
  ])('%s longer than its limit names the input', (name, length) => {
    const error = inputError({ ...oidc, [name]: 'a'.repeat(length) });
    expect(error.input).toBe(name);
    expect(error.message.length).toBeLessThan(300);
  });

  it('never quotes any part of a too-long github-token', () => {
    const error = inputError({ ...oidc, 'github-token': `ghs_${'s'.repeat(2_000)}` });
    expect(error.input).toBe('github-token');
    expect(error.message).not.toContain('ghs_');
  });

  it('quotes control characters of a refused value as blanks (no line break reaches the log)', () => {
    const error = inputError({ ...oidc, 'keep-images': '1\n::error::x' });
    expect(error.message).not.toContain('\n');
  });
});

describe('values quoted in input errors', () => {
  it.each([
    ['tenant-id', `${'t'.repeat(200)}_not_a_domain`],
    ['graph-endpoint', `https://${'g'.repeat(1_500)}:notaport`],
    ['arm-endpoint', `http://${'a'.repeat(1_500)}.example`],
  ])('%s: at most a 40-character prefix of a long bad value', (name, value) => {
    const error = inputError({ ...oidc, [name]: value });
    expect(error.input).toBe(name);
    expect(error.message.length).toBeLessThan(300);
  });
});

describe('skip-if-unchanged', () => {
  const build = {
    ...oidc,
    'image-id': '',
    build: 'true',
    'subscription-id': '11111111-2222-3333-4444-555555555555',
  };

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
