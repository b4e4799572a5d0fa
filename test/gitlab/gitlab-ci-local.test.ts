/**
 * The GitLab component run for real: gitlab-ci-local runs its jobs (shell executor) in a throw-away project, the
 * jobs run the npm package packed from this repository with npx, against a fake Scalingo.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeScalingo, type FakeScalingo, type FakeScalingoOptions } from '../support/fake-scalingo.js';
import { leaks } from '../support/runner.js';
import {
  MERGE_REQUEST,
  PROJECT_URL,
  Project,
  TOKEN,
  hasCommand,
  lines,
  offlineNpm,
  packPackage,
  type Json,
  type SeenRequest,
} from './helpers.js';

const RSYNC = hasCommand('rsync');
const IN_CI = process.env.CI === 'true';
if (!RSYNC && !IN_CI) {
  console.warn(
    'GitLab component runs skipped: gitlab-ci-local needs rsync (apt-get install -y rsync). With CI=true they fail instead.',
  );
}

/** Scalingo's side of a GitLab project: a gitlab.com integration, and the app linked to this project unless told. */
const GITLAB_WORLD: FakeScalingoOptions = {
  integrations: [{ scm_type: 'gitlab', url: 'https://gitlab.com', username: 'gitlab-user' }],
  links: { 'my-app': { source: PROJECT_URL, branch: 'main' } },
};

// The tests run at once (gitlab-ci-local runs a few at a time, see helpers.ts): each has its own fake Scalingo, project
// and npm cache. Their timeouts allow for the waits that sharing the machine between them brings.
describe.skipIf(!RSYNC && !IN_CI)('GitLab component run by gitlab-ci-local', { concurrent: true }, () => {
  let work: string;
  let tarball: string;
  const fakes: FakeScalingo[] = [];
  const projects: Project[] = [];

  beforeAll(() => {
    if (!RSYNC)
      throw new Error('rsync is not installed: gitlab-ci-local needs it to run jobs (apt-get install -y rsync)');
    work = mkdtempSync(join(tmpdir(), 'scalingo-gitlab-runs-'));
    tarball = packPackage(work);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(fakes.map((f) => f.close()));
    for (const p of projects) p.remove();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /**
   * Starts the fake Scalingo and a project that includes the component with `inputs` (plus the app and package), in
   * a `.gitlab-ci.yml` made by `config` when given. The test's npm cache starts empty: npx installs the tarball, as
   * in a fresh CI job.
   */
  async function setUp(world: FakeScalingoOptions, inputs: Json = {}, config?: (include: Json) => Json) {
    const fake = await startFakeScalingo(world);
    fakes.push(fake);
    const include = {
      local: 'templates/scalingo.yml',
      inputs: { app: 'my-app', package: tarball, 'poll-interval-seconds': 0.05, ...inputs },
    };
    const project = new Project(config ? config(include) : { include: [include] });
    projects.push(project);
    const npmEnv = offlineNpm(mkdtempSync(join(work, 'npm-cache-')));

    /** Runs the pipeline; whatever it printed must hold no credential (token, bearers, their Basic form). */
    async function pipeline(variables: Record<string, string>, options: { unset?: string[]; jobs?: string[] } = {}) {
      const run = await runPipeline(variables, options);
      const bearers = fake.requests
        .map((r) => r.headers.authorization ?? '')
        .filter((h) => h.startsWith('Bearer '))
        .map((h) => h.slice(7));
      expect(leaks(run.output, [TOKEN, ...bearers]), 'a credential was printed').toEqual([]);
      return run;
    }

    function runPipeline(variables: Record<string, string>, options: { unset?: string[]; jobs?: string[] } = {}) {
      return project.pipeline({
        variables: {
          // GitLab sets it to true; gitlab-ci-local to false.
          GITLAB_CI: 'true',
          SCALINGO_API_TOKEN: TOKEN,
          SCALINGO_API_URL: fake.apiUrl,
          SCALINGO_AUTH_URL: fake.authUrl,
          ...variables,
        },
        ...options,
        env: npmEnv,
        timeoutMs: 100_000,
      });
    }

    return { fake, project, npmEnv, pipeline };
  }

  /** Every request was authenticated as the CLI inside GitLab does it. */
  function expectAuthenticated(requests: readonly SeenRequest[]): void {
    const [exchange, ...api] = requests;
    expect(exchange?.headers.authorization).toBe(`Basic ${Buffer.from(`:${TOKEN}`).toString('base64')}`);
    for (const r of [exchange!, ...api])
      expect(r.headers['user-agent']).toMatch(/^scalingo-deploy\/\d+\.\d+\.\d+ \(gitlab\)$/);
    for (const r of api) expect(r.headers.authorization).toMatch(/^Bearer \S+$/);
  }

  it('deploys the default branch on a push: creates the link, starts the deployment, follows it', async () => {
    const { fake, project, pipeline } = await setUp(
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
    expect([...seen].sort()).toEqual(
      [
        'GET /v1/apps/my-app',
        'GET /v1/apps/my-app/scm_repo_link',
        // The app's newest deployment, read before the trigger: what the new deployment is told apart from.
        'GET /v1/apps/my-app/deployments?page=1&per_page=1',
        ...Array<string>(4).fill(`GET /v1/apps/my-app/deployments/${id}`),
        'GET /v1/scm_integrations',
        'POST /v1/apps/my-app/scm_repo_link',
        'POST /v1/apps/my-app/scm_repo_link/manual_deploy',
        'POST /v1/tokens/exchange',
      ].sort(),
    );
    // The link is read (404) and the integration found before the link is made, the deployment started after.
    expect(seen.indexOf('GET /v1/apps/my-app/scm_repo_link')).toBeLessThan(seen.indexOf('GET /v1/scm_integrations'));
    expect(seen.indexOf('POST /v1/apps/my-app/scm_repo_link')).toBeLessThan(
      seen.indexOf('POST /v1/apps/my-app/scm_repo_link/manual_deploy'),
    );
    expect(seen.indexOf('GET /v1/apps/my-app/deployments?page=1&per_page=1')).toBeLessThan(
      seen.indexOf('POST /v1/apps/my-app/scm_repo_link/manual_deploy'),
    );
    expect(seen.slice(-4)).toEqual(Array<string>(4).fill(`GET /v1/apps/my-app/deployments/${id}`));
    expect(fake.mutating().map((r) => [r.method, r.path, r.body])).toEqual([
      [
        'POST',
        '/v1/apps/my-app/scm_repo_link',
        {
          scm_repo_link: {
            source: PROJECT_URL,
            auth_integration_uuid: 'int-gitlab-1',
            branch: 'main',
            auto_deploy_enabled: false,
            delete_on_close_enabled: true,
            hours_before_delete_on_close: 24,
          },
        },
      ],
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
      SCALINGO_GIT_REF: fake.deploymentsCreated()[0]!.git_ref,
      SCALINGO_APPS: expect.stringContaining(`"deployment-id":"${id}"`),
    });
    expect(run.output).toContain('Deployed my-app: https://my-app.osc-fr1.scalingo.io');
    expect(run.output).not.toContain(TOKEN);
  }, 240_000);

  it('makes the review app of a merge request pipeline, deploys it itself and follows that deployment', async () => {
    // The review app's first deployment waits for the pipeline's checks (the fake holds it): the job must deploy it.
    const { fake, project, pipeline } = await setUp(GITLAB_WORLD);

    const run = await pipeline(MERGE_REQUEST, { unset: ['CI_COMMIT_BRANCH'] });

    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/PASS\s+scalingo-review/);
    // The stop job is manual: it does not run with the pipeline.
    expect(run.output).not.toMatch(/scalingo-stop-review\s+starting/);
    expect(run.output).not.toMatch(/scalingo-deploy\s+starting/);
    expect(fake.deploymentsCreated()).toEqual([
      expect.objectContaining({
        app: 'my-app-pr42',
        trigger: 'manual_deploy',
        branch: 'feature-42',
        status: 'success',
      }),
    ]);
    const id = fake.deploymentsCreated()[0]!.id;

    const seen = lines(fake.requests);
    expect(seen[0]).toBe('POST /v1/tokens/exchange');
    // The link first, and only then the review app list (it needs the link); then the review app is made, its own
    // link and its deployments looked at together (a deployment it started by itself?), its own link's auto-deploy
    // turned off, and the job's deploy.
    expect(seen.slice(1, 4)).toEqual([
      'GET /v1/apps/my-app/scm_repo_link',
      'GET /v1/apps/my-app/scm_repo_link/review_apps',
      'POST /v1/apps/my-app/scm_repo_link/manual_review_app',
    ]);
    expect(seen.slice(4, 6).sort()).toEqual([
      'GET /v1/apps/my-app-pr42/deployments?page=1&per_page=10',
      'GET /v1/apps/my-app-pr42/scm_repo_link',
    ]);
    expect(seen.slice(6, 8)).toEqual([
      'PATCH /v1/apps/my-app-pr42/scm_repo_link',
      'POST /v1/apps/my-app-pr42/scm_repo_link/manual_deploy',
    ]);
    // Then that deployment is followed.
    expect(seen.slice(8)).toContain(`GET /v1/apps/my-app-pr42/deployments/${id}`);
    expect(fake.mutating().map((r) => [r.method, r.path, r.body])).toEqual([
      ['POST', '/v1/apps/my-app/scm_repo_link/manual_review_app', { pull_request_id: 42 }],
      ['PATCH', '/v1/apps/my-app-pr42/scm_repo_link', { scm_repo_link: { auto_deploy_enabled: false } }],
      ['POST', '/v1/apps/my-app-pr42/scm_repo_link/manual_deploy', { branch: 'feature-42' }],
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

    // The next pipeline of the merge request redeploys it with the branch its link follows, once.
    const again = await pipeline(MERGE_REQUEST, { unset: ['CI_COMMIT_BRANCH'], jobs: ['scalingo-review'] });
    expect(again.code, again.output).toBe(0);
    expect(
      fake
        .mutating()
        .slice(3)
        .map((r) => [r.method, r.path, r.body]),
    ).toEqual([['POST', '/v1/apps/my-app-pr42/scm_repo_link/manual_deploy', { branch: 'feature-42' }]]);
  }, 360_000);

  it('makes review apps on demand: none without the label or for a draft, one with the label', async () => {
    const { fake, pipeline } = await setUp(GITLAB_WORLD, { 'review-app-label': 'preview', 'review-app-drafts': false });

    const unlabeled = await pipeline(
      { ...MERGE_REQUEST, CI_MERGE_REQUEST_LABELS: 'bug' },
      { unset: ['CI_COMMIT_BRANCH'], jobs: ['scalingo-review'] },
    );
    expect(unlabeled.code, unlabeled.output).toBe(0);
    expect(unlabeled.output).toContain(
      'Merge request !42 has no label preview: no review app (add the label preview to get one; `--review-app-label` is set)',
    );
    const draft = await pipeline(
      { ...MERGE_REQUEST, CI_MERGE_REQUEST_LABELS: 'bug,preview', CI_MERGE_REQUEST_DRAFT: 'true' },
      { unset: ['CI_COMMIT_BRANCH'], jobs: ['scalingo-review'] },
    );
    expect(draft.code, draft.output).toBe(0);
    expect(draft.output).toContain('Merge request !42 is a draft: no review app until it is marked ready');
    expect(fake.mutating()).toEqual([]);

    const labeled = await pipeline(
      { ...MERGE_REQUEST, CI_MERGE_REQUEST_LABELS: 'bug,preview' },
      { unset: ['CI_COMMIT_BRANCH'], jobs: ['scalingo-review'] },
    );
    expect(labeled.code, labeled.output).toBe(0);
    expect(fake.mutating().map((r) => [r.method, r.path])).toEqual([
      ['POST', '/v1/apps/my-app/scm_repo_link/manual_review_app'],
      ['PATCH', '/v1/apps/my-app-pr42/scm_repo_link'],
      ['POST', '/v1/apps/my-app-pr42/scm_repo_link/manual_deploy'],
    ]);
  }, 480_000);

  it('fails the job when the build fails, and shows why', async () => {
    const { fake, project, pipeline } = await setUp({
      ...GITLAB_WORLD,
      deployScripts: { 'my-app': ['queued', 'building', 'build-error'] },
    });

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
    expect(project.dotenv('scalingo-deploy')).toMatchObject({
      SCALINGO_DEPLOYMENT_STATUS: 'build-error',
      SCALINGO_APP: 'my-app',
    });
  }, 240_000);

  it('has a stop job that deploys nothing and says what Scalingo does with the review app', async () => {
    const { fake, pipeline } = await setUp({
      ...GITLAB_WORLD,
      links: {
        'my-app': {
          source: PROJECT_URL,
          branch: 'main',
          delete_on_close_enabled: true,
          hours_before_delete_on_close: 24,
        },
      },
      reviewApps: [{ pr: 42, head_branch: 'feature-42' }],
    });

    const run = await pipeline(MERGE_REQUEST, { unset: ['CI_COMMIT_BRANCH'], jobs: ['scalingo-stop-review'] });

    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/PASS\s+scalingo-stop-review/);
    expect(run.output).toContain(
      'Merge request !42 is closed: Scalingo deletes review app my-app-pr42 as soon as the merge request closes, as it does every review app created on demand.',
    );
    const seen = lines(fake.requests);
    expect(seen[0]).toBe('POST /v1/tokens/exchange');
    expect(seen.slice(1).sort()).toEqual([
      'GET /v1/apps/my-app/scm_repo_link',
      'GET /v1/apps/my-app/scm_repo_link/review_apps',
    ]);
    expect(fake.mutating()).toEqual([]);
    expect(fake.deploymentsCreated()).toEqual([]);
  }, 240_000);

  it("deploys the app of its inputs even when an earlier job's dotenv report sets SCALINGO_APP", async () => {
    const { fake, pipeline } = await setUp(
      { ...GITLAB_WORLD, apps: { 'my-app': {}, 'other-app': {} } },
      {},
      (include) => ({
        stages: ['build', 'deploy'],
        include: [include],
        // What an earlier Scalingo job leaves behind: its dotenv variables beat job variables in later jobs.
        build: {
          stage: 'build',
          script: ['printf "SCALINGO_APP=other-app\\nSCALINGO_COMMAND=unlink\\n" > build.env'],
          artifacts: { reports: { dotenv: 'build.env' } },
        },
      }),
    );

    const run = await pipeline({ CI_PIPELINE_SOURCE: 'push' });

    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/PASS\s+build/);
    expect(run.output).toMatch(/PASS\s+scalingo-deploy/);
    expect(fake.mutating().map((r) => [r.method, r.path, r.body])).toEqual([
      ['POST', '/v1/apps/my-app/scm_repo_link/manual_deploy', { branch: 'main' }],
    ]);
    expect(lines(fake.requests).filter((l) => l.includes('other-app'))).toEqual([]);
  }, 240_000);

  it('with no app, deploys the apps linked to the project that follow the pushed branch, in one job; the dotenv lists them', async () => {
    const { fake, project, pipeline } = await setUp(
      {
        ...GITLAB_WORLD,
        links: {
          api: { source: PROJECT_URL, branch: 'main' },
          'other-project-app': { source: 'https://gitlab.com/group/other-project', branch: 'main' },
          web: { source: `${PROJECT_URL}.git`, branch: 'develop' },
        },
      },
      { app: '' },
      (include) => ({
        stages: ['build', 'deploy'],
        include: [include],
        // An earlier job's dotenv report sets SCALINGO_APP (as the component's own jobs do): it must not name the app.
        build: {
          stage: 'build',
          script: ['printf "SCALINGO_APP=other-project-app\\n" > build.env'],
          artifacts: { reports: { dotenv: 'build.env' } },
        },
      }),
    );

    const run = await pipeline({ CI_PIPELINE_SOURCE: 'push' });

    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/PASS\s+scalingo-deploy/);
    // The user's links are listed, and only the app of this project that follows main is deployed.
    expect(lines(fake.requests)).toContain('GET /v1/scm_repo_links?page=1&per_page=50');
    expect(fake.mutating().map((r) => [r.method, r.path, r.body])).toEqual([
      ['POST', '/v1/apps/api/scm_repo_link/manual_deploy', { branch: 'main' }],
    ]);
    const [deployment] = fake.deploymentsCreated();
    expect(deployment).toMatchObject({ app: 'api', branch: 'main', status: 'success' });
    expect(
      lines(fake.requests).filter((l) => l.includes('/apps/other-project-app') || l.includes('/apps/web/')),
    ).toEqual([]);
    expectAuthenticated(fake.requests);

    const report = project.dotenv('scalingo-deploy');
    expect(JSON.parse(report?.SCALINGO_APPS ?? '[]')).toEqual([
      expect.objectContaining({
        app: 'api',
        'deployment-id': deployment!.id,
        'deployment-status': 'success',
        'app-url': 'https://api.osc-fr1.scalingo.io',
      }),
    ]);
    // Exactly one app: the single-app variables are its own (SCALINGO_APP_URL, the environment's URL, included).
    expect(report).toMatchObject({
      SCALINGO_APP: 'api',
      SCALINGO_APP_URL: 'https://api.osc-fr1.scalingo.io',
      SCALINGO_DEPLOYMENT_STATUS: 'success',
    });
    // The environment is the branch's, named after the job prefix.
    expect(run.output).toMatch(/scalingo-deploy environment: \{ name: scalingo\/main\b/);
  }, 240_000);

  it('skips a merge request from a fork, which gets no token, without failing the pipeline', async () => {
    const { fake, project, npmEnv } = await setUp(GITLAB_WORLD);

    const run = await project.pipeline({
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
  }, 240_000);
});
