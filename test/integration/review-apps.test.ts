/**
 * Review apps as Scalingo really makes them (the fake holds a new review app's first deployment while the commit's
 * checks are pending, gives each review app its own auto-deploying link, answers the review app list with 404
 * without a link, deletes a manual review app when its pull request closes): the core's run() in-process on GitHub
 * and GitLab events, checking the requests (method, path, body), the report and the outputs.
 */
import { describe, expect, it } from 'vitest';
import { byAction, webhook } from '../support/payloads.js';
import { calls, IN_STEP_LINK, onGitHub, onGitLab, REPO, world, writes, type Fake } from './harness.js';

type Payload = Record<string, unknown> & { pull_request: Record<string, unknown> & { labels: { name: string }[]; draft: boolean; head: Record<string, unknown> } };
const pr = (action: string, edit: (p: Payload) => void = () => {}): Payload => {
  const payload = webhook('pull_request', byAction(action)) as Payload;
  edit(payload);
  return payload;
};
const onPr = (payload: Payload) => onGitHub('pull_request', 'refs/pull/2/merge', payload);
const RA = '/v1/apps/my-app-pr2';
const MANUAL_REVIEW_APP = { method: 'POST', path: '/v1/apps/my-app/scm_repo_link/manual_review_app', body: { pull_request_id: 2 } };
const AUTO_DEPLOY_OFF = { method: 'PATCH', path: `${RA}/scm_repo_link`, body: { scm_repo_link: { auto_deploy_enabled: false } } };
const deployOf = (branch: string, app = RA) => ({ method: 'POST', path: `${app}/scm_repo_link/manual_deploy`, body: { branch } });
const statuses = (f: Fake) => f.requests.map((r) => r.status);
/** The parent linked as the step wants it; pull request #2's head branch is `changes`, as in the webhook payloads. */
const LINKED = { links: { 'my-app': IN_STEP_LINK }, pulls: { 2: { head_branch: 'changes' } } };

describe('a new review app', () => {
  it('on an app with no link: creates the link, reads the review app list only then (no 404), deploys the review app', async () => {
    const w = await world({ links: {}, pulls: { 2: { head_branch: 'changes' } } });
    const f = w.fake;
    const r = await w.run({ ctx: onPr(pr('opened')) });

    expect(r.report).toMatchObject({ ok: true, outcome: 'success', reviewApp: 'my-app-pr2' });
    const seen = calls(f);
    expect(seen.indexOf('api GET /v1/apps/my-app/scm_repo_link/review_apps')).toBeGreaterThan(seen.indexOf('api POST /v1/apps/my-app/scm_repo_link'));
    expect(statuses(f).filter((s) => s === 404)).toEqual([404]); // only the link read that finds no link
    expect(writes(f)).toEqual([
      { method: 'POST', path: '/v1/apps/my-app/scm_repo_link', body: { scm_repo_link: expect.objectContaining({ source: REPO, branch: 'master' }) } },
      MANUAL_REVIEW_APP, AUTO_DEPLOY_OFF, deployOf('changes'),
    ]);
    expect(r.outputs).toMatchObject({ link: 'created', 'review-app': 'my-app-pr2', 'deployment-status': 'success' });
  });

  it('in a dry run on an app with no link: reads no review app list and says what it would do', async () => {
    const w = await world({ links: {} });
    const r = await w.run({ ctx: onPr(pr('opened')), inputs: { 'dry-run': 'true' } });

    expect(r.report).toMatchObject({ ok: true, outcome: 'dry-run' });
    expect(calls(w.fake)).not.toContain('api GET /v1/apps/my-app/scm_repo_link/review_apps');
    expect(writes(w.fake)).toEqual([]);
    expect(r.log).toContain('Would create the review app of pull request #2, set its link\'s auto-deploy off, and deploy branch changes to it');
  });

  it('whose first deployment is held by pending checks: deploys it with manual_deploy and follows THAT deployment, the only one', async () => {
    const w = await world(LINKED);
    const f = w.fake;
    const r = await w.run({ ctx: onPr(pr('opened')) });

    expect(writes(f)).toEqual([MANUAL_REVIEW_APP, AUTO_DEPLOY_OFF, deployOf('changes')]);
    const [deployment] = f.deploymentsCreated();
    expect(f.deploymentsCreated()).toEqual([expect.objectContaining({ app: 'my-app-pr2', trigger: 'manual_deploy', branch: 'changes', status: 'success' })]);
    expect(calls(f)).toContain(`api GET ${RA}/deployments/${deployment!.id}`);
    expect(r.outputs).toMatchObject({ app: 'my-app-pr2', 'deployment-id': deployment!.id, 'deployment-status': 'success' });
    // The checks pass once the job is over: the review app's own link no longer auto-deploys, nothing more deploys.
    f.push('changes');
    f.checksPassed();
    expect(f.deploymentsCreated()).toHaveLength(1);
  });

  it('that already started a deployment by itself: follows it and sends no deploy', async () => {
    const w = await world({ ...LINKED, reviewAppChecks: 'passed', reviewAppDeploymentDelay: 1 });
    const f = w.fake;
    const r = await w.run({ ctx: onPr(pr('opened')) });

    expect(r.report).toMatchObject({ ok: true, outcome: 'success' });
    expect(writes(f)).toEqual([MANUAL_REVIEW_APP, AUTO_DEPLOY_OFF]);
    const [deployment] = f.deploymentsCreated();
    expect(f.deploymentsCreated()).toEqual([expect.objectContaining({ app: 'my-app-pr2', trigger: 'review_app' })]);
    expect(r.outputs['deployment-id']).toBe(deployment!.id);
    expect(r.log).toMatch(/Deployment \S+ of my-app-pr2 started by itself \(queued\): following it, no deploy sent/);
  });

  it('with `review-app-auto-deploy: true`: leaves its own link auto-deploying (no PATCH)', async () => {
    const w = await world(LINKED);
    const r = await w.run({ ctx: onPr(pr('opened')), inputs: { 'review-app-auto-deploy': 'true' } });

    expect(r.report.ok).toBe(true);
    expect(writes(w.fake)).toEqual([MANUAL_REVIEW_APP, deployOf('changes')]);
    expect(w.fake.state.links['my-app-pr2']?.auto_deploy_enabled).toBe(true);
  });
});

describe('a new review app through an outage', () => {
  const RA_DEPLOYMENTS = /^\/v1\/apps\/my-app-pr2\/deployments$/;
  const RA_LINK = /^\/v1\/apps\/my-app-pr2\/scm_repo_link$/;
  const deploysSent = (f: Fake) => calls(f).filter((c) => c === `api POST ${RA}/scm_repo_link/manual_deploy`).length;
  /** The client's backoff after a 5xx, twenty times shorter than the product's: the runs wait on the outage, not on it. */
  const deps = { retry: { baseDelayMs: 25, maxDelayMs: 400 } };

  // Six 503s in a row: more than the client's own retries of one read, ridden out by the step's lookup.
  it.each([
    ['its deployments list (the look for a deployment it started by itself)', RA_DEPLOYMENTS, 'Deployments of my-app-pr2 not read (HTTP 503): trying again'],
    ['its own link', RA_LINK, 'Link of review app my-app-pr2 not read (HTTP 503): trying again'],
  ])('a 503 outage on %s is ridden out: one deploy, and it succeeds', async (_what, path, line) => {
    const w = await world({ ...LINKED, faults: [{ kind: 'status', method: 'GET', path, status: 503, times: 6 }] });
    const f = w.fake;
    const r = await w.run({ ctx: onPr(pr('opened')), deps });

    expect(r.report).toMatchObject({ ok: true, outcome: 'success', reviewApp: 'my-app-pr2' });
    expect(f.requests.filter((q) => q.fault === 'status')).toHaveLength(6);
    expect(r.log).toContain(line);
    expect(writes(f)).toEqual([MANUAL_REVIEW_APP, AUTO_DEPLOY_OFF, deployOf('changes')]);
    expect(f.deploymentsCreated()).toEqual([expect.objectContaining({ app: 'my-app-pr2', trigger: 'manual_deploy', status: 'success' })]);
    expect(r.outputs['deployment-id']).toBe(f.deploymentsCreated()[0]!.id);
  });

  it('its own link answering 404 for a moment right after the creation: read again, then its auto-deploy is set', async () => {
    const w = await world({ ...LINKED, faults: [{ kind: 'status', method: 'GET', path: RA_LINK, status: 404, times: 2 }] });
    const r = await w.run({ ctx: onPr(pr('opened')) });

    expect(r.report).toMatchObject({ ok: true, outcome: 'success' });
    expect(r.log).toContain('Review app my-app-pr2 shows no link of its own yet: reading it again');
    expect(r.log).not.toContain('has no link of its own');
    expect(writes(w.fake)).toEqual([MANUAL_REVIEW_APP, AUTO_DEPLOY_OFF, deployOf('changes')]);
    expect(w.fake.deploymentsCreated()).toHaveLength(1);
  });

  it.each([
    ['its deployments list', RA_DEPLOYMENTS, 'deployments of my-app-pr2'],
    ['its own link', RA_LINK, 'link of review app my-app-pr2'],
  ])('an outage on %s lasting past the deadline ends timed out, within seconds of it, with no second deploy', async (_what, path, what) => {
    const w = await world({ ...LINKED, faults: [{ kind: 'status', method: 'GET', path, status: 503, times: Infinity }] });
    const f = w.fake;
    const started = Date.now();
    const r = await w.run({ ctx: onPr(pr('opened')), inputs: { 'timeout-minutes': '0.025' }, deps });

    expect(Date.now() - started).toBeLessThan(1500 + 3000);
    expect(r.report).toMatchObject({ ok: false, outcome: 'timed-out' });
    expect(r.outputs['timed-out']).toBe('true');
    expect(r.report.message).toBe(`The ${what} could not be read before the deadline (2 s, timeout-minutes): Scalingo's API still failed (HTTP 503). Nothing was deployed by this run: see https://dashboard.scalingo.com/apps/osc-fr1/my-app-pr2, and run this again to deploy it.`);
    // Nothing sent while the outage hid whether the review app had started a deployment by itself.
    expect(deploysSent(f)).toBe(0);
    expect(f.deploymentsCreated()).toEqual([]);
  }, 10_000);

  it('a failure that does not pass (403 on its deployments list) stands at once', async () => {
    const w = await world({ ...LINKED, faults: [{ kind: 'status', method: 'GET', path: RA_DEPLOYMENTS, status: 403, times: Infinity }] });
    const r = await w.run({ ctx: onPr(pr('opened')) });

    expect(r.report).toMatchObject({ ok: false, outcome: 'error' });
    expect(w.fake.requests.filter((q) => q.fault === 'status')).toHaveLength(1);
    expect(r.log).not.toContain('trying again');
    expect(writes(w.fake)).toEqual([MANUAL_REVIEW_APP, AUTO_DEPLOY_OFF]);
  });
});

describe('the look for a deployment a new review app started by itself: the rule of a deploy\'s trigger', () => {
  const RA_DEPLOYMENTS = /^\/v1\/apps\/my-app-pr2\/deployments$/;
  /** The pull request's head commit in the webhook payloads. */
  const HEAD = 'ec26c3e57ca3a959ca5aad62de7213c562f8c821';
  const OTHER = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
  const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
  /** The review app list read before the creation misses it (Scalingo made it meanwhile): manual_review_app answers 422. */
  const MISSED_BY_THE_LIST = { kind: 'status', method: 'GET', path: '/v1/apps/my-app/scm_repo_link/review_apps', status: 200, body: { review_apps: [] } } as const;

  it.each([
    ['without created_at', () => ({ id: 'undated', status: 'success', git_ref: HEAD })],
    ['created a minute before the creation (older than the clock skew allows)', () => ({ id: 'old', status: 'success', git_ref: HEAD, created_at: ago(60_000) })],
  ])('a deployment %s is not adopted: the step deploys the review app itself', async (_what, listed) => {
    // Both looks answer with that deployment only.
    const w = await world({ ...LINKED, faults: [{ kind: 'status', method: 'GET', path: RA_DEPLOYMENTS, status: 200, body: { deployments: [listed()] }, times: 2 }] });
    const f = w.fake;
    const r = await w.run({ ctx: onPr(pr('opened')) });

    expect(f.requests.filter((q) => q.fault === 'status')).toHaveLength(2);
    expect(r.report).toMatchObject({ ok: true, outcome: 'success', reviewApp: 'my-app-pr2' });
    expect(r.log).not.toContain('started by itself');
    expect(writes(f)).toEqual([MANUAL_REVIEW_APP, AUTO_DEPLOY_OFF, deployOf('changes')]);
    expect(f.deploymentsCreated()).toEqual([expect.objectContaining({ app: 'my-app-pr2', trigger: 'manual_deploy', status: 'success' })]);
    expect(r.outputs['deployment-id']).toBe(f.deploymentsCreated()[0]!.id);
  });

  it('a review app that existed already (422): its deployment of a minute ago, of the same commit, is not adopted', async () => {
    const w = await world({
      ...LINKED,
      reviewApps: [{ pr: 2, head_branch: 'changes', auto_deploy_enabled: false }],
      deployments: { 'my-app-pr2': [{ status: 'build-error', git_ref: HEAD, ageMs: 60_000 }] },
      faults: [MISSED_BY_THE_LIST],
    });
    const f = w.fake;
    const r = await w.run({ ctx: onPr(pr('opened')) });

    expect(f.requests.find((q) => q.path === '/v1/apps/my-app/scm_repo_link/manual_review_app')?.status).toBe(422);
    expect(r.log).toContain('Scalingo already has a review app for pull request #2: deploying it');
    expect(r.report).toMatchObject({ ok: true, outcome: 'success' });
    expect(writes(f)).toEqual([MANUAL_REVIEW_APP, deployOf('changes')]);
    expect(f.deploymentsCreated()).toEqual([expect.objectContaining({ app: 'my-app-pr2', trigger: 'manual_deploy', status: 'success' })]);
    expect(r.outputs).toMatchObject({ 'deployment-id': f.deploymentsCreated()[0]!.id, 'deployment-status': 'success' });
  });

  it('a review app that existed already (422) with fresh deployments: follows the one that built the pull request\'s head, sends no deploy', async () => {
    const w = await world({
      ...LINKED,
      reviewApps: [{ pr: 2, head_branch: 'changes', auto_deploy_enabled: false }],
      // Oldest first, all dated since the creation was asked give or take the skew: the head's is neither the oldest
      // (adopted when the commit is unknown) nor the newest.
      deployments: { 'my-app-pr2': [
        { status: 'build-error', git_ref: OTHER, ageMs: 6000 },
        { status: 'success', git_ref: HEAD, ageMs: 4000 },
        { status: 'build-error', git_ref: OTHER, ageMs: 2000 },
      ] },
      faults: [MISSED_BY_THE_LIST],
    });
    const f = w.fake;
    const r = await w.run({ ctx: onPr(pr('opened')) });

    const [, , head] = f.state.deployments.filter((d) => d.appName === 'my-app-pr2');
    expect(head?.gitRef).toBe(HEAD);
    expect(r.report).toMatchObject({ ok: true, outcome: 'success' });
    expect(writes(f)).toEqual([MANUAL_REVIEW_APP]);
    expect(f.deploymentsCreated()).toEqual([]);
    expect(r.log).toContain(`Deployment ${head!.id} of my-app-pr2 started by itself (success): following it, no deploy sent`);
    expect(r.outputs).toMatchObject({ 'deployment-id': head!.id, 'deployment-status': 'success', 'git-ref': HEAD });
  });
});

describe('an existing review app', () => {
  it('auto-deploying: turns its auto-deploy off, then redeploys', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK }, reviewApps: [{ pr: 2, head_branch: 'changes' }] });
    const r = await w.run({ ctx: onPr(pr('synchronize')) });

    expect(r.report.ok).toBe(true);
    expect(writes(w.fake)).toEqual([AUTO_DEPLOY_OFF, deployOf('changes')]);
    expect(r.log).toContain('Review app my-app-pr2: its link\'s auto-deploy turned off, so that only this step deploys it (`review-app-auto-deploy: false`)');
  });

  it('with `review-app-auto-deploy: true` and its auto-deploy off: turns it on, then redeploys', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK }, reviewApps: [{ pr: 2, head_branch: 'changes', auto_deploy_enabled: false }] });
    const r = await w.run({ ctx: onPr(pr('synchronize')), inputs: { 'review-app-auto-deploy': 'true' } });

    expect(writes(w.fake)).toEqual([{ ...AUTO_DEPLOY_OFF, body: { scm_repo_link: { auto_deploy_enabled: true } } }, deployOf('changes')]);
    expect(r.report.ok).toBe(true);
  });

  it('of a pull request from a fork: redeploys the branch its own link follows, not the event\'s bare head branch', async () => {
    const w = await world({
      links: { 'my-app': IN_STEP_LINK },
      pulls: { 2: { head_branch: 'patch-1', fork: 'someone/Hello-World' } },
      reviewApps: [{ pr: 2, head_branch: 'patch-1', auto_deploy_enabled: false }],
    });
    const payload = pr('synchronize', (p) => {
      p.pull_request.head = { ...p.pull_request.head, ref: 'changes', repo: { full_name: 'someone/Hello-World', fork: true } };
    });
    const r = await w.run({ ctx: onPr(payload) });

    expect(r.report.ok).toBe(true);
    expect(w.fake.state.links['my-app-pr2']).toMatchObject({ owner: 'someone', branch: 'patch-1' });
    expect(writes(w.fake)).toEqual([deployOf('patch-1')]);
    expect(r.log).toContain('Review app my-app-pr2 exists: redeploying branch patch-1 (the branch its link follows)');
  });
});

describe('a closed pull request', () => {
  it('whose manual review app Scalingo already deleted: says so, and that Scalingo deletes such review apps at once', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK }, reviewApps: [{ pr: 2, head_branch: 'changes' }] });
    w.fake.closePull(2);
    expect(w.fake.state.apps['my-app-pr2']).toBeUndefined();
    const r = await w.run({ ctx: onPr(pr('closed')) });

    expect(r.report).toMatchObject({ ok: true, outcome: 'nothing-to-deploy' });
    expect(writes(w.fake)).toEqual([]);
    expect(r.report.notes).toEqual(['Pull request #2 is closed and has no review app on my-app: nothing to do (Scalingo deletes a review app created on demand, as this step creates them, as soon as its pull request closes).']);
  });

  it('with a review app still listed: gives the deletion dates from the list', async () => {
    const link = { ...IN_STEP_LINK, deploy_review_apps_enabled: true, delete_on_close_enabled: true, hours_before_delete_on_close: 2, delete_stale_enabled: true, hours_before_delete_stale: 72 };
    const w = await world({ links: { 'my-app': link }, reviewApps: [{ pr: 2, head_branch: 'changes', manual: false, closed: true }] });
    const r = await w.run({ ctx: onPr(pr('closed')) });

    expect(r.report.ok).toBe(true);
    const [listed] = (await (await fetch(`${w.fake.apiUrl}/v1/apps/my-app/scm_repo_link/review_apps`, { headers: { authorization: `Bearer ${bearerOf(w.fake)}` } })).json() as { review_apps: { on_close_deletion_date: string; stale_deletion_date: string }[] }).review_apps;
    const date = (iso: string) => `${iso.slice(0, 16).replace('T', ' ')} UTC`;
    expect(r.report.notes).toEqual([`Pull request #2 is closed: Scalingo deletes review app my-app-pr2 on ${date(listed!.on_close_deletion_date)} (stale deletion date: ${date(listed!.stale_deletion_date)}).`]);
    expect(r.outputs['review-app']).toBe('my-app-pr2');
  });
});

describe('honest outcomes', () => {
  it('`command: review-app` without a pull request number fails in one line and changes nothing', async () => {
    const w = await world({ links: {} });
    const r = await w.run({ ctx: onGitHub('push', 'refs/heads/master', webhook('push')), inputs: { command: 'review-app' } });

    expect(r.report).toMatchObject({ ok: false, outcome: 'error' });
    expect(r.report.message).toBe('`command: review-app` needs a pull request number: set `pull-request`, or run it on a pull request event. Nothing was changed.');
    expect(w.fake.requests).toEqual([]);
  });

  it('a pull request event whose payload has no number fails in one line and changes nothing', async () => {
    const w = await world({ links: {} });
    const payload = pr('opened', (p) => {
      delete p.number;
      delete p.pull_request.number;
    });
    const r = await w.run({ ctx: onPr(payload) });

    expect(r.report).toMatchObject({ ok: false, outcome: 'error' });
    expect(r.report.message).toMatch(/^The pull_request event names no pull request number \(its payload has none\): nothing was changed\./);
    expect(r.report.message).not.toContain('\n');
    expect(w.fake.requests).toEqual([]);
  });
});

describe('review apps on demand', () => {
  const LABEL = { 'review-app-label': 'preview' };
  const labels = (...names: string[]) => (p: Payload) => {
    p.pull_request.labels = names.map((name) => ({ name }));
  };

  it('a pull request without the label gets no review app, and the run says which label to add', async () => {
    const w = await world(LINKED);
    const r = await w.run({ ctx: onPr(pr('opened', labels('bug'))), inputs: LABEL });

    expect(r.report).toMatchObject({ ok: true, outcome: 'nothing-to-deploy' });
    expect(r.report.message).toBe('Pull request #2 has no label preview: no review app (add the label preview to get one; `review-app-label` is set)');
    expect(writes(w.fake)).toEqual([]);
    expect(calls(w.fake)).not.toContain('api GET /v1/apps/my-app/scm_repo_link/review_apps');
  });

  it('adding the label creates the review app; adding another label does nothing', async () => {
    const w = await world(LINKED);
    const labeled = (name: string) => pr('labeled', (p) => {
      p.label = { name };
      labels('bug', name)(p);
    });
    const other = await w.run({ ctx: onPr(labeled('wip')), inputs: LABEL });
    expect(other.report).toMatchObject({ ok: true, outcome: 'nothing-to-deploy', message: 'pull request #2 labeled wip: nothing to deploy' });
    expect(writes(w.fake)).toEqual([]);

    const r = await w.run({ ctx: onPr(labeled('preview')), inputs: LABEL });
    expect(r.report).toMatchObject({ ok: true, outcome: 'success', reviewApp: 'my-app-pr2' });
    expect(writes(w.fake)).toEqual([MANUAL_REVIEW_APP, AUTO_DEPLOY_OFF, deployOf('changes')]);
  });

  it('later pushes redeploy it while the label stays', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK }, reviewApps: [{ pr: 2, head_branch: 'changes', auto_deploy_enabled: false }] });
    const r = await w.run({ ctx: onPr(pr('synchronize', labels('preview'))), inputs: LABEL });
    expect(r.report).toMatchObject({ ok: true, outcome: 'success' });
    expect(writes(w.fake)).toEqual([deployOf('changes')]);
  });

  it('with `review-app-drafts: false`, a draft gets no review app until it is marked ready', async () => {
    const w = await world(LINKED);
    const draft = await w.run({ ctx: onPr(pr('opened', (p) => void (p.pull_request.draft = true))), inputs: { 'review-app-drafts': 'false' } });
    expect(draft.report).toMatchObject({ ok: true, outcome: 'nothing-to-deploy' });
    expect(draft.report.message).toBe('Pull request #2 is a draft: no review app until it is marked ready (`review-app-drafts: false` is set)');
    expect(writes(w.fake)).toEqual([]);

    const ready = await w.run({ ctx: onPr(pr('ready_for_review')), inputs: { 'review-app-drafts': 'false' } });
    expect(ready.report).toMatchObject({ ok: true, outcome: 'success', reviewApp: 'my-app-pr2' });
    expect(writes(w.fake)).toEqual([MANUAL_REVIEW_APP, AUTO_DEPLOY_OFF, deployOf('changes')]);
  });

  it('on GitLab, from the merge request\'s labels and draft state', async () => {
    const mr = {
      CI_PIPELINE_SOURCE: 'merge_request_event', CI_MERGE_REQUEST_IID: '2', CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: 'changes',
      CI_COMMIT_SHA: '6113728f27ae82c7b1a177c8d03f9e96e0adf246', CI_PROJECT_URL: REPO, CI_SERVER_URL: 'https://github.com',
    };
    const w = await world(LINKED);
    const unlabeled = await w.run({ ctx: onGitLab({ ...mr, CI_MERGE_REQUEST_LABELS: 'bug,ui' }), inputs: LABEL });
    expect(unlabeled.report.message).toBe('Merge request !2 has no label preview: no review app (add the label preview to get one; `review-app-label` is set)');
    const draft = await w.run({ ctx: onGitLab({ ...mr, CI_MERGE_REQUEST_LABELS: 'bug,preview', CI_MERGE_REQUEST_DRAFT: 'true' }), inputs: { ...LABEL, 'review-app-drafts': 'false' } });
    expect(draft.report.message).toMatch(/^Merge request !2 is a draft: no review app until it is marked ready/);
    expect(writes(w.fake)).toEqual([]);

    const r = await w.run({ ctx: onGitLab({ ...mr, CI_MERGE_REQUEST_LABELS: 'bug,preview' }), inputs: { ...LABEL, 'review-app-drafts': 'false' } });
    expect(r.report).toMatchObject({ ok: true, outcome: 'success', reviewApp: 'my-app-pr2' });
    expect(writes(w.fake)).toEqual([MANUAL_REVIEW_APP, AUTO_DEPLOY_OFF, deployOf('changes')]);
  });
});

/** A bearer the fake issued and still accepts, to read what it serves. */
function bearerOf(f: Fake): string {
  return f.state.bearers.at(-1)!.token;
}
