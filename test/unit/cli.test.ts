import { describe, expect, it } from 'vitest';
import { helpText, parseArgs, UsageError } from '../../src/cli.ts';
import { INPUTS } from '../../src/config/inputs.ts';

describe('CLI arguments', () => {
  it('takes --name value and --name=value', () => {
    const args = parseArgs(['--image-id', '/x', '--version=1.2.3', '--verbose']);
    expect(Object.fromEntries(args.values)).toEqual({ 'image-id': '/x', version: '1.2.3' });
    expect(args.verbose).toBe(true);
  });

  it.each([
    [['--imageid', 'x']],
    [['--image-id']],
    [['--image-id', '--version', '1.0.0']],
    [['stray']],
    [['--version=1.0.0', '--version=2.0.0']],
  ])('rejects %j', (argv) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
  });

  it('documents every input in --help', () => {
    const help = helpText();
    for (const input of INPUTS.filter((i) => !i.actionOnly)) expect(help).toContain(`--${input.name}`);
    expect(help).not.toContain('--github-token');
  });
});
