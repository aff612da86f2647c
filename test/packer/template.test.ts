import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkHclFormat } from './helpers/hcl-format.ts';
import { loadTemplate, parseHclFile } from './helpers/hcl.ts';
import type { SourceFile, Template } from './helpers/hcl.ts';
import { armFieldsPath, mustReplace, readPacker, templateFiles, varFile, withFile } from './helpers/repo.ts';
import {
  checkAzureArmFieldNames,
  checkAzureArmInvariants,
  checkOutputs,
  checkProvisionerOrder,
  checkVariableUsage,
  parseArmFields,
  provisionerSteps,
  skuValidationPattern,
} from './helpers/template-checks.ts';
import type { ArmFields } from './helpers/template-checks.ts';
import { hclParser } from './helpers/tree-sitter.ts';
import type { SourceParser } from './helpers/tree-sitter.ts';

let parse: SourceParser;
let fields: ArmFields;
let files: SourceFile[];
let template: Template;

const load = (sources: SourceFile[]): Template => loadTemplate(parse, sources);
const varFileNames = (): string[] => parseHclFile(parse, varFile()).attributes.map((a) => a.name);

/** Every template check together, as the CI gate sees them. */
function allProblems(t: Template): string[] {
  return [
    ...t.files.flatMap((f) => f.syntax.map((p) => `${f.path}:${p.line}: ${p.kind} ${p.text}`)),
    ...checkAzureArmFieldNames(t, fields),
    ...checkAzureArmInvariants(t),
    ...checkProvisionerOrder(t),
    ...checkOutputs(t),
    ...checkVariableUsage(t, varFileNames()),
    ...t.files.flatMap((f) => checkHclFormat(f.text, f.path)),
  ];
}

beforeAll(async () => {
  parse = await hclParser();
  fields = parseArmFields(readFileSync(armFieldsPath, 'utf8'));
  files = templateFiles();
  template = load(files);
});

describe('Packer template (real files)', () => {
  it('is split by concern', () => {
    expect(files.map((f) => f.path)).toEqual([
      'packer/build.pkr.hcl',
      'packer/locals.pkr.hcl',
      'packer/plugins.pkr.hcl',
      'packer/source.pkr.hcl',
      'packer/variables.pkr.hcl',
    ]);
  });

  it('parses without syntax errors', () => {
    for (const f of [...template.files, parseHclFile(parse, varFile())]) expect(f.syntax, f.path).toEqual([]);
  });

  it('reads the azure-arm field list', () => {
    expect(fields.top.has('image_publisher')).toBe(true);
    expect(fields.top.has('oidc_request_token')).toBe(true);
    expect(fields.blocks.get('plan_info')?.has('plan_name')).toBe(true);
    expect(fields.internal.has('packer_build_name')).toBe(true);
    expect(fields.top.size).toBeGreaterThan(100);
  });

  it('requires the azure plugin >= 2.6.0 from github.com/hashicorp/azure', () => {
    const packer = template.files.flatMap((f) => f.blocks).find((b) => b.type === 'packer');
    const plugins = packer?.blocks.find((b) => b.type === 'required_plugins');
    const azure = plugins?.attributes.find((a) => a.name === 'azure')?.valueText ?? '';
    expect(azure).toMatch(/source\s*=\s*"github\.com\/hashicorp\/azure"/);
    expect(azure).toMatch(/version\s*=\s*">= 2\.6\.0"/);
  });

  it('uses only real azure-arm attributes and blocks', () => {
    expect(checkAzureArmFieldNames(template, fields)).toEqual([]);
  });

  it('keeps the Windows 365 invariants (base, Standard security, no data disks, managed image, auth, tags)', () => {
    expect(checkAzureArmInvariants(template)).toEqual([]);
  });

  it('runs base -> Teams -> extras -> facts -> check hook -> sysprep (last)', () => {
    expect(checkProvisionerOrder(template)).toEqual([]);
    const order = provisionerSteps(template)
      .map((s) => s.step)
      .filter((s) => ['teams', 'extras', 'facts', 'facts-download', 'check', 'sysprep'].includes(s));
    expect(order).toEqual(['teams', 'extras', 'facts', 'facts-download', 'check', 'sysprep']);
  });

  it('downloads the facts next to the manifest, hooks the check and writes the manifest with provenance', () => {
    expect(checkOutputs(template)).toEqual([]);
  });

  it('declares every variable it uses and uses every variable it declares', () => {
    expect(checkVariableUsage(template, varFileNames())).toEqual([]);
  });

  it('is formatted like packer fmt (2-space indentation, aligned "=")', () => {
    for (const f of [...files, varFile()]) expect(checkHclFormat(f.text, f.path)).toEqual([]);
  });

  describe('image_sku validation', () => {
    const accepted = [
      'win11-25h2-ent-cpc',
      'win11-25h2-ent-cpc-m365',
      'win11-24h2-ent-cpc',
      'win11-24h2-ent-cpc-m365',
      'win11-23h2-ent-cpc',
      'win10-22h2-ent-cpc',
      'win10-22h2-ent-cpc-m365',
    ];
    const rejected = [
      'win11-24h2-avd',
      'win11-24h2-avd-m365',
      'win11-24h2-ent-ltsc',
      'win10-22h2-entn',
      'win11-24h2-entn-cpc',
      'win11-24h2-ent',
      'win11-24h2-pro',
      'win11-25h2-ent-cpc-m365-extra',
      'WIN11-25H2-ENT-CPC',
      ' win11-25h2-ent-cpc',
      'win2022-datacenter',
      '',
    ];
    it.each(accepted)('accepts %s', (sku) => {
      expect(skuValidationPattern(template)?.test(sku)).toBe(true);
    });
    it.each(rejected)('rejects %j', (sku) => {
      expect(skuValidationPattern(template)?.test(sku)).toBe(false);
    });
    it('defaults to win11-25h2-ent-cpc', () => {
      expect(
        template.variables.get('image_sku')?.attributes.find((a) => a.name === 'default')?.valueText,
      ).toBe('"win11-25h2-ent-cpc"');
    });
  });

  it('documents every variable in README.md', () => {
    const readme = readPacker('README.md');
    for (const name of template.variables.keys()) expect(readme, name).toContain(`\`${name}\``);
  });
});

describe('the checks catch broken templates (mutations)', () => {
  const mutate = (name: string, edit: (text: string) => string): string[] =>
    allProblems(load(withFile(files, name, edit)));

  it('the real template passes all checks', () => {
    expect(allProblems(template)).toEqual([]);
  });

  it('reports a typo in an azure-arm attribute name', () => {
    const problems = mutate('source.pkr.hcl', (t) => mustReplace(t, 'winrm_insecure =', 'winrm_insecur  ='));
    expect(problems).toContainEqual(expect.stringContaining('unknown azure-arm attribute "winrm_insecur"'));
  });

  it('reports a typo in a nested block attribute', () => {
    const problems = mutate('source.pkr.hcl', (t) =>
      mustReplace(
        t,
        '  azure_tags = merge',
        '  spot {\n    evicton_policy = "Delete"\n  }\n\n  azure_tags = merge',
      ),
    );
    expect(problems).toContainEqual(expect.stringContaining('unknown attribute "spot.evicton_policy"'));
  });

  it.each([
    ['secure_boot_enabled', 'true'],
    ['vtpm_enabled', 'true'],
    ['security_type', '"TrustedLaunch"'],
    ['disk_additional_size', '[128]'],
    ['os_disk_size_gb', '128'],
    ['disk_encryption_set_id', '"/x"'],
  ])('reports a forbidden field: %s', (name, value) => {
    const problems = mutate('source.pkr.hcl', (t) =>
      mustReplace(t, /\n}\n$/, `\n\n  ${name} = ${value}\n}\n`),
    );
    expect(problems).toContainEqual(expect.stringContaining(`forbidden azure-arm attribute "${name}"`));
  });

  it('reports a plan_info block (paid image)', () => {
    const problems = mutate('source.pkr.hcl', (t) =>
      mustReplace(t, /\n}\n$/, '\n\n  plan_info {\n    plan_name = "x"\n  }\n}\n'),
    );
    expect(problems).toContainEqual(expect.stringContaining('forbidden azure-arm block "plan_info"'));
  });

  it('reports another base offer', () => {
    const problems = mutate('locals.pkr.hcl', (t) =>
      mustReplace(t, 'base_image_offer     = "windows-ent-cpc"', 'base_image_offer     = "windows-11"'),
    );
    expect(problems).toContain('image_offer must be "windows-ent-cpc"');
  });

  it('reports the sysprep provisioner moved earlier', () => {
    const problems = mutate('build.pkr.hcl', (t) => {
      const start = t.indexOf(
        '  provisioner "powershell" {\n    script           = "${path.root}/scripts/sysprep.ps1"',
      );
      const end = t.indexOf('  }\n', start) + 4;
      expect(start).toBeGreaterThan(0);
      const block = t.slice(start, end);
      const without = t.slice(0, start) + t.slice(end);
      const teams = without.indexOf(
        '  provisioner "powershell" {\n    script           = "${path.root}/scripts/teams.ps1"',
      );
      return without.slice(0, teams) + block + '\n' + without.slice(teams);
    });
    expect(problems).toContainEqual(expect.stringContaining('sysprep must be the last provisioner'));
    expect(problems).toContainEqual(expect.stringContaining('"check" must come before "sysprep"'));
  });

  it('reports the facts taken before the extra scripts', () => {
    const problems = mutate('build.pkr.hcl', (t) =>
      mustReplace(t, '/scripts/facts.ps1"', '/scripts/facts-moved.ps1"'),
    );
    expect(problems).toContain('expected exactly one "facts" provisioner, found 0');
  });

  it('reports a missing manifest post-processor', () => {
    const problems = mutate('build.pkr.hcl', (t) =>
      mustReplace(t, 'post-processor "manifest"', 'post-processor "checksum"'),
    );
    expect(problems).toContain('expected one manifest post-processor, found 0');
  });

  it('reports a sysprep-check hook that splices the command and the facts path into a shell string', () => {
    const problems = mutate('locals.pkr.hcl', (t) =>
      mustReplace(
        t,
        /sysprep_check_execute = .*\n/,
        `sysprep_check_execute = ["/bin/sh", "-c", "\${join(" ", var.sysprep_check_command)} --facts '\${local.facts_path}'"]\n`,
      ),
    );
    expect(problems).toContain(
      'the check hook must run var.sysprep_check_command as an argument vector (execute_command)',
    );
  });

  it('reports an undeclared and an unused variable', () => {
    const problems = mutate('source.pkr.hcl', (t) =>
      mustReplace(t, 'winrm_timeout  = var.winrm_timeout', 'winrm_timeout  = var.winrm_timout'),
    );
    expect(problems).toContainEqual(expect.stringContaining('var.winrm_timout is not declared'));
    expect(problems).toContain('variable "winrm_timeout" is declared but never used');
  });

  it('reports misaligned "=" and wrong indentation', () => {
    const misaligned = checkHclFormat(
      mustReplace(files[3]?.text ?? '', 'image_offer     =', 'image_offer ='),
    );
    expect(misaligned).toContainEqual(expect.stringContaining('align "=" within the attribute group'));
    const indented = checkHclFormat(mustReplace(files[3]?.text ?? '', '  vm_size ', '    vm_size '));
    expect(indented).toContainEqual(expect.stringContaining('indented 4 spaces, expected 2'));
  });

  it('reports an HCL syntax error', () => {
    const problems = mutate('build.pkr.hcl', (t) =>
      mustReplace(t, 'restart_timeout = "30m"', 'restart_timeout = "30m'),
    );
    expect(problems.some((p) => /ERROR|MISSING/.test(p))).toBe(true);
  });
});

describe('example variables file', () => {
  it('sets only declared variables and never a secret', () => {
    const names = varFileNames();
    expect(names.length).toBeGreaterThan(5);
    expect(names).not.toContain('client_secret');
    expect(names).not.toContain('oidc_request_token');
    expect(checkVariableUsage(template, names)).toEqual([]);
  });

  it('uses a SKU the validation accepts', () => {
    const sku = /image_sku\s*=\s*"([^"]+)"/.exec(varFile().text)?.[1] ?? '';
    expect(skuValidationPattern(template)?.test(sku)).toBe(true);
  });
});
