/**
 * Review apps as Scalingo really makes them (the fake holds a new review app's first deployment while the commit's
 * checks are pending, gives each review app its own auto-deploying link, answers the review app list with 404
 * without a link, deletes a manual review app when its pull request closes): the core's run() in-process on GitHub
 * and GitLab events, checking the requests (method, path, body), the report and the outputs.
 */
import { describe, expect, it } from 'vitest';
import { byAction, webhook } from '../support/payloads.js';
import { calls, IN_STEP_LINK, onGitHub, onGitLab, REPO, world, writes, type Fake } from './harness.js';

type Payload = Record<string, unknown> & {
  pull_request: Record<string, unknown> & { labels: { name: string }[]; draft: boolean; head: Record<string, unknown> };
};
const pr = (action: string, edit: (p: Payload) => void = () => {}): Payload => {
  const payload = webhook('pull_request', byAction(action)) as Payload;
  edit(payload);
  return payload;
};
const onPr = (payload: Payload) => onGitHub('pull_request', 'refs/pull/2/merge', payload);
const RA = '/v1/apps/my-app-pr2';
const MANUAL_REVIEW_APP = {
  method: 'POST',
  path: '/v1/apps/my-app/scm_repo_link/manual_review_app',
  body: { pull_request_id: 2 },
};
const AUTO_DEPLOY_OFF = {
  method: 'PATCH',
  path: `${RA}/scm_repo_link`,
  body: { scm_repo_link: { auto_deploy_enabled: false } },
};
const deployOf = (branch: string, app = RA) => ({
  method: 'POST',
  path: `${app}/scm_repo_link/manual_deploy`,
  body: { branch },
});
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
    expect(seen.indexOf('api GET /v1/apps/my-app/scm_repo_link/review_apps')).toBeGreaterThan(
      seen.indexOf('api POST /v1/apps/my-app/scm_repo_link'),
    );
    expect(statuses(f).filter((s) => s === 404)).toEqual([404]); // only the link read that finds no link
    expect(writes(f)).toEqual([
      {
        method: 'POST',
        path: '/v1/apps/my-app/scm_repo_link',
        body: { scm_repo_link: expect.objectContaining({ source: REPO, branch: 'master' }) },
      },
      MANUAL_REVIEW_APP,
      AUTO_DEPLOY_OFF,
      deployOf('changes'),
    ]);
    expect(r.outputs).toMatchObject({ link: 'created', 'review-app': 'my-app-pr2', 'deployment-status': 'success' });
  });

  it('in a dry run on an app with no link: reads no review app list and says what it would do', async () => {
    const w = await world({ links: {} });
    const r = await w.run({ ctx: onPr(pr('opened')), inputs: { 'dry-run': 'true' } });

    expect(r.report).toMatchObject({ ok: true, outcome: 'dry-run' });
    expect(calls(w.fake)).not.toContain('api GET /v1/apps/my-app/scm_repo_link/review_apps');
    expect(writes(w.fake)).toEqual([]);
    expect(r.log).toContain(
      "Would create the review app of pull request #2, set its link's auto-deploy off, and deploy branch changes to it",
    );
  });

  it('whose first deployment is held by pending checks: deploys it with manual_deploy and follows THAT deployment, the only one', async () => {
    const w = await world(LINKED);
    const f = w.fake;
    const r = await w.run({ ctx: onPr(pr('opened')) });

    expect(writes(f)).toEqual([MANUAL_REVIEW_APP, AUTO_DEPLOY_OFF, deployOf('changes')]);
    const [deployment] = f.deploymentsCreated();
    expect(f.deploymentsCreated()).toEqual([
      expect.objectContaining({ app: 'my-app-pr2', trigger: 'manual_deploy', branch: 'changes', status: 'success' }),
    ]);
    expect(calls(f)).toContain(`api GET ${RA}/deployments/${deployment!.id}`);
    expect(r.outputs).toMatchObject({
      app: 'my-app-pr2',
      'deployment-id': deployment!.id,
      'deployment-status': 'success',
    });
    // The checks pass once the job is over: the review app's own link no longer auto-deploys, nothing more deploys.
    f.push('changes');
    f.checksPassed();
    expect(f.deploymentsCreated()).toHaveLength(1);
  });

  it('that started a deployment by itself at once (checks passed, nothing to provision): follows it and sends no deploy', async () => {
    const w = await world({ ...LINKED, reviewAppChecks: 'passed' });
    const f = w.fake;
    const r = await w.run({ ctx: onPr(pr('opened')) });

    expect(r.report).toMatchObject({ ok: true, outcome: 'success' });
    expect(writes(f)).toEqual([MANUAL_REVIEW_APP, AUTO_DEPLOY_OFF]);
    const [deployment] = f.deploymentsCreated();
    expect(f.deploymentsCreated()).toEqual([expect.objectContaining({ app: 'my-app-pr2', trigger: 'review_app' })]);
    expect(r.outputs['deployment-id']).toBe(deployment!.id);
    expect(r.log).toMatch(/Deployment \S+ of my-app-pr2 started by itself \(queued\): following it, no deploy sent/);
    expect(r.warnings).toEqual([]);
  });

  it('whose creation takes a while (add-ons): waits for it, then turns its auto-deploy off and deploys it, once', async () => {
    const w = await world({ ...LINKED, reviewAppCreationMs: 1000 });
    const f = w.fake;
    const r = await w.run({ ctx: onPr(pr('opened')) });

    expect(r.report).toMatchObject({ ok: true, outcome: 'success' });
    expect(r.log).toContain(
      'Review app my-app-pr2 is being created (no link of its own yet): waiting for it, and for a deployment it may start by itself',
    );
    expect(writes(f)).toEqual([MANUAL_REVIEW_APP, AUTO_DEPLOY_OFF, deployOf('changes')]);
    expect(f.deploymentsCreated()).toEqual([expect.objectContaining({ app: 'my-app-pr2', trigger: 'manual_deploy' })]);
    // The watch slows down as the request budget fills: far from spending it.
    expect(f.requests.length).toBeLessThan(60);
  });

  it('whose checks passed, created after a while: Scalingo starts its first deployment when the creation ends; the step adopts it', async () => {
    const w = await world({ ...LINKED, reviewAppChecks: 'passed', reviewAppCreationMs: 500 });
    const f = w.fake;
    const r = await w.run({ ctx: onPr(pr('opened')) });

    expect(r.report).toMatchObject({ ok: true, outcome: 'success' });
    const [itsOwn] = f.deploymentsCreated();
    expect(f.deploymentsCreated()).toEqual([expect.objectContaining({ app: 'my-app-pr2', trigger: 'review_app' })]);
    expect(r.outputs['deployment-id']).toBe(itsOwn!.id);
    // Its auto-deploy is still turned off for the pushes to come; no deploy sent.
    expect(writes(f)).toEqual([MANUAL_REVIEW_APP, AUTO_DEPLOY_OFF]);
  });

  it('whose own first deployment shows up only after the step deployed it: follows its own, and says so in one line', async () => {
    // Scalingo decided it when the creation ended, before the auto-deploy was turned off; it shows up 300 ms later.
    const w = await world({
      ...LINKED,
      reviewAppChecks: 'passed',
      reviewAppDeploymentDelayMs: 300,
      deployScripts: { 'my-app-pr2': { durationMs: 1200, final: 'success' } },
    });
    const f = w.fake;
    const r = await w.run({ ctx: onPr(pr('opened')) });

    expect(r.report).toMatchObject({ ok: true, outcome: 'success' });
    expect(writes(f)).toEqual([MANUAL_REVIEW_APP, AUTO_DEPLOY_OFF, deployOf('changes')]);
    const ours = f.deploymentsCreated().find((d) => d.trigger === 'manual_deploy')!;
    const itsOwn = f.deploymentsCreated().find((d) => d.trigger === 'review_app')!;
    expect(r.outputs['deployment-id']).toBe(ours.id);
    expect(r.warnings).toEqual([
      `Second deployment::Scalingo started deployment ${itsOwn.id} of my-app-pr2 by itself too (queued), the review app's first deployment, decided before its auto-deploy was turned off: two deployments of one commit, which Scalingo runs one after the other; this step followed ${ours.id}.`,
    ]);
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
    [
      'its deployments list (the look for a deployment it started by itself)',
      RA_DEPLOYMENTS,
      'Deployments of my-app-pr2 not read (HTTP 503): trying again',
    ],
    ['its own link', RA_LINK, 'Link of review app my-app-pr2 not read (HTTP 503): trying again'],
  ])('a 503 outage on %s is ridden out: one deploy, and it succeeds', async (_what, path, line) => {
    const w = await world({ ...LINKED, faults: [{ kind: 'status', method: 'GET', path, status: 503, times: 6 }] });
    const f = w.fake;
    const r = await w.run({ ctx: onPr(pr('opened')), deps });

    expect(r.report).toMatchObject({ ok: true, outcome: 'success', reviewApp: 'my-app-pr2' });
    expect(f.requests.filter((q) => q.fault === 'status')).toHaveLength(6);
    expect(r.log).toContain(line);
    expect(writes(f)).toEqual([MANUAL_REVIEW_APP, AUTO_DEPLOY_OFF, deployOf('changes')]);
    expect(f.deploymentsCreated()).toEqual([
      expect.objectContaining({ app: 'my-app-pr2', trigger: 'manual_deploy', status: 'success' }),
    ]);
    expect(r.outputs['deployment-id']).toBe(f.deploymentsCreated()[0]!.id);
  });

  it('its own link answering 404 for a moment right after the creation (still being created): read again, then its auto-deploy is set', async () => {
    const w = await world({
      ...LINKED,
      faults: [
        {
          kind: 'status',
          method: 'GET',
          path: RA_LINK,
          status: 404,
          body: { resource: 'scm_repo_link', error: 'not found' },
          times: 2,
        },
      ],
    });
    const r = await w.run({ ctx: onPr(pr('opened')) });

    expect(r.report).toMatchObject({ ok: true, outcome: 'success' });
    expect(r.log).toContain(
      'Review app my-app-pr2 is being created (no link of its own yet): waiting for it, and for a deployment it may start by itself',
    );
    expect(r.log).not.toContain('has no link of its own');
    expect(writes(w.fake)).toEqual([MANUAL_REVIEW_APP, AUTO_DEPLOY_OFF, deployOf('changes')]);
    expect(w.fake.deploymentsCreated()).toHaveLength(1);
    // The link and the deployments are looked at together, each round, while it is created.
    expect(calls(w.fake).filter((c) => c === `api GET ${RA}/scm_repo_link`)).toHaveLength(3);
  });

  it.each([
    ['its deployments list', RA_DEPLOYMENTS, 'deployments of my-app-pr2'],
    ['its own link', RA_LINK, 'link of review app my-app-pr2'],
  ])(
    'an outage on %s lasting past the deadline ends timed out, within seconds of it, with no second deploy',
    async (_what, path, what) => {
      const w = await world({
        ...LINKED,
        faults: [{ kind: 'status', method: 'GET', path, status: 503, times: Infinity }],
      });
      const f = w.fake;
      const started = Date.now();
      const r = await w.run({ ctx: onPr(pr('opened')), inputs: { 'timeout-minutes': '0.025' }, deps });

      expect(Date.now() - started).toBeLessThan(1500 + 3000);
      expect(r.report).toMatchObject({ ok: false, outcome: 'timed-out' });
      expect(r.outputs['timed-out']).toBe('true');
      expect(r.report.message).toBe(
        `The ${what} could not be read before the deadline (2 s, timeout-minutes): Scalingo's API still failed (HTTP 503). Nothing was deployed by this run: see https://dashboard.scalingo.com/apps/osc-fr1/my-app-pr2, and run this again to deploy it.`,
      );
      // Nothing sent while the outage hid whether the review app had started a deployment by itself.
      expect(deploysSent(f)).toBe(0);
      expect(f.deploymentsCreated()).toEqual([]);
    },
    10_000,
  );

  it('a failure that does not pass (403 on its deployments list) stands at once, before any other write', async () => {
    const w = await world({
      ...LINKED,
      faults: [{ kind: 'status', method: 'GET', path: RA_DEPLOYMENTS, status: 403, times: Infinity }],
    });
    const r = await w.run({ ctx: onPr(pr('opened')) });

    expect(r.report).toMatchObject({ ok: false, outcome: 'error' });
    expect(w.fake.requests.filter((q) => q.fault === 'status')).toHaveLength(1);
    expect(r.log).not.toContain('trying again');
    expect(writes(w.fake)).toEqual([MANUAL_REVIEW_APP]);
  });
});

describe("the look for a deployment a new review app started by itself: the rule of a deploy's trigger", () => {
  const RA_DEPLOYMENTS = /^\/v1\/apps\/my-app-pr2\/deployments$/;
  /** The pull request's head commit in the webhook payloads. */
  const HEAD = 'ec26c3e57ca3a959ca5aad62de7213c562f8c821';
  const OTHER = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
  const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
  /** The review app list read before the creation misses it (Scalingo made it meanwhile): manual_review_app answers 422. */
  const MISSED_BY_THE_LIST = {
    kind: 'status',
    method: 'GET',
    path: '/v1/apps/my-app/scm_repo_link/review_apps',
    status: 200,
    body: { review_apps: [] },
  } as const;

  it.each([
    ['without created_at', () => ({ id: 'undated', status: 'success', git_ref: HEAD })],
    [
      'created a minute before the creation (older than the clock skew allows)',
      () => ({ id: 'old', status: 'success', git_ref: HEAD, created_at: ago(60_000) }),
    ],
  ])('a deployment %s is not adopted: the step deploys the review app itself', async (_what, listed) => {
    // Both looks answer with that deployment only.
    const w = await world({
      ...LINKED,
      faults: [
        {
          kind: 'status',
          method: 'GET',
          path: RA_DEPLOYMENTS,
          status: 200,
          body: { deployments: [listed()] },
          times: 2,
        },
      ],
    });
    const f = w.fake;
    const r = await w.run({ ctx: onPr(pr('opened')) });

    expect(f.requests.filter((q) => q.fault === 'status')).toHaveLength(2);
    expect(r.report).toMatchObject({ ok: true, outcome: 'success', reviewApp: 'my-app-pr2' });
    expect(r.log).not.toContain('started by itself');
    expect(writes(f)).toEqual([MANUAL_REVIEW_APP, AUTO_DEPLOY_OFF, deployOf('changes')]);
    expect(f.deploymentsCreated()).toEqual([
      expect.objectContaining({ app: 'my-app-pr2', trigger: 'manual_deploy', status: 'success' }),
    ]);
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
    expect(f.deploymentsCreated()).toEqual([
      expect.objectContaining({ app: 'my-app-pr2', trigger: 'manual_deploy', status: 'success' }),
    ]);
    expect(r.outputs).toMatchObject({ 'deployment-id': f.deploymentsCreated()[0]!.id, 'deployment-status': 'success' });
  });

  it("a review app that existed already (422) with fresh deployments: follows the one that built the pull request's head, sends no deploy", async () => {
    const w = await world({
      ...LINKED,
      reviewApps: [{ pr: 2, head_branch: 'changes', auto_deploy_enabled: false }],
      // Oldest first, all dated since the creation was asked give or take the skew: the head's is neither the oldest
      // (adopted when the commit is unknown) nor the newest.
      deployments: {
        'my-app-pr2': [
          { status: 'build-error', git_ref: OTHER, ageMs: 6000 },
          { status: 'success', git_ref: HEAD, ageMs: 4000 },
          { status: 'build-error', git_ref: OTHER, ageMs: 2000 },
        ],
      },
      faults: [MISSED_BY_THE_LIST],
    });
    const f = w.fake;
    const r = await w.run({ ctx: onPr(pr('opened')) });

    const [, , head] = f.state.deployments.filter((d) => d.appName === 'my-app-pr2');
    expect(head?.gitRef).toBe(HEAD);
    expect(r.report).toMatchObject({ ok: true, outcome: 'success' });
    expect(writes(f)).toEqual([MANUAL_REVIEW_APP]);
    expect(f.deploymentsCreated()).toEqual([]);
    expect(r.log).toContain(
      `Deployment ${head!.id} of my-app-pr2 started by itself (success): following it, no deploy sent`,
    );
    expect(r.outputs).toMatchObject({ 'deployment-id': head!.id, 'deployment-status': 'success', 'git-ref': HEAD });
  });
});

describe('an existing review app', () => {
  it('auto-deploying: turns its auto-deploy off, then redeploys', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK }, reviewApps: [{ pr: 2, head_branch: 'changes' }] });
    const r = await w.run({ ctx: onPr(pr('synchronize')) });

    expect(r.report.ok).toBe(true);
    expect(writes(w.fake)).toEqual([AUTO_DEPLOY_OFF, deployOf('changes')]);
    expect(r.log).toContain(
      "Review app my-app-pr2: its link's auto-deploy turned off, so that only this step deploys it (`review-app-auto-deploy: false`)",
    );
  });

  it('with `review-app-auto-deploy: true` and its auto-deploy off: turns it on, then redeploys', async () => {
    const w = await world({
      links: { 'my-app': IN_STEP_LINK },
      reviewApps: [{ pr: 2, head_branch: 'changes', auto_deploy_enabled: false }],
    });
    const r = await w.run({ ctx: onPr(pr('synchronize')), inputs: { 'review-app-auto-deploy': 'true' } });

    expect(writes(w.fake)).toEqual([
      { ...AUTO_DEPLOY_OFF, body: { scm_repo_link: { auto_deploy_enabled: true } } },
      deployOf('changes'),
    ]);
    expect(r.report.ok).toBe(true);
  });

  it("of a pull request from a fork: redeploys the event's head branch, bare, never Scalingo's `owner:branch` label", async () => {
    const w = await world({
      links: { 'my-app': IN_STEP_LINK },
      pulls: { 2: { head_branch: 'patch-1', fork: 'someone/Hello-World' } },
      reviewApps: [{ pr: 2, head_branch: 'patch-1', auto_deploy_enabled: false }],
    });
    const payload = pr('synchronize', (p) => {
      p.pull_request.head = {
        ...p.pull_request.head,
        ref: 'patch-1',
        repo: { full_name: 'someone/Hello-World', fork: true },
      };
    });
    const r = await w.run({ ctx: onPr(payload) });

    expect(r.report.ok).toBe(true);
    expect(writes(w.fake)).toEqual([deployOf('patch-1')]);
    expect(r.log).toContain('Review app my-app-pr2 exists: redeploying branch patch-1\n');
  });
});

describe('the branch a review app deploys, as Scalingo stores it (`owner:branch` on its own link and in the list)', () => {
  /** Scalingo's copies of the branch: GitHub's head label on the review app's own link and in the list. */
  const LABELLED_LINK = {
    kind: 'status',
    method: 'GET',
    path: /^\/v1\/apps\/my-app-pr2\/scm_repo_link$/,
    status: 200,
    times: Infinity,
  } as const;
  const labelled = (f: Fake, branch: string) => ({
    ...LABELLED_LINK,
    body: { scm_repo_link: { ...f.state.links['my-app-pr2'], branch } },
  });

  it("a redeploy sends the event's bare head branch, whatever the review app's own link says", async () => {
    const w = await world({ ...LINKED, reviewApps: [{ pr: 2, head_branch: 'changes', auto_deploy_enabled: false }] });
    w.fake.fault(labelled(w.fake, 'Codertocat:changes'));
    const r = await w.run({ ctx: onPr(pr('synchronize')) });

    expect(r.report).toMatchObject({ ok: true, outcome: 'success' });
    expect(writes(w.fake)).toEqual([deployOf('changes')]);
  });

  it('a new review app is deployed with the bare branch too', async () => {
    const w = await world(LINKED);
    const r = await w.run({ ctx: onPr(pr('opened')) });
    expect(r.report.ok).toBe(true);
    expect(writes(w.fake).at(-1)).toEqual(deployOf('changes'));
  });

  it("`command: review-app` with a number given on another event: the branch from Scalingo's label, bare", async () => {
    const w = await world({ ...LINKED, reviewApps: [{ pr: 2, head_branch: 'changes', auto_deploy_enabled: false }] });
    w.fake.fault(labelled(w.fake, 'Codertocat:changes'));
    const r = await w.run({
      ctx: onGitHub('workflow_dispatch', 'refs/heads/master', {}),
      inputs: { command: 'review-app', 'pull-request': '2' },
    });

    expect(r.report).toMatchObject({ ok: true, outcome: 'success' });
    expect(writes(w.fake)).toEqual([deployOf('changes')]);
    expect(r.log).toContain('Review app my-app-pr2 exists: redeploying branch changes (from the own link)');
  });

  it("the review app list's label alone (no link of its own): the bare branch", async () => {
    const w = await world({ ...LINKED, reviewApps: [{ pr: 2, head_branch: 'changes', auto_deploy_enabled: false }] });
    w.fake.fault({
      kind: 'status',
      method: 'GET',
      path: /^\/v1\/apps\/my-app-pr2\/scm_repo_link$/,
      status: 404,
      body: { resource: 'scm_repo_link', error: 'not found' },
      times: Infinity,
    });
    const r = await w.run({
      ctx: onGitHub('workflow_dispatch', 'refs/heads/master', {}),
      inputs: { command: 'review-app', 'pull-request': '2' },
    });

    expect(r.report).toMatchObject({ ok: true, outcome: 'success' });
    expect(writes(w.fake)).toEqual([deployOf('changes')]);
    expect(r.log).toContain('redeploying branch changes (from the review app list)');
  });

  it('Scalingo refusing the branch (404 naming nothing): one line quoting its answer and the branch sent, not "no SCM link"', async () => {
    const w = await world({
      ...LINKED,
      reviewApps: [{ pr: 2, head_branch: 'changes', auto_deploy_enabled: false }],
      faults: [
        {
          kind: 'status',
          method: 'POST',
          path: `${RA}/scm_repo_link/manual_deploy`,
          status: 404,
          body: { error: 'branch not found' },
        },
      ],
    });
    const r = await w.run({ ctx: onPr(pr('synchronize')) });

    expect(r.report).toMatchObject({ ok: false, outcome: 'error' });
    expect(r.report.message).toBe(
      'Scalingo answered 404 to the deploy of branch changes to review app my-app-pr2 (Scalingo said: branch not found): check that branch changes still exists in the repository (a pull request whose branch was deleted cannot be deployed).',
    );
    expect(w.fake.deploymentsCreated()).toEqual([]);
  });

  it("a fork's branch refused: says what to try (Scalingo's own review apps of forks)", async () => {
    const w = await world({
      links: { 'my-app': IN_STEP_LINK },
      pulls: { 2: { head_branch: 'patch-1', fork: 'someone/Hello-World' } },
      reviewApps: [{ pr: 2, head_branch: 'patch-1', auto_deploy_enabled: false }],
      faults: [
        {
          kind: 'status',
          method: 'POST',
          path: `${RA}/scm_repo_link/manual_deploy`,
          status: 404,
          body: { error: 'not found' },
        },
      ],
    });
    const payload = pr('synchronize', (p) => {
      p.pull_request.head = {
        ...p.pull_request.head,
        ref: 'patch-1',
        repo: { full_name: 'someone/Hello-World', fork: true },
      };
    });
    const r = await w.run({ ctx: onPr(payload), inputs: { 'fail-without-token': 'true' } });

    expect(r.report.message).toBe(
      "Scalingo answered 404 to the deploy of branch patch-1 to review app my-app-pr2 (Scalingo said: not found): pull request #2 comes from a fork, and Scalingo may not deploy a fork's branch by name. Let Scalingo make the review apps of forks itself (`review-apps: true` with `review-apps-from-forks: true`), or push the branch to this repository.",
    );
  });

  it('a 404 naming nothing on manual_review_app quotes Scalingo and names the pull request', async () => {
    const w = await world({
      ...LINKED,
      faults: [
        {
          kind: 'status',
          method: 'POST',
          path: '/v1/apps/my-app/scm_repo_link/manual_review_app',
          status: 404,
          body: { error: 'pull request not found' },
        },
      ],
    });
    const r = await w.run({ ctx: onPr(pr('opened')) });

    expect(r.report.message).toBe(
      'Scalingo answered 404 to the creation of the review app of pull request #2 (pull_request_id 2) (Scalingo said: pull request not found): check that pull request #2 is open in the repository linked to my-app.',
    );
  });

  it('a 402 says what Scalingo asks payment for, and where', async () => {
    const w = await world({
      ...LINKED,
      faults: [
        {
          kind: 'status',
          method: 'POST',
          path: '/v1/apps/my-app/scm_repo_link/manual_review_app',
          status: 402,
          body: {
            name: 'free-trial-exceeded',
            error: 'Your free trial has ended',
            url: 'https://dashboard.scalingo.com/billing/upgrade',
          },
        },
      ],
    });
    const r = await w.run({ ctx: onPr(pr('opened')) });

    expect(r.report.message).toBe(
      'Scalingo asks for payment on POST /v1/apps/my-app/scm_repo_link/manual_review_app (402 free-trial-exceeded) (Scalingo said: Your free trial has ended): add a payment method or upgrade at https://dashboard.scalingo.com/billing/upgrade.',
    );
  });
});

describe("a push after the run started (the fork recipe's race): Scalingo builds the branch's head", () => {
  const LATER = 'ffffeeeeddddccccbbbbaaaa0000111122223333';
  const forkLabelled = () =>
    pr('synchronize', (p) => {
      p.pull_request.head = {
        ...p.pull_request.head,
        ref: 'patch-1',
        repo: { full_name: 'someone/Hello-World', fork: true },
      };
      p.pull_request.labels = [{ name: 'safe-to-deploy' }];
    });
  const forkWorld = () => ({
    links: { 'my-app': IN_STEP_LINK },
    pulls: { 2: { head_branch: 'patch-1', fork: 'someone/Hello-World' } },
    reviewApps: [{ pr: 2, head_branch: 'patch-1', auto_deploy_enabled: false }],
    branchHeads: { 'patch-1': LATER },
  });

  it('a labelled pull request from a fork whose review app built a newer commit than the labelled one: a warning', async () => {
    const w = await world(forkWorld());
    const r = await w.run({
      ctx: onPr(forkLabelled()),
      inputs: { 'review-app-label': 'safe-to-deploy', 'fail-without-token': 'true' },
    });

    expect(r.report).toMatchObject({ ok: true, outcome: 'success' });
    expect(r.warnings).toEqual([
      "Unreviewed commit::Review app my-app-pr2 built commit ffffeee, not ec26c3e, the head of pull request #2 this run was started for: a newer commit was pushed since (after the label safe-to-deploy was added), and Scalingo deploys the branch's head: review it before trusting the review app (`fail-on-newer-commit: true` fails the step instead).",
    ]);
  });

  it('with `fail-on-newer-commit: true`: the step fails', async () => {
    const w = await world(forkWorld());
    const r = await w.run({
      ctx: onPr(forkLabelled()),
      inputs: { 'review-app-label': 'safe-to-deploy', 'fail-on-newer-commit': 'true' },
    });

    expect(r.report).toMatchObject({ ok: false, outcome: 'failed' });
    expect(r.report.message).toMatch(
      /^Review app my-app-pr2 built commit ffffeee, not ec26c3e, .*: failing, as `fail-on-newer-commit: true` asks\.$/,
    );
  });

  it('the commit the run was started for: nothing said', async () => {
    const w = await world({ ...forkWorld(), branchHeads: { 'patch-1': 'ec26c3e57ca3a959ca5aad62de7213c562f8c821' } });
    const r = await w.run({
      ctx: onPr(forkLabelled()),
      inputs: { 'review-app-label': 'safe-to-deploy', 'fail-on-newer-commit': 'true' },
    });
    expect(r.report).toMatchObject({ ok: true, outcome: 'success' });
    expect(r.warnings).toEqual([]);
  });
});

describe('a review app named as the app', () => {
  it('its link is never changed: one line says to name its parent instead', async () => {
    const w = await world({ ...LINKED, reviewApps: [{ pr: 2, head_branch: 'changes' }] });
    w.fake.state.links['my-app-pr2']!.branch = 'Codertocat:changes';
    const r = await w.run({
      ctx: onGitHub('push', 'refs/heads/master', webhook('push')),
      inputs: { app: 'my-app-pr2', branch: 'master' },
    });

    expect(r.report).toMatchObject({ ok: false, outcome: 'error' });
    expect(r.report.message).toBe(
      "App my-app-pr2 is a review app (its link follows Codertocat:changes, a pull request's branch): this step never changes a review app's link. Set `app` to its parent app.",
    );
    expect(writes(w.fake)).toEqual([]);
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
    expect(r.report.notes).toEqual([
      'Pull request #2 is closed and has no review app on my-app: nothing to do (Scalingo deletes a review app created on demand, as this step creates them, as soon as its pull request closes).',
    ]);
  });

  /** The review app list as Scalingo answers it: its dates, sentinels included, as given. */
  const listing = (dates: { on_close_deletion_date: string; stale_deletion_date: string }) =>
    ({
      kind: 'status',
      method: 'GET',
      path: '/v1/apps/my-app/scm_repo_link/review_apps',
      status: 200,
      times: Infinity,
      body: {
        review_apps: [
          {
            app_name: 'my-app-pr2',
            created_at: '2026-12-01T10:00:00Z',
            pull_request: { number: 2, branch_name: 'Codertocat:changes', closed_at: '2026-12-03T09:00:00Z' },
            ...dates,
          },
        ],
      },
    }) as const;
  const NEVER = '2135-01-17T08:41:44Z';
  const UNSET = '0001-01-01T00:00:00Z';

  it('with a review app still listed: gives the close deletion date, and the stale one when the link deletes stale review apps', async () => {
    const link = {
      ...IN_STEP_LINK,
      deploy_review_apps_enabled: true,
      delete_on_close_enabled: true,
      hours_before_delete_on_close: 2,
      delete_stale_enabled: true,
      hours_before_delete_stale: 72,
    };
    const w = await world({
      links: { 'my-app': link },
      faults: [
        listing({ on_close_deletion_date: '2026-12-03T11:00:00Z', stale_deletion_date: '2026-12-02T08:30:00Z' }),
      ],
    });
    const r = await w.run({ ctx: onPr(pr('closed')) });

    expect(r.report.ok).toBe(true);
    // The stale date Scalingo gives is the last deployment's: the deletion comes 72 hours after it.
    expect(r.report.notes).toEqual([
      'Pull request #2 is closed: Scalingo deletes review app my-app-pr2 on 2026-12-03 11:00 UTC (if not before, it is deleted as stale on 2026-12-05 08:30 UTC (72 hour(s) after its last deployment)).',
    ]);
    expect(r.outputs['review-app']).toBe('my-app-pr2');
  });

  it.each([
    ['the "never" sentinel', NEVER],
    ["Go's zero time", UNSET],
  ])(
    'never prints %s as a date, nor a stale date when the link does not delete stale review apps',
    async (_what, value) => {
      const link = {
        ...IN_STEP_LINK,
        deploy_review_apps_enabled: true,
        delete_on_close_enabled: false,
        delete_stale_enabled: false,
      };
      const w = await world({
        links: { 'my-app': link },
        faults: [listing({ on_close_deletion_date: value, stale_deletion_date: '2026-12-02T08:30:00Z' })],
      });
      const r = await w.run({ ctx: onPr(pr('closed')) });

      expect(r.report.notes).toEqual([
        'Pull request #2 is closed: if Scalingo created review app my-app-pr2 by itself, it stays until you delete it in the dashboard (delete-on-close and delete-stale are off; set `delete-on-close: true` to delete it on close); Scalingo deletes a review app created on demand, as this step creates them, as soon as its pull request closes.',
      ]);
      expect(r.log).not.toMatch(/2135|0001-01-01|2026-12-02/);
    },
  );
});

describe('honest outcomes', () => {
  it('`command: review-app` without a pull request number fails in one line and changes nothing', async () => {
    const w = await world({ links: {} });
    const r = await w.run({
      ctx: onGitHub('push', 'refs/heads/master', webhook('push')),
      inputs: { command: 'review-app' },
    });

    expect(r.report).toMatchObject({ ok: false, outcome: 'error' });
    expect(r.report.message).toBe(
      '`command: review-app` needs a pull request number: set `pull-request`, or run it on a pull request event. Nothing was changed.',
    );
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
    expect(r.report.message).toMatch(
      /^The pull_request event names no pull request number \(its payload has none\): nothing was changed\./,
    );
    expect(r.report.message).not.toContain('\n');
    expect(w.fake.requests).toEqual([]);
  });
});

describe('review apps on demand', () => {
  const LABEL = { 'review-app-label': 'preview' };
  const labels =
    (...names: string[]) =>
    (p: Payload) => {
      p.pull_request.labels = names.map((name) => ({ name }));
    };

  it('a pull request without the label gets no review app, and the run says which label to add', async () => {
    const w = await world(LINKED);
    const r = await w.run({ ctx: onPr(pr('opened', labels('bug'))), inputs: LABEL });

    expect(r.report).toMatchObject({ ok: true, outcome: 'nothing-to-deploy' });
    expect(r.report.message).toBe(
      'Pull request #2 has no label preview: no review app (add the label preview to get one; `review-app-label` is set)',
    );
    expect(writes(w.fake)).toEqual([]);
    expect(calls(w.fake)).not.toContain('api GET /v1/apps/my-app/scm_repo_link/review_apps');
  });

  it('adding the label creates the review app; adding another label does nothing', async () => {
    const w = await world(LINKED);
    const labeled = (name: string) =>
      pr('labeled', (p) => {
        p.label = { name };
        labels('bug', name)(p);
      });
    const other = await w.run({ ctx: onPr(labeled('wip')), inputs: LABEL });
    expect(other.report).toMatchObject({
      ok: true,
      outcome: 'nothing-to-deploy',
      message: 'pull request #2 labeled wip: nothing to deploy',
    });
    expect(writes(w.fake)).toEqual([]);

    const r = await w.run({ ctx: onPr(labeled('preview')), inputs: LABEL });
    expect(r.report).toMatchObject({ ok: true, outcome: 'success', reviewApp: 'my-app-pr2' });
    expect(writes(w.fake)).toEqual([MANUAL_REVIEW_APP, AUTO_DEPLOY_OFF, deployOf('changes')]);
  });

  it('later pushes redeploy it while the label stays', async () => {
    const w = await world({
      links: { 'my-app': IN_STEP_LINK },
      reviewApps: [{ pr: 2, head_branch: 'changes', auto_deploy_enabled: false }],
    });
    const r = await w.run({ ctx: onPr(pr('synchronize', labels('preview'))), inputs: LABEL });
    expect(r.report).toMatchObject({ ok: true, outcome: 'success' });
    expect(writes(w.fake)).toEqual([deployOf('changes')]);
  });

  it('with `review-app-drafts: false`, a draft gets no review app until it is marked ready', async () => {
    const w = await world(LINKED);
    const draft = await w.run({
      ctx: onPr(pr('opened', (p) => void (p.pull_request.draft = true))),
      inputs: { 'review-app-drafts': 'false' },
    });
    expect(draft.report).toMatchObject({ ok: true, outcome: 'nothing-to-deploy' });
    expect(draft.report.message).toBe(
      'Pull request #2 is a draft: no review app until it is marked ready (`review-app-drafts: false` is set)',
    );
    expect(writes(w.fake)).toEqual([]);

    const ready = await w.run({ ctx: onPr(pr('ready_for_review')), inputs: { 'review-app-drafts': 'false' } });
    expect(ready.report).toMatchObject({ ok: true, outcome: 'success', reviewApp: 'my-app-pr2' });
    expect(writes(w.fake)).toEqual([MANUAL_REVIEW_APP, AUTO_DEPLOY_OFF, deployOf('changes')]);
  });

  it("on GitLab, from the merge request's labels and draft state", async () => {
    const mr = {
      CI_PIPELINE_SOURCE: 'merge_request_event',
      CI_MERGE_REQUEST_IID: '2',
      CI_MERGE_REQUEST_SOURCE_BRANCH_NAME: 'changes',
      CI_COMMIT_SHA: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
      CI_PROJECT_URL: REPO,
      CI_SERVER_URL: 'https://github.com',
    };
    const w = await world(LINKED);
    const unlabeled = await w.run({ ctx: onGitLab({ ...mr, CI_MERGE_REQUEST_LABELS: 'bug,ui' }), inputs: LABEL });
    expect(unlabeled.report.message).toBe(
      'Merge request !2 has no label preview: no review app (add the label preview to get one; `review-app-label` is set)',
    );
    const draft = await w.run({
      ctx: onGitLab({ ...mr, CI_MERGE_REQUEST_LABELS: 'bug,preview', CI_MERGE_REQUEST_DRAFT: 'true' }),
      inputs: { ...LABEL, 'review-app-drafts': 'false' },
    });
    expect(draft.report.message).toMatch(/^Merge request !2 is a draft: no review app until it is marked ready/);
    expect(writes(w.fake)).toEqual([]);

    const r = await w.run({
      ctx: onGitLab({ ...mr, CI_MERGE_REQUEST_LABELS: 'bug,preview' }),
      inputs: { ...LABEL, 'review-app-drafts': 'false' },
    });
    expect(r.report).toMatchObject({ ok: true, outcome: 'success', reviewApp: 'my-app-pr2' });
    expect(writes(w.fake)).toEqual([MANUAL_REVIEW_APP, AUTO_DEPLOY_OFF, deployOf('changes')]);
  });
});
