import { describe, expect, it } from 'vitest';
import { actionVariables, PackerVarsError, parsePackerVars } from '../../src/imageBuild/variables.ts';

describe('packer-vars', () => {
  it('reads name=value lines, skipping blank lines and # comments, keeping HCL values as written', () => {
    const vars = parsePackerVars(
      [
        '# base',
        'image_sku = win11-25h2-ent-cpc-m365',
        '',
        '   ',
        'remove_appx_packages=["Microsoft.BingNews", "Microsoft.GamingApp"]',
        'extra_tags={ cost-center = "1234" }',
        'run_url=https://example.test/a?b=c=d\r',
      ].join('\n'),
    );
    expect([...vars]).toEqual([
      ['image_sku', 'win11-25h2-ent-cpc-m365'],
      ['remove_appx_packages', '["Microsoft.BingNews", "Microsoft.GamingApp"]'],
      ['extra_tags', '{ cost-center = "1234" }'],
      ['run_url', 'https://example.test/a?b=c=d'],
    ]);
  });

  it('an empty text gives no variables', () => {
    expect(parsePackerVars('').size).toBe(0);
  });

  it.each([
    ['vm_size Standard_D4s_v5', 'line 1'],
    ['ok=1\n=value', 'line 2'],
    ['ok=1\n\n1bad=value', 'line 3'],
    ['a b=c', "line 1 ('a b=c')"],
  ])('a malformed line is an error naming the line: %j', (text, where) => {
    expect(() => parsePackerVars(text)).toThrow(PackerVarsError);
    expect(() => parsePackerVars(text)).toThrow(where);
  });

  it('a variable set twice is an error naming both lines', () => {
    expect(() => parsePackerVars('vm_size=a\n# x\nvm_size=b')).toThrow('lines 1 and 3');
  });
});

describe('action variables', () => {
  const input = {
    subscriptionId: 'sub',
    auth: 'azure-cli' as const,
    templateVersion: '1.2.3',
    outputDirectory: '/out',
    manifestFileName: 'm.json',
    factsFileName: 'f.json',
  };

  it('azure-cli auth sets use_azure_cli_auth and no OIDC variables', () => {
    const { plain, sensitive } = actionVariables(input, {}, { requireAuth: true });
    expect(plain.get('use_azure_cli_auth')).toBe('true');
    expect(plain.has('oidc_request_url')).toBe(false);
    expect(sensitive.size).toBe(0);
    expect(plain.has('git_commit')).toBe(false);
  });

  it('oidc auth puts the request token in the sensitive set only', () => {
    const env = { ACTIONS_ID_TOKEN_REQUEST_URL: 'https://u', ACTIONS_ID_TOKEN_REQUEST_TOKEN: 't0k' };
    const { plain, sensitive } = actionVariables({ ...input, auth: 'oidc' }, env, { requireAuth: true });
    expect(plain.get('oidc_request_url')).toBe('https://u');
    expect([...plain.values()]).not.toContain('t0k');
    expect(sensitive.get('oidc_request_token')).toBe('t0k');
  });

  it('explicit provenance wins over the GitHub environment', () => {
    const env = {
      GITHUB_SHA: 'abc',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: 'o/r',
      GITHUB_RUN_ID: '9',
    };
    expect(actionVariables(input, env, { requireAuth: false }).plain.get('run_url')).toBe(
      'https://github.com/o/r/actions/runs/9',
    );
    const own = actionVariables({ ...input, gitCommit: 'def', runUrl: 'https://x' }, env, {
      requireAuth: false,
    });
    expect(own.plain.get('git_commit')).toBe('def');
    expect(own.plain.get('run_url')).toBe('https://x');
  });
});
