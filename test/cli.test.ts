import { describe, expect, it } from 'vitest';
import { FLAG_OPTIONS, helpText, LIST_OPTIONS, parseArgs, runCli, UsageError } from '../src/cli.ts';
import { INPUTS } from '../src/config/inputs.ts';

describe('CLI arguments', () => {
  it('takes --name value and --name=value', () => {
    const args = parseArgs(['--image-id', '/x', '--version=1.2.3', '--verbose']);
    expect(Object.fromEntries(args.values)).toEqual({ 'image-id': '/x', version: '1.2.3' });
    expect(args.verbose).toBe(true);
  });

  it('accumulates repeated list options, one value a line as the action input', () => {
    const args = parseArgs([
      '--provisioning-policies',
      'Sales',
      '--provisioning-policies=Finance',
      '--var-file',
      'a.pkrvars.hcl',
      '--var-file',
      'b.pkrvars.hcl',
      '--packer-vars',
      'vm_size=Standard_D4s_v5',
    ]);
    expect(args.values.get('provisioning-policies')).toBe('Sales\nFinance');
    expect(args.values.get('var-file')).toBe('a.pkrvars.hcl\nb.pkrvars.hcl');
    expect(args.values.get('packer-vars')).toBe('vm_size=Standard_D4s_v5');
  });

  it('takes boolean flags without a value, and their --no- form for false', () => {
    const args = parseArgs(['--image-id', '/x', '--dry-run', '--no-register', '--delete-source-image']);
    expect(Object.fromEntries(args.values)).toEqual({
      'image-id': '/x',
      'dry-run': 'true',
      register: 'false',
      'delete-source-image': 'true',
    });
    expect(parseArgs(['--image-id', '/x']).values.has('dry-run')).toBe(false);
  });

  it('-V and --tool-version ask for the tool version; --version stays the device image version', () => {
    expect(parseArgs(['-V']).version).toBe(true);
    expect(parseArgs(['--tool-version']).version).toBe(true);
    const args = parseArgs(['--version', '1.0.0']);
    expect(args.version).toBe(false);
    expect(args.values.get('version')).toBe('1.0.0');
  });

  it.each([
    [['--imageid', 'x'], 'Unknown option --imageid. Run w365-image --help for the options.'],
    [['--image-id'], 'Option --image-id needs a value'],
    [['--image-id', '--version', '1.0.0'], 'Option --image-id needs a value'],
    [['stray'], "Unexpected argument 'stray'. Options start with --; run w365-image --help."],
    [['--version=1.0.0', '--version=2.0.0'], 'Option --version is given twice.'],
    [['--dry-run=true'], 'Option --dry-run takes no value: --dry-run means true, --no-dry-run false.'],
    [['--no-image-id'], 'Unknown option --no-image-id'],
    [['--github-token', 'x'], 'Unknown option --github-token'],
  ])('rejects %j', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
    expect(() => parseArgs(argv)).toThrow(message);
    // Said once, in this CLI's words.
    expect(() => parseArgs(argv)).not.toThrow(/This command|Did you forget|To specify/);
  });

  it('documents every input in --help, flags as --[no-]name and list options as repeatable', () => {
    const help = helpText();
    for (const input of INPUTS.filter((i) => !i.actionOnly)) {
      const flag = FLAG_OPTIONS.has(input.name) ? `--[no-]${input.name} ` : `--${input.name} `;
      expect(help).toContain(flag);
      if (LIST_OPTIONS.has(input.name))
        expect(help.split('\n').find((l) => l.startsWith(`  ${flag}`))).toContain('Repeat the option');
    }
    expect(help).not.toContain('--github-token');
  });

  it('knows every multi-line input as a list option and every true/false input as a flag', () => {
    const cli = INPUTS.filter((i) => !i.actionOnly);
    const lists = cli.filter((i) => /one (path |name=value )?per line|one per line/.test(i.description));
    const flags = cli.filter((i) => i.default === 'true' || i.default === 'false');
    expect(lists.map((i) => i.name).sort()).toEqual([...LIST_OPTIONS].sort());
    expect(flags.map((i) => i.name).sort()).toEqual([...FLAG_OPTIONS].sort());
  });

  it('with no arguments prints the usage and exits 2', async () => {
    const errors: string[] = [];
    const original = console.error;
    console.error = (...parts: unknown[]) => errors.push(parts.join(' '));
    try {
      expect(await runCli([])).toBe(2);
    } finally {
      console.error = original;
    }
    expect(errors.join('\n')).toContain('Usage: w365-image --image-id <resource-id> [options]');
  });
});
