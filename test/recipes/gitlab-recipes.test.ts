/**
 * Every GitLab CI recipe of README.md and gitlab/README.md, run by gitlab-ci-local (shell executor) with the npm
 * package packed from this repository, against the fake Scalingo, for the pipelines it is meant for and some it must
 * leave alone: what ran, what Scalingo was asked, what the jobs reported.
 *
 * What runs differently from the READMEs, and why:
 *
 * | In the recipe                                        | Here                                              | Why                                        |
 * | ---------------------------------------------------- | ------------------------------------------------- | ------------------------------------------ |
 * | `component: …/scalingo-deploy/scalingo@1`             | the component of the project's own commit         | no Catalog here; the same template         |
 * | `remote: …/gitlab/remote/scalingo.yml` + `integrity:` | `local:` copy of the same standalone template     | no network; publish.test.ts checks the hash |
 * | `package` (the npm package of the component)          | the tarball packed from this repository           | not published; what would be               |
 * | `SCALINGO_API_TOKEN`, Scalingo's URLs                 | the fake's token, `SCALINGO_API_URL`/`AUTH_URL`   | tests never reach the network              |
 * | `poll-interval-seconds` 5                             | 0.05                                              | a deployment of the fake lasts ~0.1 s      |
 * | `image:`, `wget` of the app's URL                     | ignored (shell executor); `wget` becomes `echo`   | no container, no network                   |
 * | GitLab's pipeline variables                           | set per scenario (`CI_PIPELINE_SOURCE`, ...)      | the event under test                       |
 *
 * Every YAML block of the two READMEs that is a GitLab configuration must have a scenario here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeScalingo, type FakeScalingo, type FakeScalingoOptions } from '../support/fake-scalingo.js';
import {
  MERGE_REQUEST,
  PROJECT_URL,
  Project,
  TOKEN,
  hasCommand,
  offlineNpm,
  packPackage,
  yaml,
  type Json,
} from '../gitlab/helpers.js';
import { yamlBlocks } from './recipes.js';

const RSYNC = hasCommand('rsync');
const IN_CI = process.env.CI === 'true';
const SELF_COMPONENT = '$CI_SERVER_FQDN/$CI_PROJECT_PATH/scalingo@$CI_COMMIT_SHA';

const blocks = [...yamlBlocks('README.md'), ...yamlBlocks('gitlab/README.md')].filter((b) => /^include:/m.test(b.text));
const recipe = (file: string, key: string) => {
  const found = blocks.find((b) => b.file === file && b.key === key);
  if (!found) throw new Error(`${file} has no GitLab recipe under "${key}" any more: rename its scenario here`);
  return found.text;
};

const WORLD: FakeScalingoOptions = {
  integrations: [{ scm_type: 'gitlab', url: 'https://gitlab.com', username: 'gitlab-user' }],
  links: { 'my-app': { source: PROJECT_URL, branch: 'main', auto_deploy_enabled: false } },
};

const push = (branch: string) => ({
  CI_PIPELINE_SOURCE: 'push',
  CI_COMMIT_BRANCH: branch,
  CI_COMMIT_REF_NAME: branch,
  CI_COMMIT_REF_SLUG: branch,
});

describe('GitLab recipes: each has a scenario', () => {
  it('lists the GitLab configurations this file runs', () => {
    expect(blocks.map((b) => `${b.file}: ${b.key}`)).toEqual([
      'README.md: GitLab CI in 30 seconds #1',
      'README.md: GitLab CI in 30 seconds #2',
      'gitlab/README.md: Quick start #1',
      'gitlab/README.md: Other ways to include it #1',
      'gitlab/README.md: When each job runs #1',
      'gitlab/README.md: Deploying several apps #1',
      'gitlab/README.md: Several apps from one repository #1',
      'gitlab/README.md: Using the results in a later job #1',
    ]);
  });
});

describe.skipIf(!RSYNC && !IN_CI)('GitLab recipes run by gitlab-ci-local', { concurrent: true }, () => {
  let work: string;
  let tarball: string;
  const cleanup: (() => unknown)[] = [];

  beforeAll(() => {
    if (!RSYNC)
      throw new Error('rsync is not installed: gitlab-ci-local needs it to run jobs (apt-get install -y rsync)');
    work = mkdtempSync(join(tmpdir(), 'scalingo-recipes-'));
    tarball = packPackage(work);
  }, 120_000);

  afterAll(async () => {
    for (const c of cleanup) await c();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** The recipe as a user's `.gitlab-ci.yml`, with the substitutions of the table above. */
  function adapt(text: string): { config: Json; template: 'component' | 'standalone' } {
    const config = yaml.load(text) as Json & { include: Json[] };
    let template: 'component' | 'standalone' = 'component';
    config.include = config.include.map((inc) => {
      const inputs = { ...(inc.inputs as Json), package: tarball, 'poll-interval-seconds': 0.05 };
      if (typeof inc.component === 'string') return { component: SELF_COMPONENT, inputs };
      if (typeof inc.remote === 'string') {
        template = 'standalone';
        return { local: 'templates/scalingo.yml', inputs };
      }
      throw new Error(`include not supported by the recipe tests: ${JSON.stringify(inc)}`);
    });
    for (const job of Object.values(config)) {
      const script = (job as { script?: string[] } | undefined)?.script;
      if (Array.isArray(script))
        (job as { script: string[] }).script = script.map((l) =>
          l.replace(/^wget -q -O \/dev\/null /, 'echo fetched '),
        );
    }
    return { config, template };
  }

  async function setUp(text: string, world: FakeScalingoOptions = WORLD) {
    const fake: FakeScalingo = await startFakeScalingo(world);
    const { config, template } = adapt(text);
    const project = new Project(config, { template });
    cleanup.push(
      () => fake.close(),
      () => project.remove(),
    );
    const npmEnv = offlineNpm(mkdtempSync(join(work, 'npm-cache-')));
    const pipeline = (variables: Record<string, string>, options: { unset?: string[]; jobs?: string[] } = {}) =>
      project.pipeline({
        variables: {
          GITLAB_CI: 'true',
          SCALINGO_API_TOKEN: TOKEN,
          SCALINGO_API_URL: fake.apiUrl,
          SCALINGO_AUTH_URL: fake.authUrl,
          ...variables,
        },
        ...options,
        env: npmEnv,
        timeoutMs: 150_000,
      });
    const writes = () => fake.mutating().map((r) => [r.method, r.path, r.body]);
    return { fake, project, pipeline, writes };
  }

  const ran = (output: string) => [...output.matchAll(/PASS\s+(\S+)/g)].map((m) => m[1]).sort();

  it('README, GitLab CI in 30 seconds (both): a push to main deploys main; a merge request gets its review app', async () => {
    for (const key of ['GitLab CI in 30 seconds #1', 'GitLab CI in 30 seconds #2']) {
      const { pipeline, writes, fake } = await setUp(recipe('README.md', key));
      const run = await pipeline(push('main'));
      expect(run.code, run.output).toBe(0);
      expect(ran(run.output)).toEqual(['scalingo-deploy']);
      expect(writes()).toEqual([['POST', '/v1/apps/my-app/scm_repo_link/manual_deploy', { branch: 'main' }]]);
      const mr = await pipeline(MERGE_REQUEST, { unset: ['CI_COMMIT_BRANCH'] });
      expect(mr.code, mr.output).toBe(0);
      expect(ran(mr.output)).toEqual(['scalingo-review']);
      expect(fake.deploymentsCreated().map((d) => `${d.app} ${d.branch} ${d.status}`)).toEqual([
        'my-app main success',
        'my-app-pr42 feature-42 success',
      ]);
    }
  }, 300_000);

  it('Quick start: pushes deploy main, merge requests get review apps, a push with an open merge request starts nothing', async () => {
    const { pipeline, writes } = await setUp(recipe('gitlab/README.md', 'Quick start #1'), {
      ...WORLD,
      links: {
        'my-app': { source: PROJECT_URL, branch: 'main', auto_deploy_enabled: true, deploy_review_apps_enabled: true },
      },
    });
    const run = await pipeline(push('main'));
    expect(run.code, run.output).toBe(0);
    expect(ran(run.output)).toEqual(['scalingo-deploy']);
    expect(writes()).toEqual([
      [
        'PATCH',
        '/v1/apps/my-app/scm_repo_link',
        {
          scm_repo_link: {
            auto_deploy_enabled: false,
            deploy_review_apps_enabled: false,
            delete_on_close_enabled: true,
          },
        },
      ],
      ['POST', '/v1/apps/my-app/scm_repo_link/manual_deploy', { branch: 'main' }],
    ]);
    const open = await pipeline({ ...push('feature-42'), CI_OPEN_MERGE_REQUESTS: 'group/project!42' });
    expect(ran(open.output)).toEqual([]);
    const mr = await pipeline(MERGE_REQUEST, { unset: ['CI_COMMIT_BRANCH'] });
    expect(mr.code, mr.output).toBe(0);
    expect(ran(mr.output)).toEqual(['scalingo-review']);
    expect(
      writes()
        .slice(2)
        .map((w) => w[1]),
    ).toEqual([
      '/v1/apps/my-app/scm_repo_link/manual_review_app',
      '/v1/apps/my-app-pr42/scm_repo_link',
      '/v1/apps/my-app-pr42/scm_repo_link/manual_deploy',
    ]);
  }, 300_000);

  it('Other ways to include it (remote): a push to main deploys main', async () => {
    const { pipeline, writes } = await setUp(recipe('gitlab/README.md', 'Other ways to include it #1'));
    const run = await pipeline(push('main'));
    expect(run.code, run.output).toBe(0);
    expect(writes()).toEqual([['POST', '/v1/apps/my-app/scm_repo_link/manual_deploy', { branch: 'main' }]]);
  }, 300_000);

  it('When each job runs (release only): a push to release deploys release, a push to main nothing, a merge request no review job', async () => {
    // The app follows main until the recipe's `branch: release` moves its link.
    const { pipeline, writes, fake } = await setUp(recipe('gitlab/README.md', 'When each job runs #1'));
    const main = await pipeline(push('main'));
    expect(ran(main.output)).toEqual([]);
    const mr = await pipeline(MERGE_REQUEST, { unset: ['CI_COMMIT_BRANCH'] });
    expect(ran(mr.output)).toEqual([]);
    const release = await pipeline(push('release'));
    expect(release.code, release.output).toBe(0);
    expect(ran(release.output)).toEqual(['scalingo-deploy']);
    expect(writes()).toEqual([
      ['PATCH', '/v1/apps/my-app/scm_repo_link', { scm_repo_link: { branch: 'release' } }],
      ['POST', '/v1/apps/my-app/scm_repo_link/manual_deploy', { branch: 'release' }],
    ]);
    expect(fake.deploymentsCreated()).toEqual([
      expect.objectContaining({ app: 'my-app', branch: 'release', status: 'success' }),
    ]);
  }, 300_000);

  it("Deploying several apps: develop deploys staging, main deploys production, a merge request only staging's review app", async () => {
    const { pipeline, fake } = await setUp(recipe('gitlab/README.md', 'Deploying several apps #1'), {
      ...WORLD,
      links: {
        'my-app': { source: PROJECT_URL, branch: 'main', auto_deploy_enabled: false },
        'my-app-staging': { source: PROJECT_URL, branch: 'develop', auto_deploy_enabled: false },
      },
    });
    const develop = await pipeline(push('develop'));
    expect(develop.code, develop.output).toBe(0);
    expect(ran(develop.output)).toEqual(['staging-deploy']);
    const main = await pipeline(push('main'));
    expect(main.code, main.output).toBe(0);
    expect(ran(main.output)).toEqual(['production-deploy']);
    const mr = await pipeline(
      { ...MERGE_REQUEST, CI_MERGE_REQUEST_TARGET_BRANCH_NAME: 'develop' },
      { unset: ['CI_COMMIT_BRANCH'] },
    );
    expect(mr.code, mr.output).toBe(0);
    expect(ran(mr.output)).toEqual(['staging-review']);
    expect(fake.deploymentsCreated().map((d) => `${d.app} ${d.branch} ${d.status}`)).toEqual([
      'my-app-staging develop success',
      'my-app main success',
      'my-app-staging-pr42 feature-42 success',
    ]);
  }, 300_000);

  it('Several apps from one repository: the apps on the pushed branch, found through the links, in one job', async () => {
    const { pipeline, fake } = await setUp(recipe('gitlab/README.md', 'Several apps from one repository #1'), {
      ...WORLD,
      links: {
        api: { source: PROJECT_URL, branch: 'main' },
        web: { source: PROJECT_URL, branch: 'main' },
        worker: { source: PROJECT_URL, branch: 'develop' },
        elsewhere: { source: 'https://gitlab.com/group/other-project', branch: 'main' },
      },
    });
    const run = await pipeline(push('main'));
    expect(run.code, run.output).toBe(0);
    expect(
      fake
        .deploymentsCreated()
        .map((d) => `${d.app} ${d.branch} ${d.status}`)
        .sort(),
    ).toEqual(['api main success', 'web main success']);
  }, 300_000);

  it("Using the results in a later job: the smoke test gets the deploy job's dotenv report", async () => {
    const { pipeline } = await setUp(recipe('gitlab/README.md', 'Using the results in a later job #1'));
    const run = await pipeline({ ...push('main'), CI_DEFAULT_BRANCH: 'main' });
    expect(run.code, run.output).toBe(0);
    expect(ran(run.output)).toEqual(['scalingo-deploy', 'smoke-test']);
    expect(run.output).toMatch(/smoke-test\s+> Deployment \S+ of my-app ended with success/);
    expect(run.output).toMatch(/smoke-test\s+> fetched https:\/\/my-app\.osc-fr1\.scalingo\.io/);
  }, 300_000);
});
