import { describe, expect, it } from 'vitest';
import { pathsLeaving, repositoryPathsLeaving, trackedFiles } from './repoPaths.ts';

// Built from parts so this file does not itself name a folder beside the repository.
const up = ['..', ''].join('/');
const parent = "'..'";

describe('a clone stands alone', () => {
  it('scans the tracked sources, tests, scripts, workflows and docs', () => {
    const files = trackedFiles();
    expect(files).toEqual(
      expect.arrayContaining([
        'test/packer/helpers/repo.ts',
        'test/packer/data/azure-arm-fields.txt',
        '.github/workflows/ci.yml',
        'scripts/start.mjs',
        'README.md',
      ]),
    );
    expect(files.some((f) => f.startsWith('dist/'))).toBe(false);
  });

  it('no tracked file reads a path outside the repository', () => {
    expect(repositoryPathsLeaving().map((p) => `${p.file}:${p.line}: ${p.text} -> ${p.resolved}`)).toEqual(
      [],
    );
  });
});

describe('the scanner finds paths that leave the repository', () => {
  it('a join of repoRoot and a parent folder (the old arm-fields path)', () => {
    const text = `const p = path.resolve(repoRoot, ${parent}, 'shared', 'data', 'azure-arm-fields.txt');\n`;
    expect(pathsLeaving('test/packer/helpers/repo.ts', text).map((p) => p.line)).toEqual([1]);
  });

  it('one parent folder too many from the file itself', () => {
    const inside = `export const root = resolve(import.meta.dirname, ${parent}, ${parent});\n`;
    const outside = `export const root = resolve(import.meta.dirname, ${parent}, ${parent}, ${parent});\n`;
    expect(pathsLeaving('test/unit/x.ts', inside)).toEqual([]);
    expect(pathsLeaving('test/unit/x.ts', outside)).toHaveLength(1);
    const url = `readFileSync(new URL('${up}${up}${up}facts.json', import.meta.url));\n`;
    expect(pathsLeaving('test/unit/x.ts', url)).toHaveLength(1);
    const literal = `const f = '${up}${up}${up}shared/x.txt';\n`;
    expect(pathsLeaving('test/unit/x.ts', literal)).toHaveLength(1);
    expect(pathsLeaving('test/unit/x.ts', `import { a } from '${up}${up}src/a.ts';\n`)).toEqual([]);
  });

  it('a workflow step or a script reading beside the clone (steps run at the repository root)', () => {
    const step = `      - run: cp ${up}shared/data/x.txt test/\n`;
    expect(pathsLeaving('.github/workflows/ci.yml', step)).toHaveLength(1);
    expect(pathsLeaving('package.json', `"pretest": "cat ${up}shared/x"`)).toHaveLength(1);
    expect(pathsLeaving('.github/workflows/ci.yml', `      - run: cat ./packer/README.md\n`)).toEqual([]);
  });

  it('a Markdown link to a parent of the repository, but not one to a sibling document', () => {
    expect(pathsLeaving('docs/troubleshooting.md', `[readme](${up}README.md)\n`)).toEqual([]);
    expect(pathsLeaving('docs/troubleshooting.md', `[facts](${up}${up}shared/PLATFORM.md)\n`)).toHaveLength(
      1,
    );
    expect(pathsLeaving('README.md', '`/subscriptions/.../images/x`\n')).toEqual([]);
  });
});
