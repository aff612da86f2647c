import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  events,
  hasIdTokenWrite,
  isAzureStep,
  load,
  officialErrors,
  productionProblems,
  scheduleProblems,
  schemaProblems,
  securityProblems,
  unbalancedExpressions,
} from './policy.ts';

const DIR = join(import.meta.dirname, '..', '..', '.github', 'workflows');
const FILES = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));
const read = (file: string) => readFileSync(join(DIR, file), 'utf8');
/** The dist/ drift check: status, not diff, so a new file the bundle writes counts too. */
const DIST_CHECK = 'git status --porcelain -- dist';

describe('every workflow', () => {
  it('has the three workflows', () => {
    expect(FILES.sort()).toEqual(expect.arrayContaining(['ci.yml', 'image-pr.yml', 'monthly-rebuild.yml']));
  });

  it.each(FILES)('%s passes the official workflow parser', async (file) => {
    expect(await officialErrors(file, read(file))).toEqual([]);
  });

  it.each(FILES)('%s has runs-on and permissions on every job, uses or run on every step', (file) => {
    expect(schemaProblems(read(file))).toEqual([]);
  });

  it.each(FILES)('%s is safe for fork pull requests and grants id-token only to Azure jobs', (file) => {
    expect(securityProblems(read(file))).toEqual([]);
  });

  it.each(FILES)('%s never uses pull_request_target', (file) => {
    expect(Object.keys(events(load(read(file))))).not.toContain('pull_request_target');
  });
});

describe('image-pr.yml', () => {
  const text = read('image-pr.yml');
  const wf = load(text);
  const jobs = wf.jobs ?? {};

  it('runs on pull_request for template changes', () => {
    const on = events(wf);
    expect(Object.keys(on)).toEqual(['pull_request']);
    expect(JSON.stringify(on.pull_request)).toContain('packer/**');
  });

  it('template job only validates, without id-token, for every pull request', () => {
    const template = jobs.template!;
    expect(template.if).toBeUndefined();
    expect(hasIdTokenWrite(template.permissions)).toBe(false);
    // It may comment on same-repository pull requests; a fork's token is read-only whatever the job asks for.
    expect(template.permissions).toEqual({ contents: 'read', 'pull-requests': 'write' });
    const action = template.steps?.find((s) => s.uses === './');
    expect(action?.with?.build).toBe('validate');
    expect(template.steps?.some(isAzureStep)).toBe(false);
  });

  it('build job is same-repository only, in pr-images, never registers, and deletes its image', () => {
    const build = jobs.build!;
    expect(build.if).toBe('github.event.pull_request.head.repo.full_name == github.repository');
    expect(build.environment).toBe('pr-images');
    expect(build.permissions).toEqual({
      'id-token': 'write',
      contents: 'read',
      'pull-requests': 'write',
      actions: 'read',
    });
    const steps = build.steps ?? [];
    const packer = steps.findIndex((s) => s.uses?.startsWith('hashicorp/setup-packer@'));
    const action = steps.findIndex((s) => s.uses === './');
    expect(packer).toBeGreaterThanOrEqual(0);
    expect(action).toBeGreaterThan(packer);
    const withs = steps[action]!.with!;
    expect(withs.build).toBe('true');
    expect(withs.register).toBe('false');
    expect(String(withs['packer-vars'])).toMatch(/managed_image_name=\$\{\{ env\.IMAGE_NAME \}\}/);
    expect((build.env as Record<string, string>).IMAGE_NAME).toBe(
      'pr-${{ github.event.pull_request.number }}-${{ github.run_attempt }}',
    );
    const login = steps.findIndex((s) => s.uses?.startsWith('azure/login@'));
    const cleanup = steps.findIndex((s) => /az image delete/.test(s.run ?? ''));
    expect(login).toBeGreaterThan(action);
    expect(cleanup).toBeGreaterThan(login);
    expect(steps[login]!.if).toBe('always()');
    expect(steps[cleanup]!.if).toBe('always()');
    expect(steps[cleanup]!.run).toContain('"$IMAGE_NAME"');
  });
});

describe('monthly-rebuild.yml', () => {
  const text = read('monthly-rebuild.yml');
  const wf = load(text);
  const image = wf.jobs?.image;

  it('runs daily after Patch Tuesday with a dispatch sibling and builds only when something changed', () => {
    expect(scheduleProblems(text)).toEqual([]);
    const on = events(wf);
    expect(JSON.stringify(on.schedule)).toContain('9-15');
    expect(JSON.stringify(on.workflow_dispatch)).toContain('dry-run');
    const action = image?.steps?.find((s) => s.uses === './');
    expect(action?.with?.['skip-if-unchanged']).toBe('true');
  });

  it('rolls out in a protected environment, one run at a time', () => {
    expect(productionProblems(text)).toEqual([]);
    expect(image?.environment).toBe('production');
    expect(wf.concurrency).toMatchObject({ group: 'monthly-rebuild', 'cancel-in-progress': false });
    // actions: read finds the previous image record (an artifact of an earlier run).
    expect(image?.permissions).toEqual({ 'id-token': 'write', contents: 'read', actions: 'read' });
  });

  it('builds both SKUs, each under its own display name, and registers and rolls out', () => {
    const include = (image?.strategy as { matrix: { include: Record<string, string>[] } }).matrix.include;
    expect(include.map((m) => m.sku)).toEqual(['win11-25h2-ent-cpc', 'win11-25h2-ent-cpc-m365']);
    expect(new Set(include.map((m) => m['display-name'])).size).toBe(2);
    const action = image?.steps?.find((s) => s.uses === './');
    // A dry run only checks the template: it must never build (that creates an image in Azure).
    expect(action?.with?.build).toBe("${{ inputs.dry-run == true && 'validate' || 'true' }}");
    expect(action?.with).toMatchObject({
      'display-name': '${{ matrix.display-name }}',
      'keep-images': '3',
      'delete-source-image': 'true',
      'provisioning-policies': '${{ matrix.policy }}',
    });
    expect(action?.with?.register).toBeUndefined(); // default true
    expect(String(action?.with?.['packer-vars'])).toContain('image_sku=${{ matrix.sku }}');
  });
});

describe('ci.yml', () => {
  const wf = load(read('ci.yml'));
  it('runs lint, typecheck, bundle with a dist/ diff check, and tests with a read-only token', () => {
    expect(Object.keys(events(wf))).toEqual(expect.arrayContaining(['push', 'pull_request']));
    expect(wf.permissions).toEqual({ contents: 'read' });
    const runs = (wf.jobs?.ci?.steps ?? [])
      .map((s) => s.run ?? '')
      .filter(Boolean)
      .map((r) => (r.includes(DIST_CHECK) ? DIST_CHECK : r));
    const order = ['npm ci', 'npm run lint', 'npm run typecheck', 'npm run bundle', DIST_CHECK, 'npm test'];
    expect(runs).toEqual(order);
  });
});

describe('the dist/ check after npm run bundle (ci.yml and release.yml)', () => {
  const distStep = (file: string) =>
    (load(read(file)).jobs ?? {})[file === 'ci.yml' ? 'ci' : 'major-tag']?.steps?.find((s) =>
      (s.run ?? '').includes(DIST_CHECK),
    )?.run;

  it('is the same step in both workflows', () => {
    expect(distStep('ci.yml')).toBeDefined();
    expect(distStep('release.yml')).toBe(distStep('ci.yml'));
  });

  async function repo(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'w365-dist-check-'));
    const git = (...args: string[]) => spawnSync('git', args, { cwd: dir, encoding: 'utf8' });
    git('init', '-q');
    await mkdir(join(dir, 'dist'));
    await writeFile(join(dir, 'dist', 'index.js'), 'bundle\n');
    await writeFile(join(dir, 'dist', 'licenses.txt'), 'licences\n');
    git('add', '.');
    git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-q', '-m', 'dist');
    return dir;
  }
  const check = (dir: string) =>
    spawnSync('bash', ['-e', '-c', distStep('ci.yml') ?? 'exit 99'], { cwd: dir, encoding: 'utf8' });

  it('passes a dist/ equal to the commit', async () => {
    expect(check(await repo()).status).toBe(0);
  });

  it.each([
    ['a changed licences file', (dir: string) => writeFile(join(dir, 'dist', 'licenses.txt'), 'new\n')],
    ['a deleted licences file', (dir: string) => rm(join(dir, 'dist', 'licenses.txt'))],
    [
      'a new file git diff would not see',
      (dir: string) => writeFile(join(dir, 'dist', 'index.js.LEGAL.txt'), 'x'),
    ],
  ])('fails %s, telling the developer to run npm run bundle and commit', async (_, change) => {
    const dir = await repo();
    await change(dir);
    const run = check(dir);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('::error::dist/ does not match the sources');
    expect(run.stdout).toContain("run 'npm run bundle' and commit dist/");
    expect(run.stdout).toMatch(/dist\/(licenses|index)/);
  });
});

describe('the checkers catch broken workflows', () => {
  const pr = read('image-pr.yml');
  const monthly = read('monthly-rebuild.yml');

  it('reports pull_request_target', () => {
    const mutated = pr.replace('  pull_request:\n', '  pull_request_target:\n');
    expect(mutated).not.toBe(pr);
    expect(securityProblems(mutated)).toEqual(
      expect.arrayContaining([expect.stringContaining('pull_request_target')]),
    );
  });

  it('reports an id-token job without the fork guard', () => {
    const mutated = pr.replace(
      /\n\s+if: github\.event\.pull_request\.head\.repo\.full_name == github\.repository\n/,
      '\n',
    );
    expect(mutated).not.toBe(pr);
    expect(securityProblems(mutated)).toEqual([
      "job 'build' has id-token: write and can run for a fork pull request (no head-repo guard)",
    ]);
  });

  it('reports a guard weakened with ||', () => {
    const mutated = pr.replace(
      'if: github.event.pull_request.head.repo.full_name == github.repository',
      "if: github.event.pull_request.head.repo.full_name == github.repository || github.actor == 'x'",
    );
    expect(securityProblems(mutated)).toHaveLength(1);
  });

  it('reports id-token: write on the template job', () => {
    const mutated = pr.replace(
      '    permissions:\n      contents: read\n      pull-requests: write\n    timeout-minutes: 15',
      '    permissions:\n      contents: read\n      pull-requests: write\n      id-token: write\n    timeout-minutes: 15',
    );
    expect(mutated).not.toBe(pr);
    expect(securityProblems(mutated)).toEqual([
      "job 'template' has id-token: write and can run for a fork pull request (no head-repo guard)",
      "job 'template' has id-token: write but no step reaches Azure",
    ]);
  });

  it('reports workflow-level id-token and a job without permissions', () => {
    const mutated = monthly
      .replace('permissions: {}\n\n# One', 'permissions:\n  id-token: write\n\n# One')
      .replace(
        / {4}permissions:\n {6}id-token: write\n {6}contents: read\n(?: {6}#.*\n)? {6}actions: read\n/,
        '',
      );
    expect(mutated).not.toContain('actions: read');
    expect(securityProblems(mutated)).toEqual(
      expect.arrayContaining([expect.stringContaining('workflow level')]),
    );
    expect(schemaProblems(mutated)).toContain("job 'image' has no explicit permissions");
  });

  it('reports a schedule without workflow_dispatch, a weekday in cron and neither guard nor freshness gate', () => {
    const noDispatch = monthly.replace(/ {2}workflow_dispatch:\n(?: {4,}.*\n)+/, '');
    expect(scheduleProblems(noDispatch)).toEqual(['schedule without a workflow_dispatch sibling']);
    const cronWeekday = monthly.replace("'0 2 9-15 * *'", "'0 2 9-15 * 3'");
    expect(scheduleProblems(cronWeekday)).toEqual([expect.stringContaining('cron ORs them')]);
    const noGate = monthly.replace("skip-if-unchanged: 'true'", "skip-if-unchanged: 'false'");
    expect(noGate).not.toBe(monthly);
    expect(scheduleProblems(noGate)).toEqual([
      expect.stringContaining('no weekday guard'),
      'no job waits on the weekday guard output',
    ]);
  });

  it('reports a production job without environment or concurrency', () => {
    const mutated = monthly
      .replace('    environment: production\n', '')
      .replace(/concurrency:\n {2}group: monthly-rebuild\n {2}cancel-in-progress: false\n/, '');
    expect(productionProblems(mutated)).toEqual([
      "job 'image' reaches Azure without an environment",
      "job 'image' has no concurrency group",
    ]);
  });

  it('reports structural mistakes and unclosed expressions', async () => {
    const broken = [
      'on: push',
      'foo: bar',
      'jobs:',
      '  a:',
      '    steps:',
      '      - name: nothing to do',
      '      - run: echo ${{ github.sha',
      '      - uses: actions/checkout',
    ].join('\n');
    expect(schemaProblems(broken)).toEqual([
      "unknown top-level key 'foo'",
      "job 'a' has no runs-on",
      "job 'a' has no explicit permissions",
      "job 'a' step 1 needs exactly one of uses or run",
      "job 'a' step 3 uses 'actions/checkout' without a version",
      'unbalanced ${{ }} in jobs.a.steps[1].run',
    ]);
    const official = await officialErrors('broken.yml', broken);
    expect(official.join('\n')).toMatch(/Unexpected value 'foo'/);
    expect(official.join('\n')).toMatch(/expression is not closed/);
  });

  it('balances expressions', () => {
    expect(unbalancedExpressions('a ${{ b }} c ${{ d }}')).toBe(false);
    expect(unbalancedExpressions('a ${{ b c ${{ d }}')).toBe(true);
    expect(unbalancedExpressions('${{ b')).toBe(true);
  });
});

describe('release.yml', () => {
  const wf = load(read('release.yml'));
  const job = wf.jobs?.['major-tag'];
  const steps = job?.steps ?? [];
  const versionStep = steps.find((s) => s.id === 'version');

  it('runs when a release is published, never on a pre-release, one at a time, with contents: write only', () => {
    expect(events(wf)).toEqual({ release: { types: ['published'] } });
    expect(job?.if).toBe('${{ !github.event.release.prerelease }}');
    expect(wf.permissions).toEqual({});
    expect(job?.permissions).toEqual({ contents: 'write' });
    expect(wf.concurrency).toMatchObject({ group: 'release', 'cancel-in-progress': false });
  });

  it('checks the bundle before it moves the major tag, and takes the tag name only through the environment', () => {
    const runs = steps.map((s) => s.run ?? '');
    const bundle = runs.indexOf('npm run bundle');
    const diff = runs.findIndex((r) => r.includes(DIST_CHECK));
    const move = runs.findIndex((r) => r.includes('git push --force origin "refs/tags/$MAJOR"'));
    expect(bundle).toBeGreaterThan(steps.indexOf(versionStep!));
    expect(diff).toBeGreaterThan(bundle);
    expect(move).toBeGreaterThan(diff);
    expect(job?.env).toEqual({ TAG: '${{ github.event.release.tag_name }}' });
    // Release names and tags are user text: never pasted into a script.
    for (const run of runs) expect(run).not.toContain('${{');
  });

  describe('the version check step', () => {
    async function check(tag: string, version: string, changelog: string) {
      const dir = await mkdtemp(join(tmpdir(), 'w365-release-'));
      await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'w365-image', version }));
      await writeFile(join(dir, 'CHANGELOG.md'), changelog);
      const output = join(dir, 'output');
      await writeFile(output, '');
      const run = spawnSync('bash', ['-e', '-c', versionStep?.run ?? 'exit 99'], {
        cwd: dir,
        env: { PATH: `${dirname(process.execPath)}:${process.env.PATH}`, TAG: tag, GITHUB_OUTPUT: output },
        encoding: 'utf8',
      });
      return { code: run.status, stdout: run.stdout, output: await readFile(output, 'utf8') };
    }
    const changelog = '# Changelog\n\n## [Unreleased]\n\n## [1.2.0] - 2026-12-08\n\n- Things.\n';

    it('passes v1.2.0 with a matching package.json and changelog section, and names the major tag v1', async () => {
      const result = await check('v1.2.0', '1.2.0', changelog);
      expect(result.code, result.stdout).toBe(0);
      expect(result.output).toBe('major=v1\n');
    });

    it.each([
      ['1.2.0', '1.2.0', changelog, 'is not vMAJOR.MINOR.PATCH'],
      ['v1.2', '1.2.0', changelog, 'is not vMAJOR.MINOR.PATCH'],
      ['v1.2.0-rc.1', '1.2.0', changelog, 'is not vMAJOR.MINOR.PATCH'],
      ['v1.2.0', '1.1.0', changelog, 'package.json says 1.1.0 but the tag is v1.2.0'],
      ['v1.3.0', '1.3.0', changelog, "no '## [1.3.0] - YYYY-MM-DD' section"],
    ])('refuses tag %s (package %s)', async (tag, version, text, message) => {
      const result = await check(tag, version, text);
      expect(result.code).toBe(1);
      expect(result.stdout).toContain(message);
      expect(result.output).toBe('');
    });
  });
});
