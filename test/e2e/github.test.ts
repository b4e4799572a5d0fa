/**
 * The built action (dist/index.js) run as GitHub's runner runs it, with real webhook payloads, against the fake
 * Scalingo API: what only the runner shows. The outputs file, the step summary, annotations (`::error::`,
 * `::warning title=…::`, `::group::`), masking, the exit code and the environment fallbacks. What the core does
 * (requests, outcomes, messages) is proven in-process in test/integration; a credential scan runs after each test.
 */
import { describe, expect, it } from 'vitest';
import { byAction, byRef, webhook } from '../support/payloads.js';
import { calls, checkEveryRun, IN_STEP_LINK, REPO, TOKEN, world, writes } from './helpers.js';

checkEveryRun();

const push = () => webhook('push', byRef('refs/heads/'));
/** Every output, as set when nothing was deployed nor changed. */
const NO_OUTPUTS = {
  app: '',
  'app-url': '',
  'deployment-id': '',
  'deployment-status': '',
  'review-app': '',
  link: '',
  'timed-out': 'false',
  'dashboard-url': '',
  'git-ref': '',
  apps: expect.any(String),
};
const pr = (action: string) => webhook('pull_request', byAction(action));

describe('outputs, summary and exit code', () => {
  it('a push with no link: creates it, deploys, sets every output and exits 0', async () => {
    const w = await world({ links: {} });
    const r = await w.action({
      event: 'push',
      ref: 'refs/heads/master',
      payload: push(),
      inputs: { 'auto-deploy': 'false' },
    });

    expect(r.code).toBe(0);
    expect(writes(w.fake)).toEqual([
      {
        method: 'POST',
        path: '/v1/apps/my-app/scm_repo_link',
        body: {
          scm_repo_link: {
            source: REPO,
            auth_integration_uuid: 'int-github-1',
            branch: 'master',
            auto_deploy_enabled: false,
          },
        },
      },
      { method: 'POST', path: '/v1/apps/my-app/scm_repo_link/manual_deploy', body: { branch: 'master' } },
    ]);
    const id = w.fake.deploymentsCreated()[0]!.id;
    expect(r.outputs).toEqual({
      app: 'my-app',
      'app-url': 'https://my-app.osc-fr1.scalingo.io',
      'deployment-id': id,
      'deployment-status': 'success',
      'review-app': '',
      link: 'created',
      'timed-out': 'false',
      'dashboard-url': `https://dashboard.scalingo.com/apps/osc-fr1/my-app/deploy/${id}`,
      'git-ref': w.fake.deploymentsCreated()[0]!.git_ref,
      apps: expect.any(String),
    });
    expect(r.stdout).toContain('Deployed my-app: https://my-app.osc-fr1.scalingo.io');
    expect(r.stdout).toContain(`::group::Outputs\napp=my-app\n`);
    expect(r.summary).toContain('my-app');
  });

  it('drifted link settings: the step summary lists each change', async () => {
    const w = await world({
      links: { 'my-app': { ...IN_STEP_LINK, auto_deploy_enabled: true, hours_before_delete_stale: 24 } },
    });
    const r = await w.action({
      event: 'push',
      ref: 'refs/heads/master',
      payload: push(),
      inputs: { branch: 'master', 'auto-deploy': 'false', 'hours-before-delete-stale': '0' },
    });

    expect(r.code).toBe(0);
    expect(writes(w.fake)[0]).toEqual({
      method: 'PATCH',
      path: '/v1/apps/my-app/scm_repo_link',
      body: { scm_repo_link: { auto_deploy_enabled: false, hours_before_delete_stale: 0 } },
    });
    expect(r.outputs.link).toBe('updated');
    expect(r.stdout).toContain('auto_deploy_enabled: true -> false');
    expect(r.summary).toContain('`auto_deploy_enabled` `true` → `false`');
  });

  it('a build error: exit 1, one `::error::` annotation, the build output in a group, the outputs set', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK }, deployScript: ['queued', 'building', 'build-error'] });
    const r = await w.action({ event: 'push', ref: 'refs/heads/master', payload: push() });

    expect(r.code).toBe(1);
    const id = w.fake.deploymentsCreated()[0]!.id;
    expect(r.outputs).toMatchObject({
      app: 'my-app',
      'deployment-id': id,
      'deployment-status': 'build-error',
      'timed-out': 'false',
    });
    expect(r.stdout.split('\n').filter((l) => l.startsWith('::error::'))).toEqual([
      expect.stringMatching(new RegExp(`^::error::Deployment ${id} of my-app ended with status build-error`)),
    ]);
    expect(r.stdout).toMatch(/::group::Build output of \S+ \(last \d+ lines\)\n(.*\n)*.*error/);
  });

  it('past the deadline: exit 1 and timed-out=true', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK }, deployScript: ['queued', 'building'] });
    const r = await w.action({
      event: 'push',
      ref: 'refs/heads/master',
      payload: push(),
      inputs: { 'timeout-minutes': '0.01', 'poll-interval-seconds': '0.2' },
    });

    expect(r.code).toBe(1);
    expect(r.outputs).toMatchObject({ 'deployment-status': 'building', link: 'unchanged', 'timed-out': 'true' });
    expect(r.stdout).toMatch(
      /::error::Deployment \S+ of my-app was still building after 1 s \(timeout-minutes\): it goes on on Scalingo/,
    );
  });

  it('a pull request: creates the review app, deploys it itself (its first deployment waits for the checks), follows that deployment', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK }, pulls: { 2: { head_branch: 'changes' } } });
    const r = await w.action({ event: 'pull_request', ref: 'refs/pull/2/merge', payload: pr('opened') });

    expect(r.code).toBe(0);
    expect(writes(w.fake)).toEqual([
      { method: 'POST', path: '/v1/apps/my-app/scm_repo_link/manual_review_app', body: { pull_request_id: 2 } },
      {
        method: 'PATCH',
        path: '/v1/apps/my-app-pr2/scm_repo_link',
        body: { scm_repo_link: { auto_deploy_enabled: false } },
      },
      { method: 'POST', path: '/v1/apps/my-app-pr2/scm_repo_link/manual_deploy', body: { branch: 'changes' } },
    ]);
    // Scalingo stores the review app's branch as GitHub's head label, which its manual deploy refuses: the bare branch
    // sent above comes from the event.
    expect(w.fake.state.links['my-app-pr2']!.branch).toMatch(/^[^:]+:changes$/);
    const [deployment] = w.fake.deploymentsCreated();
    expect(w.fake.deploymentsCreated()).toEqual([
      expect.objectContaining({ app: 'my-app-pr2', trigger: 'manual_deploy', branch: 'changes', status: 'success' }),
    ]);
    expect(r.outputs).toMatchObject({
      app: 'my-app-pr2',
      'review-app': 'my-app-pr2',
      'app-url': 'https://my-app-pr2.osc-fr1.scalingo.io',
      'deployment-id': deployment!.id,
      'deployment-status': 'success',
      link: 'unchanged',
    });

    // The next push: the review app is redeployed with the pull request's head branch (bare), once.
    const again = await w.action({ event: 'pull_request', ref: 'refs/pull/2/merge', payload: pr('synchronize') });
    expect(again.code).toBe(0);
    expect(writes(w.fake).slice(3)).toEqual([
      { method: 'POST', path: '/v1/apps/my-app-pr2/scm_repo_link/manual_deploy', body: { branch: 'changes' } },
    ]);
    // Once the job's checks pass, Scalingo deploys nothing more: the review app's own auto-deploy is off.
    w.fake.push('changes');
    w.fake.checksPassed();
    expect(w.fake.deploymentsCreated()).toHaveLength(2);

    // Closed: Scalingo deletes the manual review app at once; the step says so and deploys nothing.
    w.fake.closePull(2);
    const closed = await w.action({ event: 'pull_request', ref: 'refs/pull/2/merge', payload: pr('closed') });
    expect(closed.code).toBe(0);
    expect(writes(w.fake)).toHaveLength(4);
    expect(closed.stdout).toContain(
      'Pull request #2 is closed and has no review app on my-app: nothing to do (Scalingo deletes a review app created on demand, as this step creates them, as soon as its pull request closes).',
    );
  });

  it('a pull request without the review app label: deploys nothing, says which label to add, exits 0', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK } });
    const r = await w.action({
      event: 'pull_request',
      ref: 'refs/pull/2/merge',
      payload: pr('opened'),
      inputs: { 'review-app-label': 'preview' },
    });
    expect(r.code).toBe(0);
    expect(writes(w.fake)).toEqual([]);
    expect(r.stdout).toContain(
      'Pull request #2 has no label preview: no review app (add the label preview to get one; `review-app-label` is set)',
    );
  });

  it('`command: review-app` without a pull request number: exit 1, one `::error::` line, no request', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK } });
    const r = await w.action({
      event: 'push',
      ref: 'refs/heads/master',
      payload: push(),
      inputs: { command: 'review-app' },
    });
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('::error'))).toEqual([
      '::error::`command: review-app` needs a pull request number: set `pull-request`, or run it on a pull request event. Nothing was changed.',
    ]);
    expect(w.fake.requests).toEqual([]);
  });

  it('a refused token: exit 1, one `::error::` line, every output set (empty)', async () => {
    const w = await world();
    const r = await w.action({
      event: 'push',
      ref: 'refs/heads/master',
      payload: push(),
      inputs: { 'api-token': 'tk-us-wrong-token-000000' },
    });

    expect(r.code).toBe(1);
    expect(calls(w.fake)).toEqual(['auth POST /v1/tokens/exchange']);
    const errors = r.stdout.split('\n').filter((l) => l.startsWith('::error::'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(
      '::error::Scalingo refused the API token (401 on the token exchange): check the `api-token` input or the SCALINGO_API_TOKEN secret',
    );
    expect(r.outputs).toEqual(NO_OUTPUTS);
  });
});

describe('annotations', () => {
  it('a double deploy is a titled warning', async () => {
    const w = await world({ links: { 'my-app': { ...IN_STEP_LINK, auto_deploy_enabled: true } } });
    const r = await w.action({ event: 'push', ref: 'refs/heads/master', payload: push() });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /::warning title=Double deploy::The link's auto-deploy is on for master.*Set `auto-deploy: false`/,
    );
  });

  it('a pull request from a fork without the token: a titled warning, exit 0, no request', async () => {
    const payload = pr('opened') as { pull_request: { head: { repo: unknown } } };
    payload.pull_request.head.repo = { full_name: 'someone/Hello-World', fork: true };
    const w = await world();
    const r = await w.action({
      event: 'pull_request',
      ref: 'refs/pull/2/merge',
      payload: payload as Record<string, unknown>,
      inputs: { 'api-token': '' },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      '::warning title=Scalingo deploy skipped::No Scalingo API token: pull request #2 comes from a fork, and GitHub gives no secrets to pipelines of forks. Skipped (set `fail-without-token: true` to fail instead).',
    );
    expect(w.fake.requests).toEqual([]);
  });
});

describe('secrets', () => {
  it('falls back to SCALINGO_API_TOKEN and SCALINGO_APP from the environment', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK } });
    const r = await w.action({
      event: 'push',
      ref: 'refs/heads/master',
      payload: push(),
      inputs: { 'api-token': '', app: '' },
      env: { SCALINGO_API_TOKEN: TOKEN, SCALINGO_APP: 'my-app' },
    });
    expect(r.code).toBe(0);
    expect(r.outputs.app).toBe('my-app');
    expect(w.fake.requests.find((q) => q.service === 'auth')?.headers['user-agent']).toMatch(
      /^scalingo-deploy\/\d+\.\d+\.\d+ \(github-action\)$/,
    );
  });

  it('runs in debug mode, where every request is logged without a credential (checked after each test)', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK } });
    const r = await w.action({ event: 'push', ref: 'refs/heads/master', payload: push() });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/::debug::POST \/v1\/tokens\/exchange -> 200 \(\d+ ms, request id [\w-]+\)/);
    expect(r.stdout).toMatch(/::debug::settings: \{.*"apiToken":"\(given, masked\)"/);
    // the runner is told to mask the token, its Basic form and every bearer
    const masked = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('::add-mask::'))
      .map((l) => l.slice('::add-mask::'.length));
    expect(masked).toEqual(expect.arrayContaining([TOKEN, Buffer.from(`:${TOKEN}`).toString('base64')]));
    expect(masked.length).toBeGreaterThanOrEqual(3);
  });
});
