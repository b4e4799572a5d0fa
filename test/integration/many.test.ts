/**
 * Several apps in one step, in-process against the fake Scalingo: apps given in `app`, or found through the list of
 * links (page after page, other repositories' links mixed in), each run concurrently with one token exchange and one
 * request budget for the whole step.
 */
import { describe, expect, it } from 'vitest';
import { byAction, byRef, webhook } from '../support/payloads.js';
import { calls, IN_STEP_LINK, onGitHub, REPO, world, type FakeOptions } from './harness.js';

const push = () => webhook('push', byRef('refs/heads/'));
const pr = (action: string) => webhook('pull_request', byAction(action));
const onPush = (branch: string) => onGitHub('push', `refs/heads/${branch}`, { ...push(), ref: `refs/heads/${branch}` });
/** Stream-less following, at the harness's fast poll. */
const FAST = { logs: 'false' };

/** `count` links of other repositories, and the given apps linked to this one, interleaved. */
function manyLinks(count: number, ours: Record<string, string>): Pick<FakeOptions, 'apps' | 'links'> {
  const links: NonNullable<FakeOptions['links']> = {};
  const names = Object.keys(ours);
  for (let i = 0; i < count; i++) {
    links[`other-${i}`] = {
      source: `https://github.com/someone-${i % 7}/${i % 2 ? 'hello-world' : `repo-${i}`}`,
      branch: 'master',
    };
    const mine = names[Math.floor((i * names.length) / count)];
    if (mine && i === Math.floor((names.indexOf(mine) * count) / names.length) + 3)
      links[mine] = { ...IN_STEP_LINK, branch: ours[mine]! };
  }
  for (const name of names) links[name] ??= { ...IN_STEP_LINK, branch: ours[name]! };
  // Same owner and name on another host: not this repository.
  links['elsewhere'] = { source: 'https://gitlab.com/Codertocat/Hello-World', branch: 'master' };
  return { apps: Object.fromEntries(Object.keys(links).map((n) => [n, {}])), links };
}

const listCalls = (lines: string[]) => lines.filter((c) => c.includes('/v1/scm_repo_links'));

describe('discovery', () => {
  it("reads every page of links, keeps this repository's, and deploys only the apps that follow the pushed branch", async () => {
    const w = await world({
      ...manyLinks(120, { 'api-prod': 'master', 'web-prod': 'master', 'api-staging': 'develop' }),
      deployScript: ['queued', 'building', 'success'],
    });
    const r = await w.step({ ctx: onPush('master'), inputs: { app: '', ...FAST } });

    expect(r.step.ok).toBe(true);
    // 124 links at 50 a page: three pages, each asked once, in order.
    expect(listCalls(calls(w.fake))).toEqual([
      'api GET /v1/scm_repo_links?page=1&per_page=50',
      'api GET /v1/scm_repo_links?page=2&per_page=50',
      'api GET /v1/scm_repo_links?page=3&per_page=50',
    ]);
    expect(r.step.discovery).toMatchObject({ source: REPO, pages: 3, links: 124, branch: 'master' });
    // Links name apps by id: only the chosen ones are looked up by name.
    expect(r.step.discovery?.linked.map((l) => l.branch).sort()).toEqual(['develop', 'master', 'master']);
    expect(r.step.discovery?.linked.map((l) => l.app)).toEqual(expect.arrayContaining(['api-prod', 'web-prod']));
    expect(calls(w.fake).filter((c) => /^api GET \/v1\/apps\/[0-9a-f]{24}$/.test(c))).toHaveLength(2);
    const deployed = w.fake
      .mutating()
      .filter((q) => q.path.endsWith('/manual_deploy'))
      .map((q) => q.path)
      .sort();
    expect(deployed).toEqual([
      '/v1/apps/api-prod/scm_repo_link/manual_deploy',
      '/v1/apps/web-prod/scm_repo_link/manual_deploy',
    ]);
    // Discovery never creates a link.
    expect(w.fake.mutating().filter((q) => q.path.endsWith('/scm_repo_link'))).toEqual([]);
    // One token exchange for the whole step.
    expect(calls(w.fake).filter((c) => c.endsWith('/v1/tokens/exchange'))).toHaveLength(1);
    const apps = JSON.parse(r.outputs.apps!) as { app: string; 'deployment-status': string; link: string }[];
    expect(apps.map((a) => [a.app, a['deployment-status'], a.link]).sort()).toEqual([
      ['api-prod', 'success', 'unchanged'],
      ['web-prod', 'success', 'unchanged'],
    ]);
    // Several apps: the single-app outputs are empty.
    expect(r.outputs.app).toBe('');
    expect(r.lines.some((l) => l.startsWith('[api-prod] '))).toBe(true);
    expect(r.lines.some((l) => l.startsWith('[web-prod] '))).toBe(true);
    expect(r.step.requests).toBe(w.fake.requests.length);
  });

  it('two apps on two branches: a push to develop deploys only the one following develop, with the single-app outputs', async () => {
    const w = await world({
      apps: { prod: {}, staging: {} },
      links: { prod: { ...IN_STEP_LINK, branch: 'master' }, staging: { ...IN_STEP_LINK, branch: 'develop' } },
    });
    const r = await w.step({ ctx: onPush('develop'), inputs: { app: '', ...FAST } });

    expect(r.step.ok).toBe(true);
    expect(w.fake.mutating().map((q) => `${q.method} ${q.path}`)).toEqual([
      'POST /v1/apps/staging/scm_repo_link/manual_deploy',
    ]);
    expect(r.outputs.app).toBe('staging');
    expect(r.outputs['deployment-status']).toBe('success');
    expect(JSON.parse(r.outputs.apps!)).toHaveLength(1);
  });

  it('a pull request: the review apps of the apps that follow its base branch', async () => {
    const payload = pr('opened');
    const base = (payload.pull_request as { base: { ref: string } }).base.ref;
    const w = await world({
      apps: { front: {}, back: {}, docs: {} },
      links: {
        front: { ...IN_STEP_LINK, branch: base },
        back: { ...IN_STEP_LINK, branch: base },
        docs: { ...IN_STEP_LINK, branch: 'gh-pages' },
      },
    });
    const r = await w.step({
      ctx: onGitHub('pull_request', 'refs/pull/2/merge', payload),
      inputs: { app: '', ...FAST },
    });

    expect(r.step.ok).toBe(true);
    const created = w.fake
      .mutating()
      .filter((q) => q.path.endsWith('/manual_review_app'))
      .map((q) => q.path)
      .sort();
    expect(created).toEqual([
      '/v1/apps/back/scm_repo_link/manual_review_app',
      '/v1/apps/front/scm_repo_link/manual_review_app',
    ]);
    const apps = JSON.parse(r.outputs.apps!) as { app: string; 'review-app': string }[];
    expect(apps.map((a) => [a.app, a['review-app']]).sort()).toEqual([
      ['back', 'back-pr2'],
      ['front', 'front-pr2'],
    ]);
    expect(r.started.map((e) => e.reviewApp).sort()).toEqual(['back-pr2', 'front-pr2']);
  });

  it('nothing linked to this repository: fails, naming the repository, whose links were searched and where, and what to do', async () => {
    const w = await world({
      apps: { a: {}, b: {} },
      links: { a: { source: 'https://github.com/someone/else', branch: 'master' } },
    });
    w.fake.fault({
      kind: 'status',
      service: 'auth',
      method: 'GET',
      path: '/v1/users/self',
      status: 200,
      body: { user: { id: 'us-1', username: 'deploy-bot', email: 'bot@example.com' } },
    });
    const r = await w.step({ ctx: onPush('master'), inputs: { app: '', ...FAST } });

    expect(r.step.ok).toBe(false);
    expect(r.step.message).toBe(
      `No Scalingo app is linked to ${REPO} among the links made by the token's user deploy-bot in osc-fr1 (Scalingo's list of links holds only those): set \`app\` to the app(s) to deploy, or link an app to this repository (Scalingo dashboard, or \`command: link\` with \`app\`).`,
    );
    expect(r.step.message).not.toContain('bot@example.com');
    expect(w.fake.mutating()).toEqual([]);
    expect(JSON.parse(r.outputs.apps!)).toEqual([]);
  });

  it("nothing linked, the token's user unreadable: the same message, without the name", async () => {
    const w = await world({ apps: { a: {} }, links: {} });
    w.fake.fault({
      kind: 'status',
      service: 'auth',
      method: 'GET',
      path: '/v1/users/self',
      status: 500,
      times: Infinity,
    });
    const r = await w.step({
      ctx: onPush('master'),
      inputs: { app: '', ...FAST },
      deps: { retry: { baseDelayMs: 5, maxDelayMs: 10 } },
    });
    expect(r.step.message).toMatch(
      /^No Scalingo app is linked to \S+ among the links made by the token's user in osc-fr1 \(Scalingo's list/,
    );
  });

  it("review apps' own links, in the list of links and pointing at the same repository, are never taken for managed apps", async () => {
    // A review app whose link follows the pull request's branch, bare, as the push: its parent's list tells.
    const w = await world({
      links: { 'my-app': IN_STEP_LINK },
      reviewApps: [{ pr: 2, head_branch: 'changes' }],
      deployScript: ['queued', 'success'],
    });
    w.fake.state.links['my-app-pr2']!.branch = 'changes';
    const r = await w.step({ ctx: onPush('changes'), inputs: { app: '', ...FAST } });

    expect(r.step).toMatchObject({ ok: true, outcome: 'nothing-to-deploy' });
    expect(r.log).toContain(
      'Left out: my-app-pr2 is a review app of my-app (its review app list says so): a step never manages it',
    );
    expect(w.fake.mutating()).toEqual([]);
  });

  it("`command: link` with no app never re-points a review app's link (one following `owner:branch`)", async () => {
    const w = await world({
      links: { 'my-app': IN_STEP_LINK },
      reviewApps: [
        { pr: 2, head_branch: 'changes' },
        { pr: 3, head_branch: 'fix' },
      ],
    });
    // Scalingo stores `owner:branch`; were it the bare branch, the parent's review app list would still tell.
    expect(w.fake.state.links['my-app-pr2']!.branch).toBe('Codertocat:changes');
    w.fake.state.links['my-app-pr3']!.branch = 'fix';
    const r = await w.step({
      ctx: onPush('master'),
      inputs: { app: '', command: 'link', branch: 'main', 'auto-deploy': 'true', ...FAST },
    });

    expect(r.step.ok).toBe(true);
    // my-app-pr2 follows a head label: left out at once; my-app-pr3 by its parent's list.
    expect(r.log).toMatch(
      /Left out: 1 review app\(s\) linked to it too \(\S+ \(Codertocat:changes\)\): a step never manages them/,
    );
    expect(r.log).toContain(
      'Left out: my-app-pr3 is a review app of my-app (its review app list says so): a step never manages it',
    );
    expect(w.fake.mutating().map((q) => `${q.method} ${q.path}`)).toEqual(['PATCH /v1/apps/my-app/scm_repo_link']);
    expect(w.fake.state.links['my-app-pr2']).toMatchObject({ branch: 'Codertocat:changes', auto_deploy_enabled: true });
  });

  it('apps linked, none following this branch: passes, saying which app follows which branch', async () => {
    const w = await world({
      apps: { prod: {}, staging: {} },
      links: { prod: { ...IN_STEP_LINK, branch: 'master' }, staging: { ...IN_STEP_LINK, branch: 'develop' } },
    });
    const r = await w.step({ ctx: onPush('feature-x'), inputs: { app: '', ...FAST } });

    expect(r.step.ok).toBe(true);
    expect(r.step.outcome).toBe('nothing-to-deploy');
    expect(r.step.message).toBe(
      `No app linked to ${REPO} follows feature-x (the pushed branch): nothing deployed. Apps linked: prod (master), staging (develop).`,
    );
    expect(w.fake.mutating()).toEqual([]);
  });

  it('a dry run lists what it would do for each app, and changes nothing', async () => {
    const w = await world({
      apps: { prod: {}, web: {} },
      links: { prod: { ...IN_STEP_LINK }, web: { ...IN_STEP_LINK, auto_deploy_enabled: true } },
    });
    const r = await w.step({
      ctx: onPush('master'),
      inputs: { app: '', 'dry-run': 'true', 'auto-deploy': 'false', ...FAST },
    });

    expect(r.step.ok).toBe(true);
    expect(w.fake.mutating()).toEqual([]);
    expect(r.step.runs.map((x) => [x.parentApp, x.outcome, x.link?.result]).sort()).toEqual([
      ['prod', 'dry-run', 'unchanged'],
      ['web', 'dry-run', 'would-update'],
    ]);
    expect(r.lines.filter((l) => /^\[(prod|web)\] /.test(l)).length).toBeGreaterThan(2);
  });
});

describe('several apps given', () => {
  it('one failing: the others are followed to their end, and the step fails naming the one', async () => {
    const w = await world({
      apps: { a1: {}, a2: {}, a3: {} },
      links: { a1: IN_STEP_LINK, a2: IN_STEP_LINK, a3: IN_STEP_LINK },
      deployScripts: {
        a2: ['queued', 'building', 'build-error'],
        a3: ['queued', 'building', 'building', 'building', 'pushing', 'starting', 'success'],
      },
    });
    const r = await w.step({ ctx: onPush('master'), inputs: { app: 'a1, a2\na3', ...FAST } });

    expect(r.step.ok).toBe(false);
    expect(r.step.runs.map((x) => [x.parentApp, x.outcome, x.deployment?.status])).toEqual([
      ['a1', 'success', 'success'],
      ['a2', 'failed', 'build-error'],
      ['a3', 'success', 'success'],
    ]);
    expect(r.step.message).toMatch(/^1 of 3 apps failed: a2: Deployment \S+ of a2 ended with status build-error/);
    expect(calls(w.fake).filter((c) => c.endsWith('/v1/tokens/exchange'))).toHaveLength(1);
    expect(
      JSON.parse(r.outputs.apps!).map(
        (a: { app: string; 'deployment-status': string }) => `${a.app}:${a['deployment-status']}`,
      ),
    ).toEqual(['a1:success', 'a2:build-error', 'a3:success']);
  });

  it('six apps under a rate-limited Scalingo (scaled: 60 requests per 3 s): no 429, never more than 60 in a window', async () => {
    const names = ['s1', 's2', 's3', 's4', 's5', 's6'];
    const windowMs = 3000;
    // The product counts 61 s for Scalingo's 60: a margin for the time requests take to arrive. Scaled down, the
    // margin must still cover the arrival jitter of a loaded test machine.
    const w = await world({
      apps: Object.fromEntries(names.map((n) => [n, {}])),
      links: Object.fromEntries(names.map((n) => [n, IN_STEP_LINK])),
      deployScript: ['queued', ...Array<string>(12).fill('building'), 'pushing', 'starting', 'success'],
      rateLimitPerMinute: 60,
      rateLimitWindowMs: windowMs,
    });
    const r = await w.step({
      ctx: onPush('master'),
      inputs: { app: names.join(','), ...FAST },
      deps: { rateLimit: { limit: 60, windowMs: windowMs + 600 } },
    });

    expect(r.step.ok).toBe(true);
    expect(r.step.runs.map((x) => x.deployment?.status)).toEqual(names.map(() => 'success'));
    const sent = w.fake.requests;
    expect(sent.length).toBeGreaterThan(60);
    expect(sent.filter((q) => q.status === 429)).toEqual([]);
    const at = sent.map((q) => q.at).sort((a, b) => a - b);
    for (let i = 60; i < at.length; i++) expect(at[i]! - at[i - 60]!).toBeGreaterThanOrEqual(windowMs);
  }, 30_000);
});
