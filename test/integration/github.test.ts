/**
 * The core's run() in-process on GitHub events (real webhook payloads through the GitHub context builder), against
 * the fake Scalingo API. Each scenario checks the requests Scalingo received, the report and its outputs, the log
 * lines, and (after each test) that no credential shows anywhere.
 */
import { describe, expect, it } from 'vitest';
import { byAction, byRef, webhook } from '../support/payloads.js';
import {
  calls,
  IN_STEP_LINK,
  onGitHub,
  pollsOf,
  REPO,
  requestsOf,
  secretsOf,
  sortedCalls,
  TOKEN,
  world,
  writes,
} from './harness.js';

const push = () => webhook('push', byRef('refs/heads/'));
/** Every output, as set when nothing was deployed nor changed. */
/** `apps` of a step of my-app: one entry, for the app. */
const APPS = expect.stringMatching(/^\[\{"app":"my-app",/) as unknown as string;
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
  apps: APPS,
};
const pr = (action: string) => webhook('pull_request', byAction(action));

describe('push', () => {
  it('with no link: creates the link on the pushed branch, deploys it and follows it to success', async () => {
    const w = await world({ links: {} });
    const f = w.fake;
    const r = await w.run({ ctx: onGitHub('push', 'refs/heads/master', push()), inputs: { 'auto-deploy': 'false' } });

    expect(r.report.ok).toBe(true);
    expect(requestsOf(f)).toEqual([
      'api GET /v1/apps/my-app',
      'api GET /v1/apps/my-app/deployments/<id>',
      'api GET /v1/apps/my-app/deployments/<id>',
      'api GET /v1/apps/my-app/deployments/<id>',
      'api GET /v1/apps/my-app/deployments/<id>',
      'api GET /v1/apps/my-app/deployments?page=1&per_page=1',
      'api GET /v1/apps/my-app/scm_repo_link',
      'api POST /v1/apps/my-app/scm_repo_link',
      'api POST /v1/apps/my-app/scm_repo_link/manual_deploy',
      'auth GET /v1/scm_integrations',
      'auth POST /v1/tokens/exchange',
    ]);
    expect(writes(f)).toEqual([
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
    expect(calls(f).slice(0, 1)).toEqual(['auth POST /v1/tokens/exchange']);
    expect(calls(f)).toContain('auth GET /v1/scm_integrations');
    const deployment = f.deploymentsCreated()[0]!;
    expect(r.outputs).toEqual({
      app: 'my-app',
      'app-url': 'https://my-app.osc-fr1.scalingo.io',
      'deployment-id': deployment.id,
      'deployment-status': 'success',
      'review-app': '',
      link: 'created',
      'timed-out': 'false',
      'dashboard-url': `https://dashboard.scalingo.com/apps/osc-fr1/my-app/deploy/${deployment.id}`,
      'git-ref': deployment.git_ref,
      apps: APPS,
    });
    expect(r.log).toContain('building (');
    expect(r.log).toContain('Deployed my-app: https://my-app.osc-fr1.scalingo.io');
  });

  it('with a link in step: no link write at all, and five requests when the deployment ends at once', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK }, deployScript: ['queued', 'success'] });
    const f = w.fake;
    const r = await w.run({
      ctx: onGitHub('push', 'refs/heads/master', push()),
      inputs: { branch: 'master', 'auto-deploy': 'false' },
    });

    expect(r.report.ok).toBe(true);
    expect(sortedCalls(f)).toEqual([
      'api GET /v1/apps/my-app',
      'api GET /v1/apps/my-app/deployments/' + f.deploymentsCreated()[0]!.id,
      'api GET /v1/apps/my-app/deployments?page=1&per_page=1',
      'api GET /v1/apps/my-app/scm_repo_link',
      'api POST /v1/apps/my-app/scm_repo_link/manual_deploy',
      'auth POST /v1/tokens/exchange',
    ]);
    expect(writes(f)).toEqual([
      { method: 'POST', path: '/v1/apps/my-app/scm_repo_link/manual_deploy', body: { branch: 'master' } },
    ]);
    expect(r.outputs.link).toBe('unchanged');
    expect(r.outputs['deployment-status']).toBe('success');
  });

  it('with drifted settings: PATCHes only the given settings that differ', async () => {
    const w = await world({
      links: { 'my-app': { ...IN_STEP_LINK, auto_deploy_enabled: true, hours_before_delete_stale: 24 } },
    });
    const f = w.fake;
    const r = await w.run({
      ctx: onGitHub('push', 'refs/heads/master', push()),
      inputs: {
        branch: 'master',
        'auto-deploy': 'false',
        'delete-on-close': 'true',
        'hours-before-delete-stale': '0',
        'review-apps': 'false',
      },
    });

    expect(r.report.ok).toBe(true);
    expect(requestsOf(f)).toEqual([
      'api GET /v1/apps/my-app',
      'api GET /v1/apps/my-app/deployments/<id>',
      'api GET /v1/apps/my-app/deployments/<id>',
      'api GET /v1/apps/my-app/deployments/<id>',
      'api GET /v1/apps/my-app/deployments/<id>',
      'api GET /v1/apps/my-app/deployments?page=1&per_page=1',
      'api GET /v1/apps/my-app/scm_repo_link',
      'api PATCH /v1/apps/my-app/scm_repo_link',
      'api POST /v1/apps/my-app/scm_repo_link/manual_deploy',
      'auth POST /v1/tokens/exchange',
    ]);
    expect(writes(f)).toEqual([
      {
        method: 'PATCH',
        path: '/v1/apps/my-app/scm_repo_link',
        body: { scm_repo_link: { auto_deploy_enabled: false, hours_before_delete_stale: 0 } },
      },
      { method: 'POST', path: '/v1/apps/my-app/scm_repo_link/manual_deploy', body: { branch: 'master' } },
    ]);
    expect(r.outputs.link).toBe('updated');
    expect(r.log).toContain('auto_deploy_enabled: true -> false');
    expect(r.report.link).toMatchObject({
      result: 'updated',
      changes: [
        { field: 'auto_deploy_enabled', from: true, to: false },
        { field: 'hours_before_delete_stale', from: 24, to: 0 },
      ],
    });
  });

  it('warns of a double deploy when the link auto-deploys the branch it deploys', async () => {
    const w = await world({ links: { 'my-app': { ...IN_STEP_LINK, auto_deploy_enabled: true } } });
    const r = await w.run({ ctx: onGitHub('push', 'refs/heads/master', push()) });
    expect(r.report.ok).toBe(true);
    expect(r.warnings.join('\n')).toMatch(
      /Double deploy::The link's auto-deploy is on for master.*Set `auto-deploy: false`/,
    );
  });

  it('does not warn of a double deploy on a manual run, which auto-deploy does not react to', async () => {
    const w = await world({ links: { 'my-app': { ...IN_STEP_LINK, auto_deploy_enabled: true } } });
    const r = await w.run({ ctx: onGitHub('workflow_dispatch', 'refs/heads/master', webhook('workflow_dispatch')) });
    expect(r.report.ok).toBe(true);
    expect(w.fake.deploymentsCreated()).toHaveLength(1);
    expect(r.log).not.toContain('Double deploy');
  });

  it('warns of a double deploy when the link makes review apps by itself too', async () => {
    const w = await world({ links: { 'my-app': { ...IN_STEP_LINK, deploy_review_apps_enabled: true } } });
    const r = await w.run({ ctx: onGitHub('pull_request', 'refs/pull/2/merge', pr('opened')) });
    expect(r.report.ok).toBe(true);
    expect(r.warnings.join('\n')).toMatch(
      /Double deploy::The link's automatic review apps are on.*Set `review-apps: false`/,
    );
  });

  it('to another branch than the one the app follows: deploys nothing and says so', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK } });
    const f = w.fake;
    const payload = push();
    const r = await w.run({ ctx: onGitHub('push', 'refs/heads/feature', payload) });

    expect(r.report.ok).toBe(true);
    expect(requestsOf(f)).toEqual([
      'api GET /v1/apps/my-app',
      'api GET /v1/apps/my-app/deployments?page=1&per_page=1',
      'api GET /v1/apps/my-app/scm_repo_link',
      'auth POST /v1/tokens/exchange',
    ]);
    expect(writes(f)).toEqual([]);
    expect(r.log).toContain('push to feature, but the app follows master: nothing deployed');
    expect(r.outputs).toMatchObject({ link: 'unchanged', 'deployment-id': '', 'timed-out': 'false' });
  });

  it('of a tag: deploys nothing and says so', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK } });
    const f = w.fake;
    const r = await w.run({ ctx: onGitHub('push', 'refs/tags/simple-tag', webhook('push', byRef('refs/tags/'))) });

    expect(r.report.ok).toBe(true);
    expect(requestsOf(f)).toEqual(['api GET /v1/apps/my-app/scm_repo_link', 'auth POST /v1/tokens/exchange']);
    expect(writes(f)).toEqual([]);
    expect(r.log).toContain('push of tag simple-tag: tags are not deployed');
    expect(r.outputs).toEqual({ ...NO_OUTPUTS, link: 'unchanged' });
  });

  it('with a build error: fails the step with the status, prints the build output, and sets the outputs', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK }, deployScript: ['queued', 'building', 'build-error'] });
    const f = w.fake;
    const r = await w.run({ ctx: onGitHub('push', 'refs/heads/master', push()) });

    expect(r.report.ok).toBe(false);
    expect(requestsOf(f)).toEqual([
      'api GET /v1/apps/<app-id>/deployments/<id>/output',
      'api GET /v1/apps/my-app',
      'api GET /v1/apps/my-app/deployments/<id>',
      'api GET /v1/apps/my-app/deployments/<id>',
      'api GET /v1/apps/my-app/deployments?page=1&per_page=1',
      'api GET /v1/apps/my-app/scm_repo_link',
      'api POST /v1/apps/my-app/scm_repo_link/manual_deploy',
      'auth POST /v1/tokens/exchange',
    ]);
    const id = f.deploymentsCreated()[0]!.id;
    expect(r.outputs).toMatchObject({
      app: 'my-app',
      'deployment-id': id,
      'deployment-status': 'build-error',
      'timed-out': 'false',
    });
    expect(r.report.message).toMatch(new RegExp(`^Deployment ${id} of my-app ended with status build-error`));
    expect(r.log).toContain('group: Build output of');
    // read where the deployment's links.output says (the app's id), on the API host
    expect(calls(f).filter((c) => c.endsWith(`/deployments/${id}/output`))).toEqual([
      `api GET /v1/apps/${f.state.apps['my-app']!.id}/deployments/${id}/output`,
    ]);
    expect(r.log).toMatch(/group: Build output of \S+ \(last \d+ lines\)\n(.*\n)*.*error/);
  });

  it('past the deadline: fails with timed-out=true and says the deployment goes on', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK }, deployScript: ['queued', 'building'] });
    const f = w.fake;
    const r = await w.run({
      ctx: onGitHub('push', 'refs/heads/master', push()),
      inputs: { 'timeout-minutes': '0.01', 'poll-interval-seconds': '0.2' },
    });

    expect(r.report.ok).toBe(false);
    // The number of status reads depends on timers: the kinds of requests, and the one write, are exact.
    expect([...new Set(requestsOf(f))]).toEqual([
      'api GET /v1/apps/my-app',
      'api GET /v1/apps/my-app/deployments/<id>',
      'api GET /v1/apps/my-app/deployments?page=1&per_page=1',
      'api GET /v1/apps/my-app/scm_repo_link',
      'api POST /v1/apps/my-app/scm_repo_link/manual_deploy',
      'auth POST /v1/tokens/exchange',
    ]);
    expect(writes(f)).toEqual([
      { method: 'POST', path: '/v1/apps/my-app/scm_repo_link/manual_deploy', body: { branch: 'master' } },
    ]);
    const id = f.deploymentsCreated()[0]!.id;
    expect(r.outputs).toEqual({
      app: 'my-app',
      'app-url': 'https://my-app.osc-fr1.scalingo.io',
      'deployment-id': id,
      'deployment-status': 'building',
      'review-app': '',
      link: 'unchanged',
      'timed-out': 'true',
      'dashboard-url': `https://dashboard.scalingo.com/apps/osc-fr1/my-app/deploy/${id}`,
      'git-ref': f.deploymentsCreated()[0]!.git_ref,
      apps: APPS,
    });
    expect(r.report.message).toMatch(
      /Deployment \S+ of my-app was still building after 1 s \(timeout-minutes\): it goes on on Scalingo/,
    );
    expect(pollsOf(f)).toBeGreaterThanOrEqual(1);
  });
});

describe('pull request', () => {
  it('opened: creates the review app, turns its own auto-deploy off, deploys it and follows that deployment', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK }, pulls: { 2: { head_branch: 'changes' } } });
    const f = w.fake;
    const r = await w.run({ ctx: onGitHub('pull_request', 'refs/pull/2/merge', pr('opened')) });

    expect(r.report.ok).toBe(true);
    expect(requestsOf(f)).toEqual([
      'api GET /v1/apps/my-app-pr2',
      'api GET /v1/apps/my-app-pr2/deployments/<id>',
      'api GET /v1/apps/my-app-pr2/deployments/<id>',
      'api GET /v1/apps/my-app-pr2/deployments/<id>',
      'api GET /v1/apps/my-app-pr2/deployments/<id>',
      // The look for a deployment it would have started by itself while it was created (a page, to prefer the
      // head's): none, the checks are pending; and, once followed, the look for one Scalingo started too, late.
      'api GET /v1/apps/my-app-pr2/deployments?page=1&per_page=10',
      'api GET /v1/apps/my-app-pr2/deployments?page=1&per_page=10',
      'api GET /v1/apps/my-app-pr2/scm_repo_link',
      'api GET /v1/apps/my-app/scm_repo_link',
      'api GET /v1/apps/my-app/scm_repo_link/review_apps',
      'api PATCH /v1/apps/my-app-pr2/scm_repo_link',
      'api POST /v1/apps/my-app-pr2/scm_repo_link/manual_deploy',
      'api POST /v1/apps/my-app/scm_repo_link/manual_review_app',
      'auth POST /v1/tokens/exchange',
    ]);
    expect(writes(f)).toEqual([
      { method: 'POST', path: '/v1/apps/my-app/scm_repo_link/manual_review_app', body: { pull_request_id: 2 } },
      {
        method: 'PATCH',
        path: '/v1/apps/my-app-pr2/scm_repo_link',
        body: { scm_repo_link: { auto_deploy_enabled: false } },
      },
      { method: 'POST', path: '/v1/apps/my-app-pr2/scm_repo_link/manual_deploy', body: { branch: 'changes' } },
    ]);
    const deployment = f.deploymentsCreated()[0]!;
    expect(f.deploymentsCreated()).toEqual([
      expect.objectContaining({ app: 'my-app-pr2', trigger: 'manual_deploy', branch: 'changes' }),
    ]);
    expect(r.outputs).toMatchObject({
      app: 'my-app-pr2',
      'review-app': 'my-app-pr2',
      'app-url': 'https://my-app-pr2.osc-fr1.scalingo.io',
      'deployment-id': deployment.id,
      'deployment-status': 'success',
      link: 'unchanged',
    });
  });

  it("synchronize with an existing review app: redeploys it with the pull request's head branch, bare", async () => {
    const w = await world({
      links: { 'my-app': IN_STEP_LINK },
      reviewApps: [{ pr: 2, head_branch: 'changes', auto_deploy_enabled: false }],
    });
    const f = w.fake;
    const r = await w.run({ ctx: onGitHub('pull_request', 'refs/pull/2/merge', pr('synchronize')) });

    expect(r.report.ok).toBe(true);
    expect(requestsOf(f)).toEqual([
      'api GET /v1/apps/my-app-pr2',
      'api GET /v1/apps/my-app-pr2/deployments/<id>',
      'api GET /v1/apps/my-app-pr2/deployments/<id>',
      'api GET /v1/apps/my-app-pr2/deployments/<id>',
      'api GET /v1/apps/my-app-pr2/deployments/<id>',
      'api GET /v1/apps/my-app-pr2/deployments?page=1&per_page=1',
      'api GET /v1/apps/my-app-pr2/scm_repo_link',
      'api GET /v1/apps/my-app/scm_repo_link',
      'api GET /v1/apps/my-app/scm_repo_link/review_apps',
      'api POST /v1/apps/my-app-pr2/scm_repo_link/manual_deploy',
      'auth POST /v1/tokens/exchange',
    ]);
    expect(writes(f)).toEqual([
      { method: 'POST', path: '/v1/apps/my-app-pr2/scm_repo_link/manual_deploy', body: { branch: 'changes' } },
    ]);
    expect(r.outputs).toMatchObject({ app: 'my-app-pr2', 'review-app': 'my-app-pr2', 'deployment-status': 'success' });
    expect(r.log).toContain('Review app my-app-pr2 exists: redeploying branch changes\n');
  });

  it('closed: deploys nothing and says Scalingo deletes the review app at once', async () => {
    const w = await world({
      links: { 'my-app': { ...IN_STEP_LINK, delete_on_close_enabled: true, hours_before_delete_on_close: 2 } },
      reviewApps: [{ pr: 2, head_branch: 'changes' }],
    });
    const f = w.fake;
    const r = await w.run({ ctx: onGitHub('pull_request', 'refs/pull/2/merge', pr('closed')) });

    expect(r.report.ok).toBe(true);
    expect(requestsOf(f)).toEqual([
      'api GET /v1/apps/my-app/scm_repo_link',
      'api GET /v1/apps/my-app/scm_repo_link/review_apps',
      'auth POST /v1/tokens/exchange',
    ]);
    expect(writes(f)).toEqual([]);
    expect(r.log).toContain(
      'Pull request #2 is closed: Scalingo deletes review app my-app-pr2 as soon as the pull request closes, as it does every review app created on demand.',
    );
    expect(r.outputs).toEqual({
      app: '',
      'app-url': '',
      'deployment-id': '',
      'deployment-status': '',
      'review-app': 'my-app-pr2',
      link: 'unchanged',
      'timed-out': 'false',
      'dashboard-url': '',
      'git-ref': '',
      apps: APPS,
    });
  });
});

describe('errors', () => {
  it('a malformed token is refused without showing it, before any request', async () => {
    const w = await world();
    const token = 'tk-us-0123456789 abcdef';
    const r = await w.run({ ctx: onGitHub('push', 'refs/heads/master', push()), inputs: { 'api-token': token } });
    expect(r.report).toMatchObject({ ok: false, outcome: 'error' });
    expect(r.report.message).toContain(
      'Input `api-token` is malformed (23 characters, with spaces or control characters)',
    );
    expect(`${r.log}\n${JSON.stringify(r.report)}`).not.toContain(token);
    expect(w.fake.requests).toEqual([]);
  });

  it('a refused token: one line that says what to do, no request after the exchange', async () => {
    const w = await world();
    const f = w.fake;
    const r = await w.run({
      ctx: onGitHub('push', 'refs/heads/master', push()),
      inputs: { 'api-token': 'tk-us-wrong-token-000000' },
    });

    expect(r.report.ok).toBe(false);
    expect(calls(f)).toEqual(['auth POST /v1/tokens/exchange']);
    expect(r.report.message).toContain(
      'Scalingo refused the API token (401 on the token exchange): check the `api-token` input or the SCALINGO_API_TOKEN secret',
    );
    expect(r.outputs).toEqual(NO_OUTPUTS);
  });

  it('an unknown app', async () => {
    const w = await world();
    const f = w.fake;
    const r = await w.run({ ctx: onGitHub('push', 'refs/heads/master', push()), inputs: { app: 'no-such-app' } });

    expect(r.report.ok).toBe(false);
    expect(requestsOf(f)).toEqual([
      'api GET /v1/apps/no-such-app',
      'api GET /v1/apps/no-such-app/deployments?page=1&per_page=1',
      'api GET /v1/apps/no-such-app/scm_repo_link',
      'auth POST /v1/tokens/exchange',
    ]);
    expect(writes(f)).toEqual([]);
    expect(r.report.message).toContain(
      'App "no-such-app" not found in region osc-fr1 (404 on GET /v1/apps/no-such-app',
    );
    expect(r.outputs).toEqual({ ...NO_OUTPUTS, apps: expect.stringMatching(/^\[\{"app":"no-such-app",/) });
  });

  it.each([
    ['push', {}],
    ['link command', { command: 'link' }],
  ])('an unknown app whose 404s do not name the resource (%s)', async (_name, inputs) => {
    const w = await world();
    const f = w.fake;
    f.fault({
      kind: 'status',
      status: 404,
      path: /^\/v1\/apps\/no-such-app/,
      times: Infinity,
      body: { error: 'not found' },
    });
    const r = await w.run({
      ctx: onGitHub('push', 'refs/heads/master', push()),
      inputs: { app: 'no-such-app', ...inputs },
    });

    expect(r.report.ok).toBe(false);
    expect(r.report.message).toContain(
      'App "no-such-app" not found in region osc-fr1 (404 on GET /v1/apps/no-such-app)',
    );
    expect(r.log).not.toContain('cannot reach repository');
  });

  it('a 404 on creating the link stays the error when the look at the app fails otherwise', async () => {
    const w = await world({ links: {} });
    const f = w.fake;
    f.fault({
      kind: 'status',
      status: 404,
      method: 'POST',
      path: '/v1/apps/my-app/scm_repo_link',
      body: { error: 'not found' },
    });
    f.fault({ kind: 'status', status: 403, method: 'GET', path: '/v1/apps/my-app', after: 1, times: Infinity });
    const r = await w.run({ ctx: onGitHub('push', 'refs/heads/master', push()) });

    expect(r.report.ok).toBe(false);
    expect(writes(f).map((x) => `${x.method} ${x.path}`)).toEqual(['POST /v1/apps/my-app/scm_repo_link']);
    expect(r.report.message).toContain(
      `Scalingo cannot reach repository ${REPO} (404 on creating the link) (Scalingo said: not found)`,
    );
  });

  it('an app linked to another repository is never re-linked', async () => {
    const w = await world({ links: { 'my-app': { ...IN_STEP_LINK, source: 'https://github.com/someone/else' } } });
    const f = w.fake;
    const r = await w.run({ ctx: onGitHub('push', 'refs/heads/master', push()) });

    expect(r.report.ok).toBe(false);
    expect(requestsOf(f)).toEqual([
      'api GET /v1/apps/my-app',
      'api GET /v1/apps/my-app/deployments?page=1&per_page=1',
      'api GET /v1/apps/my-app/scm_repo_link',
      'auth POST /v1/tokens/exchange',
    ]);
    expect(writes(f)).toEqual([]);
    expect(r.report.message).toContain(
      `App my-app is linked to https://github.com/someone/else, not to ${REPO}: this step never re-links an app.`,
    );
    expect(r.outputs).toEqual(NO_OUTPUTS);
  });

  it('no SCM integration for the repository host lists what was found', async () => {
    const w = await world({
      links: {},
      integrations: [{ id: 'int-gitlab-1', scm_type: 'gitlab', url: 'https://gitlab.com', username: 'tanuki' }],
    });
    const f = w.fake;
    const r = await w.run({ ctx: onGitHub('push', 'refs/heads/master', push()) });

    expect(r.report.ok).toBe(false);
    expect(writes(f)).toEqual([]);
    expect(r.report.message).toContain(
      "No SCM integration of the token's user matches https://github.com (found: gitlab https://gitlab.com (tanuki) id int-gitlab-1)",
    );
  });

  it('a 422 from the API names the input to fix', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK } });
    const f = w.fake;
    f.fault({
      kind: 'status',
      method: 'PATCH',
      path: '/v1/apps/my-app/scm_repo_link',
      status: 422,
      body: { errors: { branch: ['does not exist in the repository'] } },
    });
    const r = await w.run({ ctx: onGitHub('push', 'refs/heads/master', push()), inputs: { branch: 'nope' } });

    expect(r.report.ok).toBe(false);
    expect(r.report.message).toContain(
      'Scalingo refused PATCH /v1/apps/my-app/scm_repo_link (422): `branch` does not exist in the repository. Fix the input(s) named and run again.',
    );
  });
});

describe('commands', () => {
  it('unlink deletes the link', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK } });
    const f = w.fake;
    const r = await w.run({
      ctx: onGitHub('workflow_dispatch', 'refs/heads/master', webhook('workflow_dispatch')),
      inputs: { command: 'unlink' },
    });

    expect(r.report.ok).toBe(true);
    expect(requestsOf(f)).toEqual([
      'api DELETE /v1/apps/my-app/scm_repo_link',
      'api GET /v1/apps/my-app/scm_repo_link',
      'auth POST /v1/tokens/exchange',
    ]);
    expect(writes(f)).toEqual([{ method: 'DELETE', path: '/v1/apps/my-app/scm_repo_link', body: null }]);
    expect(r.outputs.link).toBe('deleted');
  });

  it('unlink of an app with no link deletes nothing and says so', async () => {
    const w = await world({ links: {} });
    const f = w.fake;
    const r = await w.run({
      ctx: onGitHub('workflow_dispatch', 'refs/heads/master', webhook('workflow_dispatch')),
      inputs: { command: 'unlink' },
    });

    expect(r.report.ok).toBe(true);
    // The link's 404 names the link, which proves the app exists: no look at the app is needed.
    expect(requestsOf(f)).toEqual(['api GET /v1/apps/my-app/scm_repo_link', 'auth POST /v1/tokens/exchange']);
    expect(writes(f)).toEqual([]);
    expect(r.log).toContain('App my-app has no SCM link: nothing to delete');
    expect(r.outputs.link).toBe('unchanged');
  });

  it('unlink of an unknown app whose 404s do not name the resource fails as an unknown app', async () => {
    const w = await world();
    const f = w.fake;
    f.fault({
      kind: 'status',
      status: 404,
      path: /^\/v1\/apps\/no-such-app/,
      times: Infinity,
      body: { error: 'not found' },
    });
    const r = await w.run({
      ctx: onGitHub('workflow_dispatch', 'refs/heads/master', webhook('workflow_dispatch')),
      inputs: { command: 'unlink', app: 'no-such-app' },
    });

    expect(r.report.ok).toBe(false);
    expect(writes(f)).toEqual([]);
    expect(r.report.message).toContain(
      'App "no-such-app" not found in region osc-fr1 (404 on GET /v1/apps/no-such-app)',
    );
  });

  it('deploy from workflow_dispatch deploys the given branch', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK } });
    const f = w.fake;
    const r = await w.run({
      ctx: onGitHub('workflow_dispatch', 'refs/heads/main', webhook('workflow_dispatch')),
      inputs: { command: 'deploy', branch: 'master' },
    });

    expect(r.report.ok).toBe(true);
    expect(requestsOf(f)).toEqual([
      'api GET /v1/apps/my-app',
      'api GET /v1/apps/my-app/deployments/<id>',
      'api GET /v1/apps/my-app/deployments/<id>',
      'api GET /v1/apps/my-app/deployments/<id>',
      'api GET /v1/apps/my-app/deployments/<id>',
      'api GET /v1/apps/my-app/deployments?page=1&per_page=1',
      'api GET /v1/apps/my-app/scm_repo_link',
      'api POST /v1/apps/my-app/scm_repo_link/manual_deploy',
      'auth POST /v1/tokens/exchange',
    ]);
    expect(writes(f)).toEqual([
      { method: 'POST', path: '/v1/apps/my-app/scm_repo_link/manual_deploy', body: { branch: 'master' } },
    ]);
    expect(r.outputs['deployment-status']).toBe('success');
  });

  it('link only reconciles the link', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK } });
    const f = w.fake;
    const r = await w.run({
      ctx: onGitHub('push', 'refs/heads/master', push()),
      inputs: { command: 'link', 'review-apps': 'true' },
    });

    expect(r.report.ok).toBe(true);
    expect(writes(f)).toEqual([
      {
        method: 'PATCH',
        path: '/v1/apps/my-app/scm_repo_link',
        body: { scm_repo_link: { deploy_review_apps_enabled: true } },
      },
    ]);
    expect(r.outputs).toMatchObject({ link: 'updated', 'deployment-id': '' });
  });
});

describe('secrets', () => {
  const fromFork = () => {
    const payload = pr('opened') as { pull_request: { head: { repo: unknown } } };
    payload.pull_request.head.repo = { full_name: 'someone/Hello-World', fork: true };
    return payload as Record<string, unknown>;
  };

  it('a pull request from a fork without the token skips, explains why, and passes', async () => {
    const w = await world();
    const r = await w.run({
      ctx: onGitHub('pull_request', 'refs/pull/2/merge', fromFork()),
      inputs: { 'api-token': '' },
    });
    expect(r.report.ok).toBe(true);
    expect(r.warnings.join('\n')).toContain(
      'Scalingo deploy skipped::No Scalingo API token: pull request #2 comes from a fork, and GitHub gives no secrets to pipelines of forks. Skipped (set `fail-without-token: true` to fail instead).',
    );
    expect(w.fake.requests).toEqual([]);
  });

  it('can be told to fail instead', async () => {
    const w = await world();
    const r = await w.run({
      ctx: onGitHub('pull_request', 'refs/pull/2/merge', fromFork()),
      inputs: { 'api-token': '', 'fail-without-token': 'true' },
    });
    expect(r.report.ok).toBe(false);
    expect(r.report.message).toContain(
      'No Scalingo API token: set `api-token: ${{ secrets.SCALINGO_API_TOKEN }}` on the step',
    );
  });

  it('without a token elsewhere, fails with the fix', async () => {
    const w = await world();
    const r = await w.run({ ctx: onGitHub('push', 'refs/heads/master', push()), inputs: { 'api-token': '' } });
    expect(r.report.ok).toBe(false);
    expect(r.report.message).toContain(
      'No Scalingo API token: set `api-token: ${{ secrets.SCALINGO_API_TOKEN }}` on the step (or the SCALINGO_API_TOKEN environment variable), after adding the secret in the repository settings.',
    );
    expect(w.fake.requests).toEqual([]);
  });

  it('logs every request in debug lines without a credential, and asks the edge to mask the token, its Basic form and every bearer', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK } });
    const r = await w.run({ ctx: onGitHub('push', 'refs/heads/master', push()) });
    expect(r.report.ok).toBe(true);
    expect(r.log).toMatch(/debug: POST \/v1\/tokens\/exchange -> 200 \(\d+ ms, request id [\w-]+\)/);
    expect(r.log).toMatch(/debug: GET \/v1\/apps\/my-app\/scm_repo_link -> 200/);
    const bearers = secretsOf(w.fake).filter((s) => s !== TOKEN);
    expect(bearers.length).toBeGreaterThanOrEqual(1);
    expect(r.secrets).toEqual(expect.arrayContaining([TOKEN, Buffer.from(`:${TOKEN}`).toString('base64'), ...bearers]));
  });
});
