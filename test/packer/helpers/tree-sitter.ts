// Loads web-tree-sitter 0.27 (named exports Parser/Language, one-time Parser.init()) with the
// HCL and PowerShell grammars that ship as .wasm files in their npm packages.
import { createRequire } from 'node:module';
import { Language, Parser } from 'web-tree-sitter';
import type { Node, Tree } from 'web-tree-sitter';

const require = createRequire(import.meta.url);

let initialized: Promise<void> | undefined;
const languages = new Map<string, Promise<Language>>();

function init(): Promise<void> {
  initialized ??= Parser.init();
  return initialized;
}

async function language(wasmSpecifier: string): Promise<Language> {
  await init();
  let loaded = languages.get(wasmSpecifier);
  if (!loaded) {
    loaded = Language.load(require.resolve(wasmSpecifier));
    languages.set(wasmSpecifier, loaded);
  }
  return loaded;
}

export type SourceParser = (text: string) => Tree;

async function makeParser(wasmSpecifier: string): Promise<SourceParser> {
  const lang = await language(wasmSpecifier);
  const parser = new Parser();
  parser.setLanguage(lang);
  return (text: string) => {
    const tree = parser.parse(text);
    if (!tree) throw new Error(`tree-sitter returned no tree for ${wasmSpecifier}`);
    return tree;
  };
}

export function hclParser(): Promise<SourceParser> {
  return makeParser('@tree-sitter-grammars/tree-sitter-hcl/tree-sitter-hcl.wasm');
}

export function powershellParser(): Promise<SourceParser> {
  return makeParser('tree-sitter-powershell/tree-sitter-powershell.wasm');
}

export interface SyntaxProblem {
  line: number;
  column: number;
  kind: 'ERROR' | 'MISSING';
  text: string;
}

/** Every ERROR node and MISSING node in the tree, 1-based positions. */
export function syntaxProblems(root: Node): SyntaxProblem[] {
  const problems: SyntaxProblem[] = [];
  const visit = (node: Node): void => {
    if (node.isError || node.isMissing) {
      problems.push({
        line: node.startPosition.row + 1,
        column: node.startPosition.column + 1,
        kind: node.isMissing ? 'MISSING' : 'ERROR',
        text: node.isMissing ? node.type : node.text.slice(0, 80),
      });
      if (node.isMissing) return;
    }
    if (!node.hasError && !node.isError) return;
    for (const child of node.children) visit(child);
  };
  visit(root);
  return problems;
}

/** Depth-first walk over named and anonymous nodes. */
export function* walk(node: Node): Generator<Node> {
  yield node;
  for (const child of node.children) yield* walk(child);
}
