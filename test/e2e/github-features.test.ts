/**
 * What users see on GitHub besides the log: the pull request comment, GitHub deployments, the job summary; and the
 * dry run. Against the fake Scalingo API and a fake GitHub API (GITHUB_API_URL).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeGitHub } from '../support/fake-github.js';
import { byAction, byRef, webhook } from '../support/payloads.js';
import { calls, checkEveryRun, IN_STEP_LINK, scanToo, world, writes, type World } from './helpers.js';

checkEveryRun();

type FakeGitHub = Awaited<ReturnType<typeof startFakeGitHub>>;
const GITHUB_TOKEN = 'ghs_fakeGitHubToken0123456789';
let github: FakeGitHub | undefined;

afterEach(async () => {
  await github?.close();
  github = undefined;
});

async function withGitHub(options: Parameters<typeof startFakeGitHub>[0] = {}): Promise<FakeGitHub> {
  github = await startFakeGitHub({ repository: 'Codertocat/Hello-World', ...options });
  return github;
}

async function ghRun(
  w: World,
  gh: FakeGitHub,
  run: { event: string; ref: string; payload: Record<string, unknown>; inputs?: Record<string, string> },
) {
  const result = await w.action({
    ...run,
    inputs: { comment: 'true', 'github-token': GITHUB_TOKEN, ...run.inputs },
    env: { GITHUB_API_URL: gh.url },
  });
  // Comments and deployment statuses are output too: no Scalingo credential may reach GitHub.
  scanToo(gh.requests.map((r) => JSON.stringify(r.body)).join('\n'));
  return result;
}

const ghCalls = (gh: FakeGitHub) => gh.requests.map((r) => `${r.method} ${r.path.replace(/\?.*$/, '')}`);
const pr = (action: string) => webhook('pull_request', byAction(action));

describe('pull request comment', () => {
  it('is created once, then updated on every run, with the review app URL and status', async () => {
    const gh = await withGitHub();
    // Scalingo builds the head of the branch the review app's link follows: here, the pull request's head commit.
    const w = await world({
      links: { 'my-app': IN_STEP_LINK },
      pulls: { 2: { head_branch: 'changes' } },
      branchHeads: { changes: 'ec26c3e57ca3a959ca5aad62de7213c562f8c821' },
    });
    const first = await ghRun(w, gh, { event: 'pull_request', ref: 'refs/pull/2/merge', payload: pr('opened') });
    expect(first.code).toBe(0);
    expect(ghCalls(gh)).toEqual([
      'GET /repos/Codertocat/Hello-World/issues/2/comments',
      'POST /repos/Codertocat/Hello-World/issues/2/comments',
      'PATCH /repos/Codertocat/Hello-World/issues/comments/1000',
    ]);
    const second = await ghRun(w, gh, { event: 'pull_request', ref: 'refs/pull/2/merge', payload: pr('synchronize') });
    expect(second.code).toBe(0);
    expect(ghCalls(gh).slice(3)).toEqual([
      'GET /repos/Codertocat/Hello-World/issues/2/comments',
      'PATCH /repos/Codertocat/Hello-World/issues/comments/1000',
      'PATCH /repos/Codertocat/Hello-World/issues/comments/1000',
    ]);
    expect(gh.state.comments).toHaveLength(1);
    const body = gh.state.comments[0]!.body;
    expect(body).toContain('<!-- scalingo-deploy:my-app -->');
    expect(body).toContain('| `my-app-pr2` | ✅ deployed | https://my-app-pr2.osc-fr1.scalingo.io | `ec26c3e` |');
    expect(gh.requests.every((r) => r.headers.authorization === `token ${GITHUB_TOKEN}`)).toBe(true);
  });

  it('is found by its marker beyond the first page of comments', async () => {
    const others = Array.from({ length: 120 }, (_, i) => `comment ${i}`);
    const gh = await withGitHub({ existingComments: { 2: [...others, '<!-- scalingo-deploy:my-app -->\nold'] } });
    const w = await world({ links: { 'my-app': IN_STEP_LINK }, reviewApps: [{ pr: 2, head_branch: 'changes' }] });
    const r = await ghRun(w, gh, { event: 'pull_request', ref: 'refs/pull/2/merge', payload: pr('synchronize') });
    expect(r.code).toBe(0);
    expect(ghCalls(gh).filter((c) => c.startsWith('POST'))).toEqual([]);
    expect(gh.state.comments).toHaveLength(121);
    expect(gh.state.comments[120]!.body).toContain('✅ deployed');
  });

  it('on closed, says what happens to the review app', async () => {
    const gh = await withGitHub({ existingComments: { 2: ['<!-- scalingo-deploy:my-app -->\nold'] } });
    const w = await world({ links: { 'my-app': IN_STEP_LINK }, reviewApps: [{ pr: 2, head_branch: 'changes' }] });
    const r = await ghRun(w, gh, { event: 'pull_request', ref: 'refs/pull/2/merge', payload: pr('closed') });
    expect(r.code).toBe(0);
    expect(gh.state.comments[0]!.body).toContain('🗑️ closed');
    expect(gh.state.comments[0]!.body).toContain(
      'Pull request #2 is closed: Scalingo deletes review app my-app-pr2 as soon as the pull request closes, as it does every review app created on demand.',
    );
  });

  it('one per app: two apps keep two comments', async () => {
    const gh = await withGitHub();
    const w = await world({
      apps: { 'my-app': {}, 'my-api': {} },
      links: { 'my-app': IN_STEP_LINK, 'my-api': IN_STEP_LINK },
    });
    await ghRun(w, gh, { event: 'pull_request', ref: 'refs/pull/2/merge', payload: pr('opened') });
    await ghRun(w, gh, {
      event: 'pull_request',
      ref: 'refs/pull/2/merge',
      payload: pr('opened'),
      inputs: { app: 'my-api' },
    });
    expect(gh.state.comments.map((c) => c.body.split('\n')[0])).toEqual([
      '<!-- scalingo-deploy:my-app -->',
      '<!-- scalingo-deploy:my-api -->',
    ]);
  });

  it('a refused comment is a warning, never a failed deploy', async () => {
    const gh = await withGitHub({
      faults: [
        {
          kind: 'status',
          method: 'POST',
          path: /comments$/,
          status: 403,
          body: { message: 'Resource not accessible by integration' },
          times: Infinity,
        },
      ],
    });
    const w = await world({ links: { 'my-app': IN_STEP_LINK } });
    const r = await ghRun(w, gh, { event: 'pull_request', ref: 'refs/pull/2/merge', payload: pr('opened') });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /::warning title=GitHub API::Pull request comment failed \(403\): Resource not accessible by integration.*`permissions: pull-requests: write`/,
    );
    expect(r.outputs['deployment-status']).toBe('success');
  });

  it('a GitHub API that does not answer is given up after request-timeout-seconds, with a warning', async () => {
    const gh = await withGitHub({
      faults: [{ kind: 'delay', method: 'GET', path: /comments$/, ms: 8000, times: Infinity }],
    });
    const w = await world({ links: { 'my-app': IN_STEP_LINK } });
    const r = await ghRun(w, gh, {
      event: 'pull_request',
      ref: 'refs/pull/2/merge',
      payload: pr('opened'),
      inputs: { 'request-timeout-seconds': '1' },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      '::warning title=GitHub API::Pull request comment given up: GitHub did not answer within 5 s (request-timeout-seconds, plus the pauses GitHub asks for between writes).',
    );
    expect(r.outputs['deployment-status']).toBe('success');
    expect(gh.state.comments).toHaveLength(0);
  });

  it('is not written when `comment: false`, and octokit is then never loaded', async () => {
    const gh = await withGitHub();
    const w = await world({ links: { 'my-app': IN_STEP_LINK } });
    const r = await ghRun(w, gh, {
      event: 'pull_request',
      ref: 'refs/pull/2/merge',
      payload: pr('opened'),
      inputs: { comment: 'false' },
    });
    expect(r.code).toBe(0);
    expect(gh.requests).toEqual([]);
    expect(r.stdout).not.toContain('GitHub API client loaded');
  });
});

describe('GitHub deployments', () => {
  it('on push: a production deployment, in_progress then success with the app URL', async () => {
    const gh = await withGitHub();
    const w = await world({ links: { 'my-app': IN_STEP_LINK } });
    const r = await ghRun(w, gh, {
      event: 'push',
      ref: 'refs/heads/master',
      payload: webhook('push', byRef('refs/heads/')),
      inputs: { 'github-deployment': 'true' },
    });
    expect(r.code).toBe(0);
    expect(ghCalls(gh)).toEqual([
      'POST /repos/Codertocat/Hello-World/deployments',
      'POST /repos/Codertocat/Hello-World/deployments/1000/statuses',
      'POST /repos/Codertocat/Hello-World/deployments/1000/statuses',
    ]);
    expect(gh.state.deployments[0]).toMatchObject({
      ref: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
      environment: 'my-app',
      transient_environment: false,
      production_environment: true,
      auto_merge: false,
      required_contexts: [],
    });
    const id = w.fake.deploymentsCreated()[0]!.id;
    expect(gh.state.statuses.map((s) => [s.state, s.environment_url, s.log_url])).toEqual([
      [
        'in_progress',
        'https://my-app.osc-fr1.scalingo.io',
        'https://github.com/Codertocat/Hello-World/actions/runs/1234',
      ],
      [
        'success',
        'https://my-app.osc-fr1.scalingo.io',
        `https://dashboard.scalingo.com/apps/osc-fr1/my-app/deploy/${id}`,
      ],
    ]);
  });

  it('on a pull request: a transient environment named after the review app; failure when the build fails', async () => {
    const gh = await withGitHub();
    const w = await world({
      links: { 'my-app': IN_STEP_LINK },
      deployScripts: { 'my-app-pr2': ['queued', 'build-error'] },
    });
    const r = await ghRun(w, gh, {
      event: 'pull_request',
      ref: 'refs/pull/2/merge',
      payload: pr('opened'),
      inputs: { 'github-deployment': 'true', comment: 'false' },
    });
    expect(r.code).toBe(1);
    expect(gh.state.deployments[0]).toMatchObject({
      ref: 'ec26c3e57ca3a959ca5aad62de7213c562f8c821',
      environment: 'my-app-pr2',
      transient_environment: true,
      production_environment: false,
    });
    expect(gh.state.statuses.map((s) => s.state)).toEqual(['in_progress', 'failure']);
  });

  it("on closed: the review app environment's deployments still active are marked inactive, the others left alone", async () => {
    const gh = await withGitHub({
      existingDeployments: [
        { environment: 'my-app-pr2', states: ['in_progress', 'success'] }, // 1000
        { environment: 'my-app-pr2', states: ['success', 'inactive'] }, // 1003
        { environment: 'my-app-pr3', states: ['success'] }, // 1006
        { environment: 'my-app', states: ['success'] }, // 1008
      ],
    });
    const w = await world({ links: { 'my-app': IN_STEP_LINK }, reviewApps: [{ pr: 2, head_branch: 'changes' }] });
    const r = await ghRun(w, gh, {
      event: 'pull_request',
      ref: 'refs/pull/2/merge',
      payload: pr('closed'),
      inputs: { 'github-deployment': 'true', comment: 'false' },
    });
    expect(r.code).toBe(0);
    expect(gh.requests.map((q) => `${q.method} ${q.path}`)).toEqual([
      'GET /repos/Codertocat/Hello-World/deployments?environment=my-app-pr2&per_page=100&page=1',
      'GET /repos/Codertocat/Hello-World/deployments/1003/statuses?per_page=1',
      'GET /repos/Codertocat/Hello-World/deployments/1000/statuses?per_page=1',
      'POST /repos/Codertocat/Hello-World/deployments/1000/statuses',
    ]);
    expect(gh.requests[3]!.body).toMatchObject({ state: 'inactive', description: 'Pull request #2 closed' });
    expect(gh.state.deployments).toHaveLength(4);
    expect(r.stdout).toContain(
      'GitHub environment my-app-pr2: 1 deployment(s) marked inactive (pull request #2 closed)',
    );
    expect(r.stdout).not.toContain('::warning');
  });

  it('on closed, with `environment` and the review app gone: the environment per pull request; a refusal is a warning', async () => {
    const gh = await withGitHub({
      existingDeployments: [{ environment: 'review-pr2', states: ['success'] }],
      faults: [
        {
          kind: 'status',
          method: 'POST',
          path: /statuses$/,
          status: 403,
          body: { message: 'Resource not accessible by integration' },
          times: Infinity,
        },
      ],
    });
    const w = await world({ links: { 'my-app': IN_STEP_LINK } });
    const r = await ghRun(w, gh, {
      event: 'pull_request',
      ref: 'refs/pull/2/merge',
      payload: pr('closed'),
      inputs: { 'github-deployment': 'true', comment: 'false', environment: 'review' },
    });
    expect(r.code).toBe(0);
    expect(ghCalls(gh)).toEqual([
      'GET /repos/Codertocat/Hello-World/deployments',
      'GET /repos/Codertocat/Hello-World/deployments/1000/statuses',
      'POST /repos/Codertocat/Hello-World/deployments/1000/statuses',
    ]);
    expect(gh.requests[0]!.path).toContain('environment=review-pr2');
    expect(r.stdout).toMatch(
      /::warning title=GitHub API::Marking the deployments of GitHub environment review-pr2 inactive failed \(403\): Resource not accessible by integration.*`permissions: deployments: write`/,
    );
  });

  it('on closed, without `github-deployment`: GitHub deployments are not touched', async () => {
    const gh = await withGitHub({ existingDeployments: [{ environment: 'my-app-pr2', states: ['success'] }] });
    const w = await world({ links: { 'my-app': IN_STEP_LINK }, reviewApps: [{ pr: 2, head_branch: 'changes' }] });
    const r = await ghRun(w, gh, {
      event: 'pull_request',
      ref: 'refs/pull/2/merge',
      payload: pr('closed'),
      inputs: { comment: 'false' },
    });
    expect(r.code).toBe(0);
    expect(gh.requests).toEqual([]);
  });

  it('a GitHub API failure is a warning', async () => {
    const gh = await withGitHub({
      faults: [{ kind: 'status', method: 'POST', path: /deployments$/, status: 500, times: Infinity }],
    });
    const w = await world({ links: { 'my-app': IN_STEP_LINK } });
    const r = await ghRun(w, gh, {
      event: 'push',
      ref: 'refs/heads/master',
      payload: webhook('push', byRef('refs/heads/')),
      inputs: { 'github-deployment': 'true' },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('::warning title=GitHub API::GitHub deployment failed (500)');
  });
});

describe('outputs with `app` from a secret', () => {
  it('warns once, naming the outputs GitHub drops, when the checked-out workflow gives `app` a secret', async () => {
    const workspace = mkdtempSync(join(tmpdir(), 'scalingo-workspace-'));
    try {
      mkdirSync(join(workspace, '.github/workflows'), { recursive: true });
      writeFileSync(
        join(workspace, '.github/workflows/deploy.yml'),
        [
          'on: push',
          'jobs:',
          '  deploy:',
          '    runs-on: ubuntu-latest',
          '    steps:',
          '      - uses: actions/checkout@v4',
          '      - uses: scalingo-deploy/scalingo-deploy@v1',
          '        with:',
          '          app: ${{ secrets.SCALINGO_APP }}',
          '          api-token: ${{ secrets.SCALINGO_API_TOKEN }}',
          '',
        ].join('\n'),
      );
      const w = await world({ links: { 'my-app': IN_STEP_LINK } });
      const push = { event: 'push', ref: 'refs/heads/master', payload: webhook('push', byRef('refs/heads/')) };
      const env = {
        GITHUB_WORKSPACE: workspace,
        GITHUB_WORKFLOW_REF: 'Codertocat/Hello-World/.github/workflows/deploy.yml@refs/heads/master',
      };
      const r = await w.action({ ...push, env });
      expect(r.code).toBe(0);
      const warnings = r.stdout.split('\n').filter((l) => l.startsWith('::warning'));
      expect(warnings).toEqual([
        "::warning title=Outputs dropped by GitHub::`app` comes from a secret (`secrets.SCALINGO_APP` in .github/workflows/deploy.yml): GitHub drops a job output that contains a secret's value, " +
          'so the outputs `app`, `app-url`, `dashboard-url`, `apps` of this step reach later jobs empty. An app name is not a secret: give `app` a plain value or a variable (`${{ vars.SCALINGO_APP }}`).',
      ]);
      expect(r.outputs.app).toBe('my-app');

      // The workflow not checked out: nothing is said.
      const unread = await w.action({ ...push, env: { ...env, GITHUB_WORKSPACE: join(workspace, 'missing') } });
      expect(unread.code).toBe(0);
      expect(unread.stdout).not.toContain('::warning');
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  });
});

describe('dry run', () => {
  it('with drifted settings: only reads, prints the fields that would change, link=would-update', async () => {
    const w = await world({ links: { 'my-app': { ...IN_STEP_LINK, auto_deploy_enabled: true } } });
    const r = await w.action({
      event: 'push',
      ref: 'refs/heads/master',
      payload: webhook('push', byRef('refs/heads/')),
      inputs: { 'dry-run': 'true', 'auto-deploy': 'false', branch: 'master' },
    });
    expect(r.code).toBe(0);
    expect(writes(w.fake)).toEqual([]);
    expect(calls(w.fake).filter((c) => !c.includes(' GET ') && !c.endsWith('/v1/tokens/exchange'))).toEqual([]);
    expect(r.stdout).toContain('would change 1 setting(s)');
    expect(r.stdout).toContain('auto_deploy_enabled: true -> false');
    expect(r.stdout).toContain('Would deploy branch master of my-app and follow it');
    expect(r.outputs).toMatchObject({ link: 'would-update', 'deployment-id': '' });
    expect(r.summary).toContain('### 🔍 Scalingo: my-app: dry run');
  });

  it('with no link: link=would-create, after finding the integration', async () => {
    const w = await world({ links: {} });
    const r = await w.action({
      event: 'push',
      ref: 'refs/heads/master',
      payload: webhook('push', byRef('refs/heads/')),
      inputs: { 'dry-run': 'true' },
    });
    expect(r.code).toBe(0);
    expect(writes(w.fake)).toEqual([]);
    expect(r.stdout).toContain('No SCM link yet: would create it for https://github.com/Codertocat/Hello-World');
    expect(r.outputs.link).toBe('would-create');
  });

  it('on a pull request: says which review app it would create', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK } });
    const r = await w.action({
      event: 'pull_request',
      ref: 'refs/pull/2/merge',
      payload: pr('opened'),
      inputs: { 'dry-run': 'true' },
    });
    expect(r.code).toBe(0);
    expect(writes(w.fake)).toEqual([]);
    expect(r.stdout).toContain('Would create the review app of pull request #2');
    expect(r.outputs.link).toBe('unchanged');
  });

  it('on the command line: --dry-run', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK } });
    const r = await w.cli({ args: ['--app', 'my-app', '--command', 'unlink', '--dry-run'] });
    expect(r.code).toBe(0);
    expect(writes(w.fake)).toEqual([]);
    expect(r.outputs.SCALINGO_LINK).toBe('would-delete');
  });
});
