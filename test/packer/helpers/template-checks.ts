// Checks on the Packer template. Each returns a list of problems (empty = pass), so tests can run
// them on the real files and on deliberately broken copies.
import type { Node } from 'web-tree-sitter';
import { attr, expand, literalString, references, resolveLiteral } from './hcl.ts';
import type { HclBlock, Template } from './hcl.ts';
import { walk } from './tree-sitter.ts';

// ------------------------------------------------------------------------------------------
// azure-arm field list (test/packer/data/azure-arm-fields.txt)
// ------------------------------------------------------------------------------------------

export interface ArmFields {
  /** Top-level attribute and block names a template may set. */
  top: Set<string>;
  /** Block name -> attribute names allowed inside it. */
  blocks: Map<string, Set<string>>;
  /** Names that exist but are internal (packer_*, ssh_public_key, ssh_private_key). */
  internal: Set<string>;
}

export function parseArmFields(text: string): ArmFields {
  const top = new Set<string>();
  const blocks = new Map<string, Set<string>>();
  const internal = new Set<string>();
  for (const rawLine of text.split('\n')) {
    const line = rawLine.trim();
    const blockList = /^#\s*blocks:\s*(.*)$/.exec(line);
    if (blockList?.[1]) {
      for (const name of blockList[1].split(',')) {
        const clean = name.replace(/\(.*\)/, '').trim();
        if (clean && !blocks.has(clean)) blocks.set(clean, new Set());
      }
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const dot = line.indexOf('.');
    if (dot > 0) {
      const block = line.slice(0, dot);
      const set = blocks.get(block) ?? new Set<string>();
      set.add(line.slice(dot + 1));
      blocks.set(block, set);
      continue;
    }
    if (line.startsWith('packer_') || line === 'ssh_public_key' || line === 'ssh_private_key')
      internal.add(line);
    else top.add(line);
  }
  return { top, blocks, internal };
}

// ------------------------------------------------------------------------------------------
// source "azure-arm"
// ------------------------------------------------------------------------------------------

/** Fields that would break a Windows 365 image (R7-R11, R15: docs/requirements.md) or capture something else. */
export const FORBIDDEN_AZURE_ARM_FIELDS: Record<string, string> = {
  security_type: 'Trusted Launch/confidential VM: managed images cannot be captured from them (R15)',
  secure_boot_enabled: 'Trusted Launch field (R15)',
  vtpm_enabled: 'Trusted Launch field (R15)',
  security_encryption_type: 'confidential VM field (R15)',
  disk_additional_size: 'data disks are not supported (R8)',
  disk_additional_luns: 'data disks are not supported (R8)',
  managed_image_data_disk_snapshot_prefix: 'data disks are not supported (R8)',
  os_disk_size_gb: 'the default 64 GB OS disk is required (R7)',
  disk_encryption_set_id: 'no disk encryption set (R9)',
  plan_info: 'paid Marketplace images are not supported (R10)',
  image_url: 'the base must be the windows-ent-cpc Marketplace image',
  custom_managed_image_name: 'the base must be the windows-ent-cpc Marketplace image',
  custom_managed_image_resource_group_name: 'the base must be the windows-ent-cpc Marketplace image',
  shared_image_gallery: 'the base must be the windows-ent-cpc Marketplace image',
  shared_image_gallery_destination: 'Windows 365 takes a managed image (R11)',
  capture_container_name: 'VHD output: Windows 365 takes a managed image (R11)',
  capture_name_prefix: 'VHD output: Windows 365 takes a managed image (R11)',
  skip_create_image: 'the build must create the managed image',
};

function exprRefersTo(template: Template, expression: Node, needle: string): boolean {
  return expand(template, expression).includes(needle);
}

function variableDefault(template: Template, name: string): string | undefined {
  const variable = template.variables.get(name);
  const value = variable ? attr(variable, 'default') : undefined;
  return value ? literalString(value.value) : undefined;
}

export function azureArmSources(template: Template): HclBlock[] {
  return template.sources.filter((s) => s.labels[0] === 'azure-arm');
}

/** Every attribute and block of the azure-arm source is a real plugin field. */
export function checkAzureArmFieldNames(template: Template, fields: ArmFields): string[] {
  const problems: string[] = [];
  for (const source of azureArmSources(template)) {
    const where = `source "azure-arm" "${source.labels[1] ?? ''}"`;
    for (const a of source.attributes) {
      if (fields.internal.has(a.name))
        problems.push(`${where}: ${a.name} is internal to Packer (line ${a.line})`);
      else if (fields.blocks.has(a.name))
        problems.push(`${where}: "${a.name}" is a block, not an attribute (line ${a.line})`);
      else if (!fields.top.has(a.name))
        problems.push(`${where}: unknown azure-arm attribute "${a.name}" (line ${a.line})`);
    }
    for (const b of source.blocks) {
      const name = b.type === 'dynamic' ? (b.labels[0] ?? '') : b.type;
      const allowed = fields.blocks.get(name);
      if (!allowed) {
        problems.push(`${where}: unknown azure-arm block "${name}" (line ${b.line})`);
        continue;
      }
      const inner = b.type === 'dynamic' ? b.blocks.find((x) => x.type === 'content') : b;
      for (const a of inner?.attributes ?? []) {
        if (!allowed.has(a.name))
          problems.push(`${where}: unknown attribute "${name}.${a.name}" (line ${a.line})`);
      }
    }
  }
  return problems;
}

/** Windows 365 invariants of the build VM and its output. */
export function checkAzureArmInvariants(template: Template): string[] {
  const problems: string[] = [];
  const sources = azureArmSources(template);
  if (sources.length !== 1) return [`expected exactly one source "azure-arm", found ${sources.length}`];
  const source = sources[0] as HclBlock;
  const get = (name: string) => attr(source, name);
  const literal = (name: string) => {
    const a = get(name);
    return a ? resolveLiteral(template, a.value) : undefined;
  };

  for (const a of source.attributes) {
    const why = FORBIDDEN_AZURE_ARM_FIELDS[a.name];
    if (why) problems.push(`forbidden azure-arm attribute "${a.name}" (line ${a.line}): ${why}`);
  }
  for (const b of source.blocks) {
    const name = b.type === 'dynamic' ? (b.labels[0] ?? '') : b.type;
    const why = FORBIDDEN_AZURE_ARM_FIELDS[name];
    if (why) problems.push(`forbidden azure-arm block "${name}" (line ${b.line}): ${why}`);
  }

  if (literal('image_publisher') !== 'MicrosoftWindowsDesktop')
    problems.push('image_publisher must be "MicrosoftWindowsDesktop"');
  if (literal('image_offer') !== 'windows-ent-cpc') problems.push('image_offer must be "windows-ent-cpc"');
  const sku = get('image_sku');
  if (!sku || !exprRefersTo(template, sku.value, 'var.image_sku'))
    problems.push('image_sku must come from var.image_sku (validated)');
  const version = get('image_version');
  if (!version || !exprRefersTo(template, version.value, 'var.image_version'))
    problems.push('image_version must come from var.image_version');
  if (literal('os_type') !== 'Windows') problems.push('os_type must be "Windows"');

  for (const name of ['managed_image_name', 'managed_image_resource_group_name']) {
    const a = get(name);
    if (!a || !exprRefersTo(template, a.value, `var.${name}`))
      problems.push(`${name} must be set from var.${name} (managed image output, R11)`);
  }

  const size = get('vm_size');
  const sizeValue = size
    ? (resolveLiteral(template, size.value) ??
      (/^var\.(\w+)$/.exec(size.valueText.trim())?.[1] !== undefined
        ? variableDefault(template, /^var\.(\w+)$/.exec(size.valueText.trim())?.[1] ?? '')
        : undefined))
    : undefined;
  if (!sizeValue) problems.push('vm_size must be set (the plugin default Standard_A1 is far too small)');
  else if (/^Standard_(A\d|B1)/i.test(sizeValue))
    problems.push(`vm_size ${sizeValue} is too small for a build`);

  for (const name of ['location', 'build_resource_group_name']) {
    const a = get(name);
    if (!a || !exprRefersTo(template, a.value, `var.${name}`))
      problems.push(`${name} must come from var.${name}`);
  }
  const publicIp = get('private_virtual_network_with_public_ip');
  if (publicIp && publicIp.valueText.trim() !== 'false')
    problems.push('private_virtual_network_with_public_ip must stay false: a VNet build gets no public IP');

  if (literal('communicator') !== 'winrm') problems.push('communicator must be "winrm"');
  if (get('winrm_use_ssl')?.valueText.trim() !== 'true')
    problems.push('winrm_use_ssl must be true (WinRM over TLS)');
  if (get('winrm_insecure')?.valueText.trim() !== 'true')
    problems.push('winrm_insecure must be true (self-signed build certificate)');
  if (!get('winrm_timeout')) problems.push('winrm_timeout must be set (first boot can take 10+ minutes)');

  // Credentials only through variables; secrets sensitive.
  for (const name of [
    'subscription_id',
    'client_id',
    'client_secret',
    'oidc_request_url',
    'oidc_request_token',
    'use_azure_cli_auth',
  ]) {
    const a = get(name);
    if (!a || a.valueText.trim() !== `var.${name}`) problems.push(`${name} must be exactly var.${name}`);
  }
  for (const secret of ['client_secret', 'oidc_request_token']) {
    const variable = template.variables.get(secret);
    if (!variable || attr(variable, 'sensitive')?.valueText.trim() !== 'true')
      problems.push(`variable "${secret}" must be sensitive`);
  }

  const tags = get('azure_tags');
  if (!tags) problems.push('azure_tags must carry the provenance');
  else {
    const text = expand(template, tags.value);
    for (const needle of [
      'var.image_version',
      'var.template_version',
      'var.git_commit',
      'var.run_url',
      'MicrosoftWindowsDesktop',
      'windows-ent-cpc',
      'var.image_sku',
    ]) {
      if (!text.includes(needle)) problems.push(`azure_tags must include ${needle}`);
    }
  }
  return problems;
}

// ------------------------------------------------------------------------------------------
// build: provisioner order, facts download, check hook, manifest
// ------------------------------------------------------------------------------------------

export type Step =
  | 'stage-helpers'
  | 'recovery-partition'
  | 'windows-update'
  | 'remove-appx'
  | 'teams'
  | 'extras'
  | 'facts'
  | 'facts-download'
  | 'check'
  | 'sysprep'
  | 'restart'
  | 'other';

export interface ProvisionerStep {
  step: Step;
  type: string;
  line: number;
  file: string;
  text: string;
}

function scriptText(template: Template, block: HclBlock): string {
  return ['script', 'scripts', 'inline']
    .map((n) => attr(block, n))
    .filter((a) => a !== undefined)
    .map((a) => expand(template, a.value))
    .join('\n');
}

export function classifyProvisioner(template: Template, block: HclBlock): Step {
  const type = block.labels[0] ?? '';
  const scripts = scriptText(template, block);
  if (type === 'windows-restart') return 'restart';
  if (type === 'file') {
    const direction = attr(block, 'direction');
    if (direction && literalString(direction.value) === 'download') return 'facts-download';
    return 'stage-helpers';
  }
  if (type === 'shell-local') {
    const execute = attr(block, 'execute_command');
    const text = `${scripts}\n${execute ? expand(template, execute.value) : ''}`;
    return text.includes('var.sysprep_check_command') ? 'check' : 'other';
  }
  if (type === 'powershell') {
    if (scripts.includes('var.extra_scripts')) return 'extras';
    const named: [RegExp, Step][] = [
      [/\/sysprep\.ps1"/, 'sysprep'],
      [/\/facts\.ps1"/, 'facts'],
      [/\/teams\.ps1"/, 'teams'],
      [/\/windows-update\.ps1"/, 'windows-update'],
      [/\/recovery-partition\.ps1"/, 'recovery-partition'],
      [/\/remove-appx\.ps1"/, 'remove-appx'],
    ];
    for (const [pattern, step] of named) if (pattern.test(scripts)) return step;
  }
  return 'other';
}

export function provisionerSteps(template: Template): ProvisionerStep[] {
  const build = template.builds[0];
  if (!build) return [];
  return build.blocks
    .filter((b) => b.type === 'provisioner')
    .map((b) => ({
      step: classifyProvisioner(template, b),
      type: b.labels[0] ?? '',
      line: b.line,
      file: b.file,
      text: b.text,
    }));
}

/** base -> Teams -> extras -> facts -> facts download -> check hook -> sysprep (last). */
export function checkProvisionerOrder(template: Template): string[] {
  const problems: string[] = [];
  if (template.builds.length !== 1)
    return [`expected exactly one build block, found ${template.builds.length}`];
  const steps = provisionerSteps(template);
  const required: Step[] = ['teams', 'extras', 'facts', 'facts-download', 'check', 'sysprep'];
  const positions = new Map<Step, number>();
  for (const step of required) {
    const at = steps.map((s, i) => (s.step === step ? i : -1)).filter((i) => i >= 0);
    if (at.length !== 1) problems.push(`expected exactly one "${step}" provisioner, found ${at.length}`);
    else positions.set(step, at[0] as number);
  }
  for (let i = 1; i < required.length; i++) {
    const before = required[i - 1] as Step;
    const after = required[i] as Step;
    const a = positions.get(before);
    const b = positions.get(after);
    if (a !== undefined && b !== undefined && a > b)
      problems.push(`provisioner "${before}" must come before "${after}"`);
  }
  const last = steps[steps.length - 1];
  if (!last || last.step !== 'sysprep')
    problems.push(`sysprep must be the last provisioner (last is "${last?.step ?? 'none'}")`);
  steps.forEach((s, i) => {
    if (s.step !== 'sysprep' && /sysprep\.exe/i.test(s.text))
      problems.push(`provisioner ${i + 1} (${s.step}) runs Sysprep: only the last provisioner may`);
    if (
      s.step === 'windows-update' &&
      !/W365_WINDOWS_UPDATE_PASS=final/.test(s.text) &&
      steps[i + 1]?.step !== 'restart' &&
      steps[i + 1]?.step !== 'windows-update'
    )
      problems.push('a Windows Update pass must be followed by a windows-restart provisioner');
  });
  const hygiene: Step[] = ['recovery-partition', 'windows-update', 'remove-appx'];
  const teams = positions.get('teams');
  for (const step of hygiene) {
    const at = steps.findIndex((s) => s.step === step);
    if (at < 0) problems.push(`missing base hygiene provisioner "${step}"`);
    else if (teams !== undefined && at > teams) problems.push(`base hygiene "${step}" must run before Teams`);
  }
  return problems;
}

/** The facts download, the check hook and the manifest land where the action expects them. */
export function checkOutputs(template: Template): string[] {
  const problems: string[] = [];
  const build = template.builds[0];
  if (!build) return ['no build block'];
  const provisioners = build.blocks.filter((b) => b.type === 'provisioner');

  const download = provisioners.find((b) => classifyProvisioner(template, b) === 'facts-download');
  const facts = provisioners.find((b) => classifyProvisioner(template, b) === 'facts');
  const destination = download ? attr(download, 'destination') : undefined;
  const destinationText = destination ? expand(template, destination.value) : '';
  if (!destinationText.includes('var.output_directory') || !destinationText.includes('var.facts_file_name'))
    problems.push('the facts download must land in var.output_directory as var.facts_file_name');
  const source = download ? attr(download, 'source') : undefined;
  const factsEnv = facts ? attr(facts, 'environment_vars') : undefined;
  if (!source || !factsEnv || !expand(template, factsEnv.value).includes(expand(template, source.value)))
    problems.push('the facts download must fetch the path the facts script writes (W365_FACTS_PATH)');

  const check = provisioners.find((b) => classifyProvisioner(template, b) === 'check');
  const execute = check ? attr(check, 'execute_command') : undefined;
  const executeText = execute ? expand(template, execute.value) : '';
  const inline = check ? attr(check, 'inline') : undefined;
  const inlineText = inline ? expand(template, inline.value) : '';
  if (!/length\(var\.sysprep_check_command\) == 0/.test(executeText))
    problems.push('the check hook must be off when var.sysprep_check_command is empty');
  if (!executeText.includes('--facts') || !executeText.includes('var.facts_file_name'))
    problems.push('the check hook must pass --facts <downloaded facts path>');
  // The command and the facts path go to Packer as an argument vector: never spliced into a shell string.
  if (!/concat\(var\.sysprep_check_command, \["--facts", /.test(executeText))
    problems.push(
      'the check hook must run var.sysprep_check_command as an argument vector (execute_command)',
    );
  if (/\$\{/.test(inlineText))
    problems.push('the check hook must not splice values into its inline shell script');

  const manifests = build.blocks.filter((b) => b.type === 'post-processor' && b.labels[0] === 'manifest');
  if (manifests.length !== 1)
    problems.push(`expected one manifest post-processor, found ${manifests.length}`);
  const manifest = manifests[0];
  if (manifest) {
    const output = attr(manifest, 'output');
    const outputText = output ? expand(template, output.value) : '';
    if (!outputText.includes('var.output_directory') || !outputText.includes('var.manifest_file_name'))
      problems.push('the manifest output must be var.output_directory / var.manifest_file_name');
    const custom = attr(manifest, 'custom_data');
    const customText = custom ? expand(template, custom.value) : '';
    for (const needle of ['var.git_commit', 'var.run_url', 'var.template_version', 'var.image_sku'])
      if (!customText.includes(needle)) problems.push(`manifest custom_data must include ${needle}`);
  }
  return problems;
}

// ------------------------------------------------------------------------------------------
// Variables and locals
// ------------------------------------------------------------------------------------------

export function checkVariableUsage(template: Template, varFileNames: string[] = []): string[] {
  const problems: string[] = [];
  const usedVars = new Set<string>();
  const usedLocals = new Set<string>();
  for (const file of template.files) {
    for (const ref of references(file.root, file.path)) {
      if (ref.kind === 'var') {
        if (!template.variables.has(ref.name))
          problems.push(`${ref.file}:${ref.line}: var.${ref.name} is not declared`);
      }
      if (ref.kind === 'local' && !template.locals.has(ref.name))
        problems.push(`${ref.file}:${ref.line}: local.${ref.name} is not declared`);
    }
    // Uses outside a variable's own declaration (its validation may refer to itself only).
    const visit = (node: Node): void => {
      if (node.type === 'block') {
        const type = node.namedChildren[0]?.text;
        const label = node.namedChildren[1]?.text.replace(/^"|"$/g, '');
        if (type === 'variable') {
          for (const ref of references(node, file.path))
            if (ref.kind === 'var' && ref.name !== label)
              problems.push(`${file.path}:${ref.line}: variable "${label}" refers to var.${ref.name}`);
          return;
        }
      }
      if (node.type === 'variable_expr') {
        const next = node.nextNamedSibling;
        const name = next?.type === 'get_attr' ? next.namedChildren[0]?.text : undefined;
        if (name && node.text === 'var') usedVars.add(name);
        if (name && node.text === 'local') usedLocals.add(name);
      }
      for (const child of node.namedChildren) visit(child);
    };
    visit(file.root);
  }
  for (const name of template.variables.keys())
    if (!usedVars.has(name)) problems.push(`variable "${name}" is declared but never used`);
  for (const name of template.locals.keys())
    if (!usedLocals.has(name)) problems.push(`local "${name}" is declared but never used`);
  for (const name of varFileNames)
    if (!template.variables.has(name)) problems.push(`variables file sets undeclared variable "${name}"`);
  return problems;
}

// ------------------------------------------------------------------------------------------
// SKU validation
// ------------------------------------------------------------------------------------------

/** The regex of the image_sku validation, as a JavaScript RegExp (RE2 subset). */
export function skuValidationPattern(template: Template): RegExp | undefined {
  const variable = template.variables.get('image_sku');
  const validation = variable?.blocks.find((b) => b.type === 'validation');
  const condition = validation ? attr(validation, 'condition') : undefined;
  if (!condition) return undefined;
  for (const node of walk(condition.value)) {
    if (node.type !== 'function_call' || node.namedChildren[0]?.text !== 'regex') continue;
    const args = node.namedChildren.find((c) => c.type === 'function_arguments')?.namedChildren ?? [];
    const pattern = args[0] ? literalString(args[0]) : undefined;
    if (pattern === undefined || args[1]?.text.trim() !== 'var.image_sku') return undefined;
    return new RegExp(pattern);
  }
  return undefined;
}
