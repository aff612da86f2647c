// The house plan, enforced: every folder of src/ has a floor, imports only point down (or stay in their folder), no
// file imports itself round a loop, the fake cloud and the scripts stand on their own, and test/ mirrors src/.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

/**
 * Top floor first. A module may import from its own folder or from any floor below its own. Files straight under
 * src/ are named with their extension; folders without. Keep CONTRIBUTING.md's map in step with this list.
 */
export const FLOORS: readonly (readonly string[])[] = [
  ['index.ts'],
  ['main.ts', 'cli.ts'],
  ['commands'],
  ['pipeline'],
  ['report'],
  ['rollout'],
  ['register'],
  ['validate'],
  ['base'],
  ['imageBuild'],
  ['record'],
  ['check'],
  ['results'],
  ['graph'],
  ['azure'],
  ['net'],
  ['config'],
  ['util', 'version.ts', 'paths.ts', 'nodeVersion.ts'],
];

/** Files outside src/ that src/ may import: the facts schema the template ships is the one the check validates with. */
const SHARED_WITH_THE_TEMPLATE = ['packer/facts.schema.json'];

/** Homes in test/ that are not a folder of src/: the bundle, the workflows, and the top-level folders they test. */
const TEST_HOMES_BESIDE_SRC = [
  'e2e',
  'workflows',
  'fake-cloud',
  'packer',
  'powershell',
  'scripts',
  'fixtures',
];

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm;

/** Relative imports of a file, as repository paths. */
export function importsOf(file: string, text = readFileSync(file, 'utf8')): string[] {
  return [...text.matchAll(IMPORT)]
    .map((m) => m[1]!)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => relative(ROOT, resolve(dirname(file), spec)));
}

/** The room of a src path: its top folder, or the file's own name when it stands straight under src/. */
function roomOf(path: string): string {
  return relative(join(ROOT, 'src'), join(ROOT, path)).split('/')[0]!;
}

function floorOf(room: string): number {
  return FLOORS.findIndex((floor) => floor.includes(room));
}

const sources = filesUnder(join(ROOT, 'src')).filter((f) => f.endsWith('.ts'));
const graph = new Map(sources.map((f) => [relative(ROOT, f), importsOf(f)]));

/** Files that import one another round a loop (Tarjan's strongly connected components of size > 1). */
function loops(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next++);
    stack.push(node);
    onStack.add(node);
    for (const to of edges.get(node) ?? []) {
      if (!edges.has(to)) continue;
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node)!, low.get(to)!));
      } else if (onStack.has(to)) low.set(node, Math.min(low.get(node)!, index.get(to)!));
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (edges.get(node) ?? []).includes(node)) found.push(component.sort());
    }
  };
  for (const node of edges.keys()) if (!index.has(node)) visit(node);
  return found;
}

describe('the layer order of src/', () => {
  it('gives every folder and top-level file of src/ a floor', () => {
    const rooms = readdirSync(join(ROOT, 'src'));
    expect(rooms.filter((room) => floorOf(room) < 0)).toEqual([]);
    expect(FLOORS.flat().filter((room) => !rooms.includes(room))).toEqual([]);
  });

  it('has no import that runs up a floor or across to another room of the same floor', () => {
    const upward: string[] = [];
    for (const [file, imports] of graph) {
      const from = roomOf(file);
      for (const to of imports) {
        if (SHARED_WITH_THE_TEMPLATE.includes(to)) continue;
        if (!to.startsWith('src/')) {
          upward.push(`${file} -> ${to} (outside src/)`);
          continue;
        }
        const room = roomOf(to);
        if (room !== from && floorOf(room) <= floorOf(from)) upward.push(`${file} -> ${to}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('has no import loop, not even inside one folder', () => {
    expect(loops(graph)).toEqual([]);
  });

  it('finds the loops and the upward imports it is there to catch', () => {
    const loop = new Map([
      ['src/a/x.ts', ['src/a/y.ts']],
      ['src/a/y.ts', ['src/a/x.ts']],
      ['src/a/z.ts', []],
    ]);
    expect(loops(loop)).toEqual([['src/a/x.ts', 'src/a/y.ts']]);
    const file = join(ROOT, 'src/util/example.ts');
    expect(importsOf(file, "import { runPipeline } from '../pipeline/run.ts';\n")).toEqual([
      'src/pipeline/run.ts',
    ]);
    expect(floorOf(roomOf('src/pipeline/run.ts'))).toBeLessThan(floorOf(roomOf('src/util/log.ts')));
  });
});

describe('the homes beside src/', () => {
  it('keeps the fake cloud independent of the code it fakes for and of the tests', () => {
    const reaching = filesUnder(join(ROOT, 'fake-cloud'))
      .filter((f) => f.endsWith('.ts'))
      .flatMap((f) => importsOf(f).map((to) => `${relative(ROOT, f)} -> ${to}`))
      .filter((edge) => /-> (src|test)\//.test(edge));
    expect(reaching).toEqual([]);
  });

  it('lets scripts/ import nothing from test/', () => {
    const reaching = filesUnder(join(ROOT, 'scripts'))
      .filter((f) => /\.(ts|mjs)$/.test(f))
      .flatMap((f) => importsOf(f).map((to) => `${relative(ROOT, f)} -> ${to}`))
      .filter((edge) => edge.includes('-> test/'));
    expect(reaching).toEqual([]);
  });

  it('mirrors src/ in test/: every test folder is a folder of src/ or the home of a top-level folder', () => {
    const srcFolders = readdirSync(join(ROOT, 'src')).filter((n) =>
      statSync(join(ROOT, 'src', n)).isDirectory(),
    );
    const testFolders = readdirSync(join(ROOT, 'test')).filter((n) =>
      statSync(join(ROOT, 'test', n)).isDirectory(),
    );
    expect(testFolders.filter((n) => !srcFolders.includes(n) && !TEST_HOMES_BESIDE_SRC.includes(n))).toEqual(
      [],
    );
    for (const home of TEST_HOMES_BESIDE_SRC.filter(
      (n) => n !== 'e2e' && n !== 'fixtures' && n !== 'powershell',
    )) {
      expect(testFolders, `test/${home}`).toContain(home);
    }
  });
});

describe('the map in CONTRIBUTING.md', () => {
  it('names the folders of src/ in the floor order the layer test enforces', () => {
    const text = readFileSync(join(ROOT, 'CONTRIBUTING.md'), 'utf8');
    const map = /## The house[\s\S]*?```text\n([\s\S]*?)```/.exec(text)?.[1] ?? '';
    const mapped = [...map.matchAll(/^src\/([A-Za-z]+)\//gm)].map((m) => m[1]!);
    const folders = FLOORS.flat().filter((room) => !room.endsWith('.ts'));
    expect(mapped).toEqual(folders);
  });
});
