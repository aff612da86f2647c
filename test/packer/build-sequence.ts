// The template's provisioner sequence as data, for the PowerShell suite's Packer-faithful build
// (test/powershell/build-sequence.json is this, written down; build-sequence.test.ts keeps them equal).
import { attr, loadTemplate } from './helpers/hcl.ts';
import type { Template } from './helpers/hcl.ts';
import { templateFiles } from './helpers/repo.ts';
import { hclParser } from './helpers/tree-sitter.ts';

export interface BuildSequence {
  variables: Record<string, string>;
  locals: Record<string, string>;
  provisioners: { type: string; attributes: Record<string, string> }[];
}

export function buildSequence(template: Template): BuildSequence {
  const build = template.builds[0];
  const provisioners = (build?.blocks ?? [])
    .filter((b) => b.type === 'provisioner')
    .map((b) => ({
      type: b.labels[0] ?? '',
      attributes: Object.fromEntries(b.attributes.map((a) => [a.name, a.valueText])),
    }));
  const variables = Object.fromEntries(
    [...template.variables.entries()].map(([name, block]) => [name, attr(block, 'default')?.valueText ?? '']),
  );
  const locals = Object.fromEntries([...template.locals.entries()].map(([name, a]) => [name, a.valueText]));
  return { variables, locals, provisioners };
}

export async function currentBuildSequence(): Promise<BuildSequence> {
  return buildSequence(loadTemplate(await hclParser(), templateFiles()));
}

if (import.meta.main) {
  console.log(JSON.stringify(await currentBuildSequence(), null, 2));
}
