/**
 * The GitLab component run for real: gitlab-ci-local runs its jobs (shell executor) in a throw-away project, the
 * jobs run the npm package packed from this repository with npx, against a fake Scalingo.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeScalingo, type FakeScalingo, type FakeScalingoOptions } from '../support/fake-scalingo.js';
import { leaks } from '../support/runner.js';
import { PROJECT_URL, Project, TOKEN, hasCommand, lines, offlineNpm, packPackage, type Json, type SeenRequest } from './helpers.js';

const RSYNC = hasCommand('rsync');
const IN_CI = process.env.CI === 'true';
if (!RSYNC && !IN_CI) {
  console.warn('GitLab component runs skipped: gitlab-ci-local needs rsync (apt-get install -y rsync). With CI=true they fail instead.');
}

/** Scalingo's side of a GitLab project: a gitlab.com integration, and the app linked to this project unless told. */
const GITLAB_WORLD: FakeScalingoOptions = {
  integrations: [{ scm_type: 'gitlab', url: 'https://gitlab.com', username: 'gitlab-user' }],
  links: { 'my-app': { source: PROJECT_URL, branch: 'main' } },
};

const MERGE_REQUEST = {
  CI_PIPELINE_SOURCE: 'merge_request_event',
  CI_MERGE_REQUEST_IID: '42',
  CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: 'feature-42',
  CI_MERGE_REQUEST_TARGET_BRANCH_NAME: 'main',
  CI_MERGE_REQUEST_PROJECT_ID: '1001',
  CI_MERGE_REQUEST_SOURCE_PROJECT_ID: '1001',
  CI_MERGE_REQUEST_TITLE: 'Add a feature',
};

describe.skipIf(!RSYNC && !IN_CI)('GitLab component run by gitlab-ci-local', () => {
  let work: string;
  let tarball: string;
  let npmEnv: Record<string, string>;
  let fake: FakeScalingo | undefined;
  let project: Project | undefined;

  beforeAll(() => {
    if (!RSYNC) throw new Error('rsync is not installed: gitlab-ci-local needs it to run jobs (apt-get install -y rsync)');
    work = mkdtempSync(join(tmpdir(), 'scalingo-gitlab-runs-'));
    tarball = packPackage(work);
    // One npm cache for every run: npx installs the tarball once.
    npmEnv = offlineNpm(join(work, 'npm-cache'));
  }, 120_000);

  afterEach(async () => {
    await fake?.close();
    project?.remove();
    fake = undefined;
    project = undefined;
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Starts the fake Scalingo and a project that includes the component with `inputs` (plus the app and package). */
  async function setUp(world: FakeScalingoOptions, inputs: Json = {}): Promise<{ fake: FakeScalingo; project: Project }> {
    fake = await startFakeScalingo(world);
    project = Project.including({ app: 'my-app', package: tarball, 'poll-interval-seconds': 0.05, ...inputs });
    return { fake, project };
  }

  /** Runs the pipeline; whatever it printed must hold no credential (token, bearers, their Basic form). */
  async function pipeline(variables: Record<string, string>, options: { unset?: string[]; jobs?: string[] } = {}) {
    const run = await runPipeline(variables, options);
    const bearers = fake!.requests.map((r) => r.headers.authorization ?? '').filter((h) => h.startsWith('Bearer ')).map((h) => h.slice(7));
    expect(leaks(run.output, [TOKEN, ...bearers]), 'a credential was printed').toEqual([]);
    return run;
  }

  function runPipeline(variables: Record<string, string>, options: { unset?: string[]; jobs?: string[] } = {}) {
    return project!.pipeline({
      variables: {
        // GitLab sets it to true; gitlab-ci-local to false.
        GITLAB_CI: 'true',
        SCALINGO_API_TOKEN: TOKEN,
        SCALINGO_API_URL: fake!.apiUrl,
        SCALINGO_AUTH_URL: fake!.authUrl,
        ...variables,
      },
      ...options,
      env: npmEnv,
      timeoutMs: 100_000,
    });
  }

  /** Every request was authenticated as the CLI inside GitLab does it. */
  function expectAuthenticated(requests: readonly SeenRequest[]): void {
    const [exchange, ...api] = requests;
    expect(exchange?.headers.authorization).toBe(`Basic ${Buffer.from(`:${TOKEN}`).toString('base64')}`);
    for (const r of [exchange!, ...api]) expect(r.headers['user-agent']).toMatch(/^scalingo-deploy\/\d+\.\d+\.\d+ \(gitlab\)$/);
    for (const r of api) expect(r.headers.authorization).toMatch(/^Bearer \S+$/);
  }

  it('deploys the default branch on a push: creates the link, starts the deployment, follows it', async () => {
    const { fake, project } = await setUp(
      { ...GITLAB_WORLD, links: {} },
      { 'auto-deploy': 'false', 'delete-on-close': 'true', 'hours-before-delete-on-close': '24' },
    );

    const run = await pipeline({ CI_PIPELINE_SOURCE: 'push' });

    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/PASS\s+scalingo-deploy/);
    expect(run.output).not.toMatch(/scalingo-review/);
    const [deployment] = fake.deploymentsCreated();
    expect(deployment).toMatchObject({ app: 'my-app', trigger: 'manual_deploy', branch: 'main', status: 'success' });
    const id = deployment!.id;

    const seen = lines(fake.requests);
    expect(seen[0]).toBe('POST /v1/tokens/exchange');
    expect([...seen].sort()).toEqual([
      'GET /v1/apps/my-app',
      'GET /v1/apps/my-app/scm_repo_link',
      ...Array<string>(4).fill(`GET /v1/apps/my-app/deployments/${id}`),
      'GET /v1/scm_integrations',
      'POST /v1/apps/my-app/scm_repo_link',
      'POST /v1/apps/my-app/scm_repo_link/manual_deploy',
      'POST /v1/tokens/exchange',
    ].sort());
    // The link is read (404) and the integration found before the link is made, the deployment started after.
    expect(seen.indexOf('GET /v1/apps/my-app/scm_repo_link')).toBeLessThan(seen.indexOf('GET /v1/scm_integrations'));
    expect(seen.indexOf('POST /v1/apps/my-app/scm_repo_link')).toBeLessThan(seen.indexOf('POST /v1/apps/my-app/scm_repo_link/manual_deploy'));
    expect(seen.slice(-4)).toEqual(Array<string>(4).fill(`GET /v1/apps/my-app/deployments/${id}`));
    expect(fake.mutating().map((r) => [r.method, r.path, r.body])).toEqual([
      ['POST', '/v1/apps/my-app/scm_repo_link', {
        scm_repo_link: {
          source: PROJECT_URL,
          auth_integration_uuid: 'int-gitlab-1',
          branch: 'main',
          auto_deploy_enabled: false,
          delete_on_close_enabled: true,
          hours_before_delete_on_close: 24,
        },
      }],
      ['POST', '/v1/apps/my-app/scm_repo_link/manual_deploy', { branch: 'main' }],
    ]);
    expectAuthenticated(fake.requests);

    expect(project.dotenv('scalingo-deploy')).toEqual({
      SCALINGO_APP: 'my-app',
      SCALINGO_APP_URL: 'https://my-app.osc-fr1.scalingo.io',
      SCALINGO_DEPLOYMENT_ID: id,
      SCALINGO_DEPLOYMENT_STATUS: 'success',
      SCALINGO_REVIEW_APP: '',
      SCALINGO_LINK: 'created',
      SCALINGO_TIMED_OUT: 'false',
      SCALINGO_DASHBOARD_URL: `https://dashboard.scalingo.com/apps/osc-fr1/my-app/deploy/${id}`,
    });
    expect(run.output).toContain('Deployed my-app: https://my-app.osc-fr1.scalingo.io');
    expect(run.output).not.toContain(TOKEN);
  }, 120_000);

  it('makes the review app of a merge request pipeline and follows its first deployment', async () => {
    const { fake, project } = await setUp(GITLAB_WORLD);

    const run = await pipeline(MERGE_REQUEST, { unset: ['CI_COMMIT_BRANCH'] });

    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/PASS\s+scalingo-review/);
    // The stop job is manual: it does not run with the pipeline.
    expect(run.output).not.toMatch(/scalingo-stop-review\s+starting/);
    expect(run.output).not.toMatch(/scalingo-deploy\s+starting/);
    const [deployment] = fake.deploymentsCreated();
    expect(deployment).toMatchObject({ app: 'my-app-pr42', trigger: 'review_app', branch: 'feature-42', status: 'success' });
    const id = deployment!.id;

    const seen = lines(fake.requests);
    expect(seen[0]).toBe('POST /v1/tokens/exchange');
    // The link and the review apps are read together, then the review app is made and its deployment looked for.
    expect(seen.slice(1, 3).sort()).toEqual(['GET /v1/apps/my-app/scm_repo_link', 'GET /v1/apps/my-app/scm_repo_link/review_apps']);
    expect(seen.slice(3, 5)).toEqual([
      'POST /v1/apps/my-app/scm_repo_link/manual_review_app',
      'GET /v1/apps/my-app-pr42/deployments?page=1&per_page=1',
    ]);
    // Then the review app's URL is read while its deployment is followed.
    expect(seen.slice(5).sort()).toEqual(['GET /v1/apps/my-app-pr42', ...Array<string>(4).fill(`GET /v1/apps/my-app-pr42/deployments/${id}`)]);
    expect(fake.mutating().map((r) => [r.method, r.path, r.body])).toEqual([
      ['POST', '/v1/apps/my-app/scm_repo_link/manual_review_app', { pull_request_id: 42 }],
    ]);
    expectAuthenticated(fake.requests);

    expect(project.dotenv('scalingo-review')).toMatchObject({
      SCALINGO_APP: 'my-app-pr42',
      SCALINGO_APP_URL: 'https://my-app-pr42.osc-fr1.scalingo.io',
      SCALINGO_DEPLOYMENT_ID: id,
      SCALINGO_DEPLOYMENT_STATUS: 'success',
      SCALINGO_REVIEW_APP: 'my-app-pr42',
      SCALINGO_LINK: 'unchanged',
      SCALINGO_TIMED_OUT: 'false',
    });
    expect(run.output).toContain(`${PROJECT_URL}/-/merge_requests/42`);
  }, 120_000);

  it('fails the job when the build fails, and shows why', async () => {
    const { fake, project } = await setUp({ ...GITLAB_WORLD, deployScripts: { 'my-app': ['queued', 'building', 'build-error'] } });

    const run = await pipeline({ CI_PIPELINE_SOURCE: 'push' });

    expect(run.code).not.toBe(0);
    expect(run.output).toMatch(/FAIL\s+scalingo-deploy/);
    expect(run.output).toContain('ended with status build-error');
    expect(run.output).toContain('Build failed: the build command exited with status 1');
    const [deployment] = fake.deploymentsCreated();
    expect(deployment).toMatchObject({ app: 'my-app', branch: 'main', status: 'build-error' });
    expect(fake.mutating().map((r) => [r.method, r.path, r.body])).toEqual([
      ['POST', '/v1/apps/my-app/scm_repo_link/manual_deploy', { branch: 'main' }],
    ]);
    const seen = lines(fake.requests);
    expect(seen.filter((l) => l === `GET /v1/apps/my-app/deployments/${deployment!.id}`)).toHaveLength(2);
    expect(seen.at(-1)).toMatch(new RegExp(`^GET /v1/apps/[^/]+/deployments/${deployment!.id}/output$`));
    // The dotenv report is kept on failure (artifacts:when: always).
    expect(project.dotenv('scalingo-deploy')).toMatchObject({ SCALINGO_DEPLOYMENT_STATUS: 'build-error', SCALINGO_APP: 'my-app' });
  }, 120_000);

  it('has a stop job that deploys nothing and says what Scalingo does with the review app', async () => {
    const { fake } = await setUp({
      ...GITLAB_WORLD,
      links: { 'my-app': { source: PROJECT_URL, branch: 'main', delete_on_close_enabled: true, hours_before_delete_on_close: 24 } },
      reviewApps: [{ pr: 42, head_branch: 'feature-42' }],
    });

    const run = await pipeline(MERGE_REQUEST, { unset: ['CI_COMMIT_BRANCH'], jobs: ['scalingo-stop-review'] });

    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/PASS\s+scalingo-stop-review/);
    expect(run.output).toContain('Scalingo deletes review app my-app-pr42 in 24 hour(s)');
    const seen = lines(fake.requests);
    expect(seen[0]).toBe('POST /v1/tokens/exchange');
    expect(seen.slice(1).sort()).toEqual(['GET /v1/apps/my-app/scm_repo_link', 'GET /v1/apps/my-app/scm_repo_link/review_apps']);
    expect(fake.mutating()).toEqual([]);
    expect(fake.deploymentsCreated()).toEqual([]);
  }, 120_000);

  it('deploys the app of its inputs even when an earlier job\'s dotenv report sets SCALINGO_APP', async () => {
    fake = await startFakeScalingo({ ...GITLAB_WORLD, apps: { 'my-app': {}, 'other-app': {} } });
    project = new Project({
      stages: ['build', 'deploy'],
      include: [{ local: 'templates/scalingo.yml', inputs: { app: 'my-app', package: tarball, 'poll-interval-seconds': 0.05 } }],
      // What an earlier Scalingo job leaves behind: its dotenv variables beat job variables in later jobs.
      build: {
        stage: 'build',
        script: ['printf "SCALINGO_APP=other-app\\nSCALINGO_COMMAND=unlink\\n" > build.env'],
        artifacts: { reports: { dotenv: 'build.env' } },
      },
    });

    const run = await pipeline({ CI_PIPELINE_SOURCE: 'push' });

    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/PASS\s+build/);
    expect(run.output).toMatch(/PASS\s+scalingo-deploy/);
    expect(fake.mutating().map((r) => [r.method, r.path, r.body])).toEqual([
      ['POST', '/v1/apps/my-app/scm_repo_link/manual_deploy', { branch: 'main' }],
    ]);
    expect(lines(fake.requests).filter((l) => l.includes('other-app'))).toEqual([]);
  }, 120_000);

  it('skips a merge request from a fork, which gets no token, without failing the pipeline', async () => {
    const { fake } = await setUp(GITLAB_WORLD);

    const run = await project!.pipeline({
      variables: {
        GITLAB_CI: 'true',
        SCALINGO_API_URL: fake.apiUrl,
        SCALINGO_AUTH_URL: fake.authUrl,
        ...MERGE_REQUEST,
        CI_MERGE_REQUEST_SOURCE_PROJECT_ID: '2002',
      },
      unset: ['CI_COMMIT_BRANCH'],
      env: npmEnv,
      timeoutMs: 100_000,
    });

    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/PASS\s+scalingo-review/);
    expect(run.output).toContain('comes from a fork');
    expect(fake.requests).toEqual([]);
  }, 120_000);
});
