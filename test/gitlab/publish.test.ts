/**
 * gitlab/publish.sh, offline: the component's files, committed in a throw-away copy of this repository, published to
 * a local bare repository standing for the GitLab CI/CD Catalog project.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

/** What the catalog project holds at its root, and where each file comes from in this repository. */
const CATALOG_FILES: Record<string, string> = {
  '.gitlab-ci.yml': 'gitlab/catalog-ci.yml',
  LICENSE: 'LICENSE',
  'README.md': 'gitlab/README.md',
  'templates/scalingo.yml': 'gitlab/templates/scalingo.yml',
};
const SOURCE_FILES = [
  ...Object.values(CATALOG_FILES),
  'gitlab/publish.sh',
  'gitlab/remote/scalingo.yml',
  'package.json',
  'README.md',
];

describe('gitlab/publish.sh', () => {
  let work: string;
  let source: string;
  let catalog: string;
  let env: Record<string, string>;

  const git = (cwd: string, ...args: string[]): string =>
    execFileSync('git', args, { cwd, env, encoding: 'utf8' }).trim();

  function publish(...args: string[]) {
    const result = spawnSync('sh', [join(source, 'gitlab/publish.sh'), ...args], {
      cwd: source,
      env,
      encoding: 'utf8',
    });
    return { code: result.status, out: result.stdout, err: result.stderr };
  }

  /** path → content of a commit's tree. */
  function treeOf(repo: string, rev: string): Record<string, string> {
    const paths = git(repo, 'ls-tree', '-r', '--name-only', rev).split('\n');
    return Object.fromEntries(paths.map((p) => [p, git(repo, 'show', `${rev}:${p}`)]));
  }

  function commitSource(message: string): string {
    git(source, 'add', '-A');
    git(source, '-c', 'user.name=Test User', '-c', 'user.email=test-user@example.com', 'commit', '-q', '-m', message);
    return git(source, 'rev-parse', 'HEAD');
  }

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'scalingo-publish-'));
    source = join(work, 'source');
    catalog = join(work, 'catalog.git');
    mkdirSync(join(work, 'home'));
    // No global git configuration of the machine: the script must name its commits itself.
    env = { PATH: process.env.PATH ?? '', HOME: join(work, 'home'), GIT_CONFIG_NOSYSTEM: '1' };
    for (const file of SOURCE_FILES) {
      mkdirSync(dirname(join(source, file)), { recursive: true });
      cpSync(join(ROOT, file), join(source, file));
    }
    git(work, 'init', '-q', '-b', 'main', source);
    commitSource('The repository');
    git(work, 'init', '-q', '--bare', '-b', 'main', catalog);
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("pushes the component project's tree to an empty catalog project, and tags it without the v", () => {
    const from = git(source, 'rev-parse', 'HEAD');
    const result = publish('v1.2.3', catalog);

    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    const main = git(catalog, 'rev-parse', 'refs/heads/main');
    expect(git(catalog, 'rev-parse', 'refs/tags/1.2.3^{commit}')).toBe(main);
    expect(git(catalog, 'tag', '--list')).toBe('1.2.3');
    expect(git(catalog, 'rev-list', '--count', main)).toBe('1');
    const expected = Object.fromEntries(
      Object.entries(CATALOG_FILES).map(([path, file]) => [path, readFileSync(join(ROOT, file), 'utf8').trimEnd()]),
    );
    expect(treeOf(catalog, main)).toEqual(expected);
    expect(git(catalog, 'log', '-1', '--format=%s%n%b', main)).toBe(
      `scalingo-deploy component 1.2.3\nFrom ${from} of the scalingo-deploy repository (gitlab/).`,
    );
  });

  it("adds the next version on top of the catalog project's history", () => {
    const before = git(catalog, 'rev-parse', 'refs/heads/main');
    writeFileSync(
      join(source, 'gitlab/README.md'),
      `${readFileSync(join(source, 'gitlab/README.md'), 'utf8')}\nA change.\n`,
    );
    commitSource('A change to the component');

    expect(publish('1.3.0', catalog).code).toBe(0);

    const main = git(catalog, 'rev-parse', 'refs/heads/main');
    expect(git(catalog, 'rev-parse', `${main}^`)).toBe(before);
    expect(git(catalog, 'rev-parse', 'refs/tags/1.3.0^{commit}')).toBe(main);
    expect(git(catalog, 'show', `${main}:README.md`)).toMatch(/A change\.$/);
    // Nothing but the component: no source, no workflow, no other folder of gitlab/.
    expect(Object.keys(treeOf(catalog, main)).sort()).toEqual(Object.keys(CATALOG_FILES).sort());
  });

  it('tags the same commit when the component did not change', () => {
    const main = git(catalog, 'rev-parse', 'refs/heads/main');
    expect(publish('1.3.1', catalog).code).toBe(0);
    expect(git(catalog, 'rev-parse', 'refs/heads/main')).toBe(main);
    expect(git(catalog, 'rev-parse', 'refs/tags/1.3.1^{commit}')).toBe(main);
  });

  it('passes a re-run of a version already published with the same files, and changes nothing', () => {
    const main = git(catalog, 'rev-parse', 'refs/heads/main');
    const tagged = git(catalog, 'rev-parse', 'refs/tags/1.3.1');

    const again = publish('v1.3.1', catalog);
    expect(again.err).toBe('');
    expect(again.code).toBe(0);
    expect(again.out).toContain(`already has 1.3.1 (${tagged}) with these files: nothing to publish`);
    expect(git(catalog, 'rev-parse', 'refs/heads/main')).toBe(main);
    expect(git(catalog, 'rev-parse', 'refs/tags/1.3.1')).toBe(tagged);
  });

  it('re-runs after a push of main whose tag push failed: tags the commit main already has', () => {
    writeFileSync(
      join(source, 'gitlab/README.md'),
      `${readFileSync(join(source, 'gitlab/README.md'), 'utf8')}\nA change for 1.3.2.\n`,
    );
    commitSource('A change for 1.3.2');
    const commit = spawnSync('sh', [join(source, 'gitlab/publish.sh'), '1.3.2', catalog], {
      cwd: source,
      env: { ...env, PUBLISH_DRY_RUN: '1' },
      encoding: 'utf8',
    }).stdout.trim();
    // The first attempt pushed main, then failed before the tag.
    git(source, 'push', '-q', catalog, `${commit}:refs/heads/main`);

    expect(publish('1.3.2', catalog).code).toBe(0);
    expect(git(catalog, 'rev-parse', 'refs/tags/1.3.2^{commit}')).toBe(commit);
    expect(git(catalog, 'rev-parse', 'refs/heads/main')).toBe(commit);
  });

  it('publishes a pre-release under its own tag', () => {
    writeFileSync(
      join(source, 'gitlab/README.md'),
      `${readFileSync(join(source, 'gitlab/README.md'), 'utf8')}\nA change for 1.4.0.\n`,
    );
    commitSource('A change for 1.4.0');
    expect(publish('v1.4.0-rc.1', catalog).code).toBe(0);
    expect(git(catalog, 'rev-parse', 'refs/tags/1.4.0-rc.1^{commit}')).toBe(
      git(catalog, 'rev-parse', 'refs/heads/main'),
    );
  });

  it('never moves a released version, nor publishes something that is not a version', () => {
    writeFileSync(
      join(source, 'gitlab/README.md'),
      `${readFileSync(join(source, 'gitlab/README.md'), 'utf8')}\nAnother change.\n`,
    );
    commitSource('Another change');
    const tagged = git(catalog, 'rev-parse', 'refs/tags/1.3.1');
    const main = git(catalog, 'rev-parse', 'refs/heads/main');

    const again = publish('1.3.1', catalog);
    expect(again.code).toBe(1);
    expect(again.err).toContain('already has the tag 1.3.1, with other files');
    expect(git(catalog, 'rev-parse', 'refs/tags/1.3.1')).toBe(tagged);
    expect(git(catalog, 'rev-parse', 'refs/heads/main')).toBe(main);

    const bad = publish('latest', catalog);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('not a semantic version: latest');
  });

  it('remote: writes the copy for include: remote: and sets its version and integrity in both READMEs', () => {
    const before = Object.fromEntries(
      ['README.md', 'gitlab/README.md'].map((f) => [f, readFileSync(join(source, f), 'utf8')]),
    );
    const result = publish('remote', '2.3.4');
    expect(result.code).toBe(0);
    const copy = readFileSync(join(source, 'gitlab/remote/scalingo.yml'));
    expect(copy.toString()).toContain('SCALINGO_COMPONENT_PACKAGE: scalingo-deploy@2.3.4');
    const integrity = `sha256-${createHash('sha256').update(copy).digest('base64')}`;
    for (const readme of ['README.md', 'gitlab/README.md']) {
      const text = readFileSync(join(source, readme), 'utf8');
      expect(text, readme).toContain(
        `- remote: https://raw.githubusercontent.com/scalingo-deploy/scalingo-deploy/v2.3.4/gitlab/remote/scalingo.yml\n    integrity: ${integrity}\n`,
      );
      // Nothing else changed.
      const original = (before[readme] ?? '').split('\n');
      expect(text.split('\n').filter((line, i) => line !== original[i]).length, readme).toBe(2);
    }
  });

  it('only prints the commit it would push with PUBLISH_DRY_RUN=1', () => {
    const main = git(catalog, 'rev-parse', 'refs/heads/main');
    const result = spawnSync('sh', [join(source, 'gitlab/publish.sh'), '2.0.0', catalog], {
      cwd: source,
      env: { ...env, PUBLISH_DRY_RUN: '1' },
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toMatch(/^[0-9a-f]{40}$/);
    expect(git(catalog, 'rev-parse', 'refs/heads/main')).toBe(main);
    expect(git(catalog, 'tag', '--list', '2.0.0')).toBe('');
  });
});
