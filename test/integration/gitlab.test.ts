/**
 * The core's run() in-process on GitLab pipelines (GitLab's predefined variables through the GitLab context
 * builder), against the fake Scalingo API: the same requests and report as on GitHub for the same event.
 */
import { describe, expect, it } from 'vitest';
import { IN_STEP_LINK, onGitLab, requestsOf, world, writes } from './harness.js';

const SHA = '6113728f27ae82c7b1a177c8d03f9e96e0adf246';
const PUSH = {
  CI_PIPELINE_SOURCE: 'push',
  CI_COMMIT_BRANCH: 'master',
  CI_COMMIT_SHA: SHA,
  CI_PROJECT_URL: 'https://github.com/Codertocat/Hello-World',
  CI_SERVER_URL: 'https://github.com',
};
const SHOP = 'https://gitlab.com/acme/shop';
const MERGE_REQUEST = {
  CI_PIPELINE_SOURCE: 'merge_request_event',
  CI_MERGE_REQUEST_IID: '7',
  CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: 'feature',
  CI_COMMIT_SHA: SHA,
  CI_PROJECT_URL: SHOP,
  CI_SERVER_URL: 'https://gitlab.com',
};

describe('GitLab pipelines', () => {
  it('push: deploys the followed branch and follows it to success', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK } });
    const r = await w.run({ ctx: onGitLab(PUSH) });
    expect(r.report).toMatchObject({ ok: true, outcome: 'success', event: expect.stringContaining('push') });
    expect(writes(w.fake)).toEqual([
      { method: 'POST', path: '/v1/apps/my-app/scm_repo_link/manual_deploy', body: { branch: 'master' } },
    ]);
    const id = w.fake.deploymentsCreated()[0]!.id;
    expect(r.outputs).toEqual({
      app: 'my-app',
      'app-url': 'https://my-app.osc-fr1.scalingo.io',
      'deployment-id': id,
      'deployment-status': 'success',
      'review-app': '',
      link: 'unchanged',
      'timed-out': 'false',
      'dashboard-url': `https://dashboard.scalingo.com/apps/osc-fr1/my-app/deploy/${id}`,
      'git-ref': w.fake.deploymentsCreated()[0]!.git_ref,
      apps: expect.stringMatching(/^\[\{"app":"my-app",/),
    });
  });

  it('push with a build error: fails with the status', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK }, deployScript: ['queued', 'build-error'] });
    const r = await w.run({ ctx: onGitLab(PUSH) });
    expect(r.report).toMatchObject({ ok: false, outcome: 'failed' });
    expect(r.outputs['deployment-status']).toBe('build-error');
    expect(r.report.message).toMatch(/^Deployment \S+ of my-app ended with status build-error/);
  });

  it('tag: deploys nothing and passes', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK } });
    const r = await w.run({ ctx: onGitLab({ ...PUSH, CI_COMMIT_BRANCH: '', CI_COMMIT_TAG: 'v1.0.0' }) });
    expect(r.report.ok).toBe(true);
    expect(writes(w.fake)).toEqual([]);
    expect(r.log).toContain('push of tag v1.0.0: tags are not deployed');
    expect(requestsOf(w.fake)).toEqual(['api GET /v1/apps/my-app/scm_repo_link', 'auth POST /v1/tokens/exchange']);
  });

  it('merge request: creates the review app of the merge request, deploys it and follows that deployment', async () => {
    const w = await world({
      links: { 'my-app': { ...IN_STEP_LINK, source: SHOP } },
      pulls: { 7: { head_branch: 'feature' } },
      deployScript: ['queued', 'building', 'success'],
    });
    const r = await w.run({ ctx: onGitLab(MERGE_REQUEST) });
    expect(r.report).toMatchObject({ ok: true, outcome: 'success', reviewApp: 'my-app-pr7' });
    expect(writes(w.fake)).toEqual([
      { method: 'POST', path: '/v1/apps/my-app/scm_repo_link/manual_review_app', body: { pull_request_id: 7 } },
      {
        method: 'PATCH',
        path: '/v1/apps/my-app-pr7/scm_repo_link',
        body: { scm_repo_link: { auto_deploy_enabled: false } },
      },
      { method: 'POST', path: '/v1/apps/my-app-pr7/scm_repo_link/manual_deploy', body: { branch: 'feature' } },
    ]);
    expect(r.outputs).toMatchObject({
      app: 'my-app-pr7',
      'review-app': 'my-app-pr7',
      'deployment-status': 'success',
      link: 'unchanged',
    });
    expect(r.started).toEqual([
      expect.objectContaining({ app: 'my-app-pr7', parentApp: 'my-app', reviewApp: 'my-app-pr7' }),
    ]);
  });

  it("merge request closed (the template's stop job): deploys nothing and says what Scalingo does", async () => {
    const w = await world({
      links: { 'my-app': { ...IN_STEP_LINK, source: SHOP, hours_before_delete_on_close: 2 } },
      reviewApps: [{ pr: 7, head_branch: 'feature' }],
    });
    const r = await w.run({ ctx: onGitLab({ ...MERGE_REQUEST, SCALINGO_MERGE_REQUEST_STATE: 'closed' }) });
    expect(r.report.ok).toBe(true);
    expect(writes(w.fake)).toEqual([]);
    expect(r.outputs).toMatchObject({ 'review-app': 'my-app-pr7', 'deployment-id': '' });
    expect(r.report.notes.join('\n')).toContain(
      'Merge request !7 is closed: Scalingo deletes review app my-app-pr7 as soon as the merge request closes, as it does every review app created on demand.',
    );
  });
});
