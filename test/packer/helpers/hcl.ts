// A small, order-preserving model of Packer HCL2 files built from the tree-sitter HCL grammar.
import type { Node } from 'web-tree-sitter';
import { syntaxProblems, walk } from './tree-sitter.ts';
import type { SourceParser, SyntaxProblem } from './tree-sitter.ts';

export interface SourceFile {
  /** Repository-relative path, for messages. */
  path: string;
  text: string;
}

export interface HclAttribute {
  name: string;
  /** The expression node (value). */
  value: Node;
  valueText: string;
  line: number;
}

export interface HclBlock {
  type: string;
  labels: string[];
  attributes: HclAttribute[];
  blocks: HclBlock[];
  line: number;
  text: string;
  file: string;
}

export interface HclFile extends SourceFile {
  blocks: HclBlock[];
  attributes: HclAttribute[];
  syntax: SyntaxProblem[];
  root: Node;
}

function labelText(node: Node): string {
  if (node.type === 'identifier') return node.text;
  // string_lit: quoted_template_start, template_literal?, quoted_template_end
  return node.text.replace(/^"|"$/g, '');
}

function bodyOf(node: Node): Node | undefined {
  return node.namedChildren.find((child) => child.type === 'body');
}

function readBody(body: Node | undefined, file: string): { attributes: HclAttribute[]; blocks: HclBlock[] } {
  const attributes: HclAttribute[] = [];
  const blocks: HclBlock[] = [];
  if (!body) return { attributes, blocks };
  for (const child of body.namedChildren) {
    if (child.type === 'attribute') {
      const name = child.namedChildren.find((c) => c.type === 'identifier');
      const value = child.namedChildren.find((c) => c.type === 'expression');
      if (name && value) {
        attributes.push({ name: name.text, value, valueText: value.text, line: child.startPosition.row + 1 });
      }
    } else if (child.type === 'block') {
      blocks.push(readBlock(child, file));
    }
  }
  return { attributes, blocks };
}

function readBlock(node: Node, file: string): HclBlock {
  const parts = node.namedChildren;
  const type = parts[0]?.text ?? '';
  const labels = parts.slice(1).filter((c) => c.type === 'string_lit' || c.type === 'identifier');
  const { attributes, blocks } = readBody(bodyOf(node), file);
  return {
    type,
    labels: labels.map(labelText),
    attributes,
    blocks,
    line: node.startPosition.row + 1,
    text: node.text,
    file,
  };
}

export function parseHclFile(parse: SourceParser, file: SourceFile): HclFile {
  const tree = parse(file.text);
  const root = tree.rootNode;
  const { attributes, blocks } = readBody(bodyOf(root), file.path);
  return { ...file, root, blocks, attributes, syntax: syntaxProblems(root) };
}

export function attr(block: HclBlock, name: string): HclAttribute | undefined {
  return block.attributes.find((a) => a.name === name);
}

/** Unescaped value of a plain string literal expression ("..." without interpolation), else undefined. */
export function literalString(expression: Node): string | undefined {
  const text = expression.text.trim();
  const match = /^"((?:[^"\\$%]|\\.|\$(?!\{)|%(?!\{))*)"$/.exec(text);
  if (!match) return undefined;
  return (match[1] ?? '').replace(/\\(.)/g, (_m, c: string) => ({ n: '\n', t: '\t' })[c] ?? c);
}

export interface Reference {
  kind: string;
  name: string;
  line: number;
  file: string;
}

/** Every `var.X`, `local.X`, `build.X`, `path.X` ... reference under a node, in source order. */
export function references(node: Node, file: string): Reference[] {
  const found: Reference[] = [];
  for (const n of walk(node)) {
    if (n.type !== 'variable_expr') continue;
    const next = n.nextNamedSibling;
    const kind = n.text;
    if (next?.type === 'get_attr') {
      const name = next.namedChildren.find((c) => c.type === 'identifier')?.text ?? '';
      found.push({ kind, name, line: n.startPosition.row + 1, file });
    }
  }
  return found;
}

export interface Template {
  files: HclFile[];
  variables: Map<string, HclBlock>;
  locals: Map<string, HclAttribute>;
  sources: HclBlock[];
  builds: HclBlock[];
}

export function loadTemplate(parse: SourceParser, files: SourceFile[]): Template {
  const parsed = files.map((f) => parseHclFile(parse, f));
  const variables = new Map<string, HclBlock>();
  const locals = new Map<string, HclAttribute>();
  const sources: HclBlock[] = [];
  const builds: HclBlock[] = [];
  for (const file of parsed) {
    for (const block of file.blocks) {
      if (block.type === 'variable' && block.labels[0]) variables.set(block.labels[0], block);
      if (block.type === 'locals') for (const a of block.attributes) locals.set(a.name, a);
      if (block.type === 'source') sources.push(block);
      if (block.type === 'build') builds.push(block);
    }
  }
  return { files: parsed, variables, locals, sources, builds };
}

/**
 * Follows `local.X` indirections (up to a few levels) and returns the expression text with
 * every local reference expanded, so invariants can be checked on what Packer will evaluate.
 */
export function expand(template: Template, expression: Node, depth = 0): string {
  let text = expression.text;
  if (depth > 5) return text;
  for (const ref of references(expression, '')) {
    if (ref.kind !== 'local') continue;
    const target = template.locals.get(ref.name);
    if (!target) continue;
    text = text.split(`local.${ref.name}`).join(`(${expand(template, target.value, depth + 1)})`);
  }
  return text;
}

/** The literal string an expression resolves to through `local.X` indirections, if any. */
export function resolveLiteral(template: Template, expression: Node, depth = 0): string | undefined {
  const direct = literalString(expression);
  if (direct !== undefined || depth > 5) return direct;
  const match = /^local\.([A-Za-z0-9_]+)$/.exec(expression.text.trim());
  const target = match?.[1] ? template.locals.get(match[1]) : undefined;
  return target ? resolveLiteral(template, target.value, depth + 1) : undefined;
}
