/**
 * Every GitHub Actions workflow of README.md, run as GitHub would run it (test/recipes/recipes.ts) with the built
 * action against the fake Scalingo and the fake GitHub, for the events it is meant for and a few it must ignore.
 *
 * What runs differently from the README, and why:
 *
 * | In the recipe                         | Here                                   | Why                                      |
 * | ------------------------------------- | -------------------------------------- | ---------------------------------------- |
 * | `secrets.SCALINGO_API_TOKEN`           | the fake Scalingo's token              | no real token in tests                   |
 * | Scalingo's API and auth URLs (region)  | `api-url`, `auth-url` of the fake      | tests never reach the network            |
 * | `poll-interval-seconds` 5              | 0.05                                   | a deployment of the fake lasts ~0.1 s    |
 * | `timeout-minutes` 30                   | 1                                      | a stuck test ends in a minute            |
 * | GitHub's API (`GITHUB_API_URL`)        | the fake GitHub                        | the comment and deployments are checked  |
 * | `run:` steps                           | resolved (expressions), not executed   | they are the user's; their inputs are    |
 *
 * Every YAML block of README.md that is a workflow must have a scenario here: a new recipe fails this file until it
 * has one.
 */
import { describe, expect, it, type TestContext } from 'vitest';
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github.js';
import { startFakeScalingo } from '../support/fake-scalingo.js';
import { byAction, byRef, webhook } from '../support/payloads.js';
import { IN_STEP_LINK, TOKEN, writes, type Fake, type FakeOptions } from '../support/requests.js';
import { runWorkflow, yamlBlocks, type Trigger, type WorkflowRun } from './recipes.js';

const blocks = yamlBlocks('README.md').filter((b) => /^\s*jobs:/m.test(b.text));
const recipe = (key: string) => {
  const found = blocks.find((b) => b.key === key);
  if (!found) throw new Error(`README.md has no workflow under "${key}" any more: rename its scenario here`);
  return found.text;
};

const SHA = 'ec26c3e57ca3a959ca5aad62de7213c562f8c821'; // the example pull request's head
const MAIN_LINK = { ...IN_STEP_LINK, branch: 'main' };

// The scenarios run concurrently (each has its own fakes; the action's pauses between GitHub writes are real).
async function fakes2(t: TestContext, options: FakeOptions = {}): Promise<{ fake: Fake; gh: FakeGitHub }> {
  const fake = await startFakeScalingo(options);
  const gh = await startFakeGitHub({ repository: 'Codertocat/Hello-World' });
  t.onTestFinished(() => Promise.all([fake.close(), gh.close()]).then(() => undefined));
  return { fake, gh };
}

function run(source: string, t: Trigger, w: { fake: Fake; gh: FakeGitHub }): Promise<WorkflowRun> {
  return runWorkflow(source, t, {
    secrets: { SCALINGO_API_TOKEN: TOKEN },
    inputs: {
      'api-url': w.fake.apiUrl,
      'auth-url': w.fake.authUrl,
      'poll-interval-seconds': '0.05',
      'timeout-minutes': '1',
    },
    env: { GITHUB_API_URL: w.gh.url },
  });
}

const push = (branch: string): Trigger => ({
  event: 'push',
  ref: `refs/heads/${branch}`,
  payload: { ...webhook('push', byRef('refs/heads/')), ref: `refs/heads/${branch}` },
});
function pr(
  action: string,
  edit: (p: {
    action: string;
    label?: { name: string };
    pull_request: Record<string, unknown> & {
      base: Record<string, unknown>;
      head: Record<string, unknown>;
      labels?: { name: string }[];
    };
  }) => void = () => undefined,
  event = 'pull_request',
): Trigger {
  const payload = webhook('pull_request', byAction('opened')) as Parameters<typeof edit>[0];
  payload.action = action;
  payload.pull_request.base = { ...payload.pull_request.base, ref: 'main' };
  if (action === 'closed') Object.assign(payload.pull_request, { state: 'closed', merged: false });
  edit(payload);
  return {
    event,
    ref: event === 'pull_request' ? 'refs/pull/2/merge' : 'refs/heads/main',
    payload: payload as unknown as Record<string, unknown>,
  };
}

/** The one action step of a run (most recipes have one job, one step). */
function only(r: WorkflowRun) {
  const steps = r.jobs.flatMap((j) => j.steps).filter((s) => s.action);
  expect(steps).toHaveLength(1);
  return steps[0]!.action!;
}

const deploysOf = (fake: Fake) => fake.deploymentsCreated().map((d) => `${d.app} ${d.trigger} ${d.branch} ${d.status}`);

describe.concurrent('README workflows: each has a scenario', () => {
  it('lists the workflows this file runs', () => {
    expect(blocks.map((b) => b.key)).toEqual([
      'GitHub Actions in 30 seconds #1',
      'Production deploy on push to main #1',
      'Review apps on pull requests #1',
      'Monorepo with several apps #1',
      'Monorepo with several apps #2',
      'Pull requests from forks #1',
      'Concurrency #1',
      'Dry run before a change #1',
    ]);
  });
});

describe.concurrent('GitHub Actions in 30 seconds', () => {
  const wf = () => recipe('GitHub Actions in 30 seconds #1');

  it('a push to main: the link fixed as given, main deployed and followed', async (t) => {
    const w = await fakes2(t, {
      links: { 'my-app': { ...MAIN_LINK, auto_deploy_enabled: true, delete_on_close_enabled: false } },
    });
    const a = only(await run(wf(), push('main'), w));
    expect(a.code).toBe(0);
    expect(writes(w.fake)).toEqual([
      {
        method: 'PATCH',
        path: '/v1/apps/my-app/scm_repo_link',
        body: { scm_repo_link: { auto_deploy_enabled: false, delete_on_close_enabled: true } },
      },
      { method: 'POST', path: '/v1/apps/my-app/scm_repo_link/manual_deploy', body: { branch: 'main' } },
    ]);
    expect(a.outputs).toMatchObject({ app: 'my-app', 'deployment-status': 'success', link: 'updated' });
  });

  it('a push to another branch does not start the workflow', async (t) => {
    const w = await fakes2(t, { links: { 'my-app': MAIN_LINK } });
    expect(await run(wf(), push('feature-5'), w)).toEqual({ started: false, jobs: [] });
    expect(w.fake.requests).toEqual([]);
  });

  it('a pull request: its review app made, deployed with the head branch, its URL in the comment; pushes redeploy it; closed deploys nothing', async (t) => {
    const w = await fakes2(t, {
      links: { 'my-app': { ...MAIN_LINK, delete_on_close_enabled: true } },
      pulls: { 2: { head_branch: 'changes' } },
    });
    const opened = only(await run(wf(), pr('opened'), w));
    expect(opened.code).toBe(0);
    expect(opened.outputs).toMatchObject({ 'review-app': 'my-app-pr2', 'deployment-status': 'success' });
    expect(writes(w.fake)).toEqual([
      { method: 'POST', path: '/v1/apps/my-app/scm_repo_link/manual_review_app', body: { pull_request_id: 2 } },
      {
        method: 'PATCH',
        path: '/v1/apps/my-app-pr2/scm_repo_link',
        body: { scm_repo_link: { auto_deploy_enabled: false } },
      },
      { method: 'POST', path: '/v1/apps/my-app-pr2/scm_repo_link/manual_deploy', body: { branch: 'changes' } },
    ]);
    expect(w.gh.state.comments).toHaveLength(1);
    expect(w.gh.state.comments[0]!.body).toContain('https://my-app-pr2.osc-fr1.scalingo.io');

    for (const action of ['synchronize', 'reopened']) {
      const again = only(await run(wf(), pr(action), w));
      expect(again.code).toBe(0);
    }
    expect(deploysOf(w.fake)).toEqual([
      'my-app-pr2 manual_deploy changes success',
      'my-app-pr2 manual_deploy changes success',
      'my-app-pr2 manual_deploy changes success',
    ]);
    expect(w.gh.state.comments).toHaveLength(1);

    w.fake.closePull(2);
    const closed = only(await run(wf(), pr('closed'), w));
    expect(closed.code).toBe(0);
    expect(deploysOf(w.fake)).toHaveLength(3);
    expect(closed.stdout).toContain('Pull request #2 is closed');
  });

  it('a pull request labeled: not a type the recipe lists, so nothing runs', async (t) => {
    const w = await fakes2(t, { links: { 'my-app': MAIN_LINK } });
    expect((await run(wf(), pr('labeled'), w)).started).toBe(false);
  });
});

describe.concurrent('Production deploy on push to main', () => {
  it('deploys main; the environment URL and the echo get the outputs', async (t) => {
    const w = await fakes2(t, { links: { 'my-app': MAIN_LINK } });
    const r = await run(recipe('Production deploy on push to main #1'), push('main'), w);
    const a = only(r);
    expect(a.code).toBe(0);
    expect(writes(w.fake)).toEqual([
      { method: 'POST', path: '/v1/apps/my-app/scm_repo_link/manual_deploy', body: { branch: 'main' } },
    ]);
    expect(r.jobs[0]!.environmentUrl).toBe('https://my-app.osc-fr1.scalingo.io');
    const echo = r.jobs[0]!.steps.find((s) => s.script)!.script!.run;
    expect(echo).toBe(`echo "Deployed ${a.outputs['deployment-id']} to https://my-app.osc-fr1.scalingo.io"`);
    expect(a.outputs['deployment-id']).toMatch(/\S/);
  });

  it('a pull request does not start it', async (t) => {
    const w = await fakes2(t, { links: { 'my-app': MAIN_LINK } });
    expect((await run(recipe('Production deploy on push to main #1'), pr('opened'), w)).started).toBe(false);
  });
});

describe.concurrent('Review apps on pull requests', () => {
  const wf = () => recipe('Review apps on pull requests #1');

  it("opened: the link's review-app settings set as given, the review app made with its own auto-deploy off", async (t) => {
    const w = await fakes2(t, {
      links: {
        'my-app': {
          ...MAIN_LINK,
          auto_deploy_enabled: true,
          deploy_review_apps_enabled: true,
          delete_on_close_enabled: false,
          hours_before_delete_on_close: 24,
        },
      },
      pulls: { 2: { head_branch: 'changes' } },
    });
    const a = only(await run(wf(), pr('opened'), w));
    expect(a.code).toBe(0);
    const [patch, ...rest] = writes(w.fake);
    expect(patch).toEqual({
      method: 'PATCH',
      path: '/v1/apps/my-app/scm_repo_link',
      body: {
        scm_repo_link: expect.objectContaining({
          deploy_review_apps_enabled: false,
          delete_on_close_enabled: true,
          hours_before_delete_on_close: 0,
          delete_stale_enabled: true,
          hours_before_delete_stale: 72,
        }),
      },
    });
    // The parent's own auto-deploy is not an input here: left as it is.
    expect((patch!.body as { scm_repo_link: Record<string, unknown> }).scm_repo_link).not.toHaveProperty(
      'auto_deploy_enabled',
    );
    expect(rest).toEqual([
      { method: 'POST', path: '/v1/apps/my-app/scm_repo_link/manual_review_app', body: { pull_request_id: 2 } },
      {
        method: 'PATCH',
        path: '/v1/apps/my-app-pr2/scm_repo_link',
        body: { scm_repo_link: { auto_deploy_enabled: false } },
      },
      { method: 'POST', path: '/v1/apps/my-app-pr2/scm_repo_link/manual_deploy', body: { branch: 'changes' } },
    ]);
  });

  it('synchronize, ready_for_review and reopened redeploy; another label runs the step, which deploys nothing and says why', async (t) => {
    const w = await fakes2(t, { links: { 'my-app': MAIN_LINK }, pulls: { 2: { head_branch: 'changes' } } });
    expect(only(await run(wf(), pr('opened'), w)).code).toBe(0);
    for (const action of ['synchronize', 'ready_for_review', 'reopened'])
      expect(only(await run(wf(), pr(action), w)).code).toBe(0);
    expect(deploysOf(w.fake)).toHaveLength(4);
    // `labeled` is in the recipe's types for `review-app-label`; any other label is no news.
    const labeled = only(
      await run(
        wf(),
        pr('labeled', (p) => {
          p.label = { name: 'bug' };
        }),
        w,
      ),
    );
    expect(labeled.code).toBe(0);
    expect(labeled.stdout).toContain('pull request #2 labeled bug: nothing to deploy');
    expect(deploysOf(w.fake)).toHaveLength(4);
  });

  it('closed: nothing deployed, the step says what Scalingo does with the review app', async (t) => {
    const w = await fakes2(t, { links: { 'my-app': MAIN_LINK }, pulls: { 2: { head_branch: 'changes' } } });
    expect(only(await run(wf(), pr('opened'), w)).code).toBe(0);
    w.fake.closePull(2);
    const closed = only(await run(wf(), pr('closed'), w));
    expect(closed.code).toBe(0);
    expect(deploysOf(w.fake)).toHaveLength(1);
    expect(closed.stdout).toMatch(/Pull request #2 is closed.*Scalingo deletes/);
  });
});

describe.concurrent('Monorepo with several apps', () => {
  const world = (t: TestContext) =>
    fakes2(t, {
      apps: { 'shop-api': {}, 'shop-front': {}, 'shop-worker': {}, 'other-app': {} },
      links: {
        'shop-api': MAIN_LINK,
        'shop-front': MAIN_LINK,
        'shop-worker': { ...MAIN_LINK, branch: 'staging' },
        'other-app': { ...MAIN_LINK, source: 'https://github.com/someone/else' },
      },
      pulls: { 2: { head_branch: 'changes' } },
    });

  it('by discovery: a push to main deploys the apps that follow main, and only those; `apps` lists them', async (t) => {
    const w = await world(t);
    const r = await run(recipe('Monorepo with several apps #1'), push('main'), w);
    const a = only(r);
    expect(a.code).toBe(0);
    expect(deploysOf(w.fake).sort()).toEqual([
      'shop-api manual_deploy main success',
      'shop-front manual_deploy main success',
    ]);
    expect(
      JSON.parse(a.outputs.apps!)
        .map((x: { app: string }) => x.app)
        .sort(),
    ).toEqual(['shop-api', 'shop-front']);
    expect(r.jobs[0]!.steps.find((s) => s.script)!.script!.env.APPS).toBe(a.outputs.apps);
  });

  it('by discovery: staging deploys shop-worker; a pull request makes the review apps of the apps on its base branch', async (t) => {
    const w = await world(t);
    expect(only(await run(recipe('Monorepo with several apps #1'), push('staging'), w)).code).toBe(0);
    expect(deploysOf(w.fake)).toEqual(['shop-worker manual_deploy staging success']);
    const p = only(await run(recipe('Monorepo with several apps #1'), pr('opened'), w));
    expect(p.code).toBe(0);
    expect(
      writes(w.fake)
        .filter((x) => x.path.endsWith('/manual_review_app'))
        .map((x) => x.path)
        .sort(),
    ).toEqual([
      '/v1/apps/shop-api/scm_repo_link/manual_review_app',
      '/v1/apps/shop-front/scm_repo_link/manual_review_app',
    ]);
  });

  it("by discovery, later: the review apps' own links (same repository) are left out of a push", async (t) => {
    const w = await world(t);
    expect(only(await run(recipe('Monorepo with several apps #1'), pr('opened'), w)).code).toBe(0);
    const before = deploysOf(w.fake).length;
    const a = only(await run(recipe('Monorepo with several apps #1'), push('main'), w));
    expect(a.code).toBe(0);
    expect(deploysOf(w.fake).slice(before).sort()).toEqual([
      'shop-api manual_deploy main success',
      'shop-front manual_deploy main success',
    ]);
    expect(writes(w.fake).filter((x) => /-pr2\/scm_repo_link$/.test(x.path) && x.method !== 'PATCH')).toEqual([]);
  });

  it('the matrix: one job per app, on push and on pull request', async (t) => {
    const w = await world(t);
    const r = await run(recipe('Monorepo with several apps #2'), push('main'), w);
    expect(r.jobs.map((j) => [j.matrix?.app, j.steps[0]!.action!.code])).toEqual([
      ['shop-api', 0],
      ['shop-front', 0],
    ]);
    expect(deploysOf(w.fake).sort()).toEqual([
      'shop-api manual_deploy main success',
      'shop-front manual_deploy main success',
    ]);
    const p = await run(recipe('Monorepo with several apps #2'), pr('opened'), w);
    expect(p.jobs.map((j) => j.steps[0]!.action!.outputs['review-app'])).toEqual(['shop-api-pr2', 'shop-front-pr2']);
  });
});

describe.concurrent('Pull requests from forks', () => {
  const wf = () => recipe('Pull requests from forks #1');
  const LATER = 'ffffeeeeddddccccbbbbaaaa0000111122223333';
  const fork = (action: string, label?: string) =>
    pr(
      action,
      (p) => {
        p.pull_request.head = {
          ...p.pull_request.head,
          ref: 'patch-1',
          repo: { full_name: 'someone/Hello-World', fork: true },
        };
        if (label) {
          p.label = { name: label };
          p.pull_request.labels = [{ name: label }];
        }
      },
      'pull_request_target',
    );
  const world = (t: TestContext, extra: FakeOptions = {}) =>
    fakes2(t, {
      links: { 'my-app': MAIN_LINK },
      pulls: { 2: { head_branch: 'patch-1', fork: 'someone/Hello-World' } },
      ...extra,
    });

  it('a push to the fork (synchronize) starts nothing', async (t) => {
    const w = await world(t);
    expect((await run(wf(), fork('synchronize'), w)).started).toBe(false);
  });

  it('another label: the job is skipped, nothing reaches Scalingo', async (t) => {
    const w = await world(t);
    const r = await run(wf(), fork('labeled', 'bug'), w);
    expect(r.jobs).toEqual([expect.objectContaining({ name: 'review-app', skipped: true })]);
    expect(w.fake.requests).toEqual([]);
  });

  it("the label: the review app made and deployed with the fork's branch, bare; the label taken off", async (t) => {
    const w = await world(t, { branchHeads: { 'patch-1': SHA } });
    const r = await run(wf(), fork('labeled', 'deploy-review-app'), w);
    const a = only(r);
    expect(a.code).toBe(0);
    expect(
      writes(w.fake)
        .filter((x) => x.method === 'POST')
        .map((x) => [x.path, x.body]),
    ).toEqual([
      ['/v1/apps/my-app/scm_repo_link/manual_review_app', { pull_request_id: 2 }],
      ['/v1/apps/my-app-pr2/scm_repo_link/manual_deploy', { branch: 'patch-1' }],
    ]);
    expect(a.stdout).not.toContain('Unreviewed commit');
    const gh = r.jobs[0]!.steps.find((s) => s.script)!.script!;
    expect(gh.run).toContain('gh pr edit "$PR" --repo "$GITHUB_REPOSITORY" --remove-label deploy-review-app');
    expect(gh.env.PR).toBe('2');
  });

  it('a push after the label: Scalingo builds the newer head, and the step warns', async (t) => {
    const w = await world(t, { branchHeads: { 'patch-1': LATER } });
    const a = only(await run(wf(), fork('labeled', 'deploy-review-app'), w));
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(
      /::warning title=Unreviewed commit::Review app my-app-pr2 built commit ffffeee, not ec26c3e/,
    );
  });

  it('closed: nothing deployed, and the gh step does not run', async (t) => {
    const w = await world(t);
    w.fake.closePull(2);
    const r = await run(wf(), fork('closed'), w);
    expect(only(r).code).toBe(0);
    expect(deploysOf(w.fake)).toEqual([]);
    expect(r.jobs[0]!.steps.filter((s) => s.script)).toEqual([]);
  });
});

describe.concurrent('Concurrency', () => {
  it('push and pull request both run the one step', async (t) => {
    const w = await fakes2(t, { links: { 'my-app': MAIN_LINK }, pulls: { 2: { head_branch: 'changes' } } });
    expect(only(await run(recipe('Concurrency #1'), push('main'), w)).outputs['deployment-status']).toBe('success');
    expect(only(await run(recipe('Concurrency #1'), pr('opened'), w)).outputs['review-app']).toBe('my-app-pr2');
  });
});

describe.concurrent('Dry run before a change', () => {
  it('workflow_dispatch: reads only; `link` would-update, and the log names the branch it would deploy', async (t) => {
    const w = await fakes2(t, { links: { 'my-app': { ...MAIN_LINK, auto_deploy_enabled: true } } });
    const a = only(
      await run(
        recipe('Dry run before a change #1'),
        { event: 'workflow_dispatch', ref: 'refs/heads/main', payload: { ref: 'refs/heads/main', inputs: {} } },
        w,
      ),
    );
    expect(a.code).toBe(0);
    expect(writes(w.fake)).toEqual([]);
    expect(a.outputs.link).toBe('would-update');
    expect(a.stdout).toMatch(/production/);
  });
});
