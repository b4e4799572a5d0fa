/**
 * Several apps in one step, the pure parts: the list of apps, which links are this repository's, which apps an
 * event concerns, the shared request budget on a virtual clock, and the `apps` output.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { MockAgent } from 'undici';
import { linksTo, repositoryKey } from '../../src/core/repository.js';
import {
  linkedApps,
  listsApp,
  noneLinkedMessage,
  selectApps,
  suspectedParent,
  withoutReviewApps,
  type LinkedApp,
} from '../../src/core/discovery.js';
import type { CiEvent } from '../../src/core/event.js';
import { prefixed } from '../../src/core/step.js';
import { outputs, type AppReport, type StepReport } from '../../src/core/report.js';
import { parseAppList, parseSettings } from '../../src/core/settings.js';
import { RateLimiter } from '../../src/scalingo/limiter.js';
import { ScalingoClient } from '../../src/scalingo/client.js';
import { GITHUB_TERMS } from '../../src/platform/github/terms.js';
import { parseArgs } from '../../src/platform/cli/args.js';
import { resolveCli } from '../../src/platform/cli/cli.js';
import type { ScmRepoLink } from '../../src/scalingo/types.js';

const SOURCE = 'https://github.com/octo-org/octo-repo';
const link = (app_id: string, branch: string, over: Partial<ScmRepoLink> = {}): ScmRepoLink => ({
  app_id,
  url: 'https://github.com',
  owner: 'octo-org',
  repo: 'octo-repo',
  branch,
  ...over,
});
const apps = (...pairs: [string, string][]): LinkedApp[] =>
  pairs.map(([app, branch]) => ({ app, named: true, link: link(app, branch) }));

describe('the app input', () => {
  it('takes several apps separated by commas, spaces or newlines, each once', () => {
    expect(parseAppList('app', 'api, web\nworker  api,,')).toEqual(['api', 'web', 'worker']);
    expect(parseAppList('app', ' , \n')).toEqual([]);
  });

  it('names the app at fault', () => {
    expect(() => parseAppList('app', 'api, Web')).toThrow('Input `app` has value "Web": allowed: an app name');
  });

  it('gives the step its apps, none for discovery when the repository is known', () => {
    expect(parseSettings((n) => ({ app: 'my-app', 'api-token': 'tk' })[n]).apps).toEqual(['my-app']);
    expect(parseSettings((n) => ({ app: 'a1 b2', 'api-token': 'tk' })[n]).apps).toEqual(['a1', 'b2']);
    expect(parseSettings((n) => ({ 'api-token': 'tk' })[n], { source: SOURCE }).apps).toEqual([]);
  });

  it('on the command line: --app repeated or comma-separated; none in a pipeline finds them', () => {
    const env = {
      SCALINGO_API_TOKEN: 'tk-us-x',
      GITLAB_CI: 'true',
      CI_PIPELINE_SOURCE: 'push',
      CI_COMMIT_BRANCH: 'main',
      CI_PROJECT_URL: SOURCE,
    };
    expect(resolveCli(parseArgs(['--app', 'api', '--app', 'web,worker']), env).settings.apps).toEqual([
      'api',
      'web',
      'worker',
    ]);
    expect(resolveCli(parseArgs([]), env).settings.apps).toEqual([]);
    expect(() => resolveCli(parseArgs(['--command', 'deploy']), { SCALINGO_API_TOKEN: 'tk-us-x' })).toThrow(
      '--app is missing',
    );
  });

  it('still requires an app with no repository to look in, and for unlink', () => {
    expect(() => parseSettings((n) => ({ 'api-token': 'tk' })[n])).toThrow('Input `app` is missing');
    expect(() => parseSettings((n) => ({ 'api-token': 'tk', command: 'unlink' })[n], { source: SOURCE })).toThrow(
      'Input `app` is missing',
    );
  });
});

describe('links of this repository', () => {
  it('match on host, owner and name, case and .git ignored', () => {
    expect(repositoryKey('https://GitHub.com/Octo-Org/Octo-Repo.git/')).toBe('github.com/octo-org/octo-repo');
    expect(linksTo(link('a', 'main', { owner: 'Octo-Org', repo: 'Octo-Repo.git' }), SOURCE)).toBe(true);
    expect(linksTo(link('a', 'main', { url: 'https://gitlab.com' }), SOURCE)).toBe(false);
    expect(linksTo(link('a', 'main', { repo: 'octo-repo-2' }), SOURCE)).toBe(false);
    expect(linksTo(link('a', 'main', { owner: 'other' }), SOURCE)).toBe(false);
    // Without its SCM's URL a link cannot be said to be on the same host.
    expect(linksTo({ app_id: 'a', owner: 'octo-org', repo: 'octo-repo' }, SOURCE)).toBe(false);
  });

  it('name their app by name when the link gives it, else by id, once each', () => {
    const found = linkedApps(
      [
        link('id-1', 'main'),
        link('id-2', 'main', { app_name: 'web' }),
        link('id-3', 'main', { repo: 'other' }),
        link('id-1', 'main'),
        { branch: 'main' },
      ],
      SOURCE,
    );
    expect(found.map((a) => [a.app, a.named])).toEqual([
      ['id-1', false],
      ['web', true],
    ]);
  });
});

describe('the apps an event concerns', () => {
  const linked = apps(['api', 'main'], ['web', 'main'], ['staging', 'develop']);
  const select = (event: CiEvent, command: 'auto' | 'deploy' | 'review-app' | 'link' = 'auto', branch?: string) =>
    selectApps(linked, SOURCE, command, event, branch, GITHUB_TERMS);

  it('push: the apps following the pushed branch', () => {
    const s = select({ kind: 'push', branch: 'develop' });
    expect(s.kind === 'apps' && s.apps.map((a) => a.app)).toEqual(['staging']);
    expect(s.kind === 'apps' && s.branch).toBe('develop');
  });

  it('pull request: the apps following its base branch', () => {
    const s = select({
      kind: 'pull-request',
      action: 'open',
      rawAction: 'opened',
      pr: { number: 7, fork: false, baseBranch: 'main', headBranch: 'feature' },
    });
    expect(s.kind === 'apps' && s.apps.map((a) => a.app)).toEqual(['api', 'web']);
  });

  it("manual run: the apps following the run's branch; on a tag, none", () => {
    const s = select({ kind: 'manual', trigger: 'workflow_dispatch', branch: 'main' });
    expect(s.kind === 'apps' && s.apps.map((a) => a.app)).toEqual(['api', 'web']);
    expect(select({ kind: 'manual', trigger: 'workflow_dispatch', tag: 'v1' }).kind).toBe('none-selected');
  });

  it('command link: every linked app', () => {
    const s = select({ kind: 'push', branch: 'nope' }, 'link');
    expect(s.kind === 'apps' && s.apps.length).toBe(3);
  });

  it('linked apps, none on this branch: says which apps follow which branches', () => {
    const s = select({ kind: 'push', branch: 'feature' });
    expect(s).toEqual({
      kind: 'none-selected',
      message: `No app linked to ${SOURCE} follows feature (the pushed branch): nothing deployed. Apps linked: api (main), web (main), staging (develop).`,
    });
  });

  it('nothing linked: names the repository and says to set app or link an app', () => {
    const s = selectApps([], SOURCE, 'auto', { kind: 'push', branch: 'main' }, undefined, GITHUB_TERMS);
    expect(s.kind).toBe('none-linked');
    expect(s.kind === 'none-linked' && s.message).toMatch(
      /^No Scalingo app is linked to https:\/\/github.com\/octo-org\/octo-repo: set `app`.*link an app/,
    );
    expect(noneLinkedMessage(SOURCE, GITHUB_TERMS, "the links made by the token's user bot in osc-fr1")).toMatch(
      /^No Scalingo app is linked to \S+ among the links made by the token's user bot in osc-fr1 \(Scalingo's list of links holds only those\): set `app`/,
    );
  });
});

describe('the shared request budget', () => {
  /** A virtual clock: a sleep resolves once time has moved on to its end (`run` moves it from wake-up to wake-up). */
  function virtualClock() {
    let t = 0;
    const timers: { at: number; resolve: () => void }[] = [];
    const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
      new Promise((resolve) => {
        if (signal?.aborted) return resolve();
        timers.push({ at: t + ms, resolve });
        signal?.addEventListener('abort', () => resolve(), { once: true });
      });
    /** Lets every pending promise settle, then moves time to the next wake-up, until nothing sleeps. */
    const run = async (): Promise<void> => {
      for (;;) {
        for (let i = 0; i < 20; i++) await Promise.resolve();
        await new Promise((r) => setImmediate(r));
        timers.sort((a, b) => a.at - b.at);
        const next = timers.shift();
        if (!next) return;
        t = Math.max(t, next.at);
        next.resolve();
      }
    };
    return { now: () => t, sleep, run };
  }

  it('lets `limit` requests through at once, then one more each time the oldest leaves the window', async () => {
    const clock = virtualClock();
    const limiter = new RateLimiter({ limit: 3, windowMs: 1000 }, clock);
    const at: number[] = [];
    const all = (async () => {
      for (let i = 0; i < 7; i++) {
        await limiter.acquire();
        at.push(clock.now());
      }
    })();
    await clock.run();
    await all;
    expect(at).toEqual([0, 0, 0, 1000, 1000, 1000, 2000]);
    expect(limiter.delayed).toBe(2);
  });

  it('never lets more than `limit` through in any window, whoever asks', async () => {
    const clock = virtualClock();
    const limiter = new RateLimiter({ limit: 60, windowMs: 60_000 }, clock);
    const sent: number[] = [];
    // Six clients asking at once, 40 requests each.
    const all = Promise.all(
      Array.from({ length: 6 }, async () => {
        for (let i = 0; i < 40; i++) {
          await limiter.acquire();
          sent.push(clock.now());
        }
      }),
    );
    await clock.run();
    await all;
    expect(sent).toHaveLength(240);
    const times = [...sent].sort((a, b) => a - b);
    for (let i = 60; i < times.length; i++) expect(times[i]! - times[i - 60]!).toBeGreaterThanOrEqual(60_000);
  });

  it('gives the next slot to a write before a read, and to a read before one that can wait', async () => {
    const clock = virtualClock();
    const limiter = new RateLimiter({ limit: 1, windowMs: 1000 }, clock);
    await limiter.acquire();
    const order: string[] = [];
    const later = limiter.acquire({ priority: 'later' }).then(() => order.push('later'));
    const read = limiter.acquire({ priority: 'read' }).then(() => order.push('read'));
    const write = limiter.acquire({ priority: 'write' }).then(() => order.push('write'));
    await clock.run();
    await Promise.all([later, read, write]);
    expect(order).toEqual(['write', 'read', 'later']);
  });

  it('sets slots aside for an app: its requests never wait behind others, and what it does not use goes back', async () => {
    const clock = virtualClock();
    const limiter = new RateLimiter({ limit: 5, windowMs: 1000 }, clock);
    const reservation = limiter.reserve(3);
    expect(limiter.free()).toBe(2);
    // Others take the two free slots and wait for more.
    const others = Array.from({ length: 3 }, () => limiter.acquire().then(() => clock.now()));
    // The app's own requests go at once.
    await limiter.acquire({ reservation });
    await limiter.acquire({ reservation });
    expect(reservation.left).toBe(1);
    reservation.release();
    await clock.run();
    expect(await Promise.all(others)).toEqual([0, 0, 0]);
  });

  it('waits for room to start an app, and says when none comes before the deadline', async () => {
    const clock = virtualClock();
    const limiter = new RateLimiter({ limit: 3, windowMs: 1000 }, { ...clock, deadline: 1500 });
    for (let i = 0; i < 3; i++) await limiter.acquire();
    const room = limiter.whenFree(3).then(() => clock.now());
    await clock.run();
    expect(await room).toBe(1000);
    for (let i = 0; i < 3; i++) await limiter.acquire();
    await expect(limiter.whenFree(3)).rejects.toMatchObject({ name: 'BudgetDeadlineError', startedNothing: true });
  });

  it('never sends a request past the deadline: one whose turn cannot come before it fails at once, unsent', async () => {
    const clock = virtualClock();
    const limiter = new RateLimiter({ limit: 2, windowMs: 60_000 }, { ...clock, deadline: 10_000 });
    await limiter.acquire();
    await limiter.acquire();
    await expect(limiter.acquire({ what: 'GET /v1/apps/web' })).rejects.toMatchObject({
      name: 'BudgetDeadlineError',
      what: 'GET /v1/apps/web',
      waitMs: 60_000,
    });
    expect(limiter.inWindow()).toBe(2);
  });

  it('says once per wait how many requests wait, and for how long', async () => {
    const clock = virtualClock();
    const waits: unknown[] = [];
    const limiter = new RateLimiter(
      { limit: 2, windowMs: 60_000 },
      { ...clock, noteAfterMs: 3000, onWait: (w) => waits.push(w) },
    );
    const all = Promise.all(Array.from({ length: 5 }, () => limiter.acquire()));
    await clock.run();
    await all;
    expect(waits).toEqual([{ limit: 2, waiting: 3, waitMs: 60_000 }]);
  });

  it('lets a request whose signal aborts go at once, uncounted', async () => {
    const clock = virtualClock();
    const limiter = new RateLimiter(
      { limit: 1, windowMs: 1000 },
      { now: clock.now, sleep: () => new Promise(() => undefined) },
    );
    await limiter.acquire();
    const controller = new AbortController();
    controller.abort();
    await limiter.acquire({ signal: controller.signal });
    expect(limiter.inWindow()).toBe(1);
  });
});

describe('review apps among the linked apps', () => {
  it("a link following a head label `owner:branch` is a review app's, set apart", () => {
    const found = [...apps(['api', 'main']), { app: 'id-ra', named: false, link: link('id-ra', 'octo-org:feature') }];
    const { managed, reviewApps } = withoutReviewApps(found);
    expect(managed.map((a) => a.app)).toEqual(['api']);
    expect(reviewApps.map((a) => a.app)).toEqual(['id-ra']);
  });

  it('a `<parent>-pr<N>` name only says whose review app list to read; the list tells, by name or id', () => {
    expect(suspectedParent('api-pr12')).toBe('api');
    expect(suspectedParent('api-prod')).toBeUndefined();
    const [ra] = apps(['api-pr12', 'feature']);
    expect(listsApp([{ app_name: 'api-pr12' }], ra!)).toBe(true);
    expect(listsApp([{ app_id: 'api-pr12' }], ra!)).toBe(true);
    expect(listsApp([{ app_name: 'api-pr13' }], ra!)).toBe(false);
  });
});

describe('the step', () => {
  it('marks every line of an app with its name, and makes its groups headed lines', async () => {
    const lines: string[] = [];
    const log = prefixed(
      {
        info: (l) => lines.push(l),
        warning: (l, t) => lines.push(`warn ${t}: ${l}`),
        debug: (l) => lines.push(`debug ${l}`),
        group: async (_t, fn) => fn(),
      },
      'web',
    );
    log.info('hello');
    log.warning('careful', 'Title');
    await log.group('Follow', async () => log.debug('inside'));
    expect(lines).toEqual(['[web] hello', 'warn Title (web): [web] careful', '[web] ▸ Follow', 'debug [web] inside']);
  });

  const run = (app: string, over: Partial<AppReport> = {}): AppReport => ({
    ok: true,
    outcome: 'success',
    message: '',
    parentApp: app,
    region: 'osc-fr1',
    event: 'push',
    timedOut: false,
    notes: [],
    warnings: [],
    requests: 3,
    durationMs: 1,
    app,
    appUrl: `https://${app}.example`,
    link: { result: 'unchanged', changes: [] },
    deployment: { app, id: `d-${app}`, status: 'success', startedAt: 0 },
    ...over,
  });
  const step = (runs: AppReport[]): StepReport => ({
    ok: runs.every((r) => r.ok),
    outcome: 'success',
    message: '',
    event: 'push',
    region: 'osc-fr1',
    dryRun: false,
    runs,
    warnings: [],
    requests: 7,
    durationMs: 1,
  });

  it('outputs: the single-app outputs of the one app, and `apps` always', () => {
    const o = outputs(step([run('api')]));
    expect(o.app).toBe('api');
    expect(o['deployment-id']).toBe('d-api');
    expect(JSON.parse(o.apps)).toEqual([
      {
        app: 'api',
        'review-app': '',
        'app-url': 'https://api.example',
        'deployment-id': 'd-api',
        'deployment-status': 'success',
        link: 'unchanged',
        'git-ref': expect.any(String),
        'timed-out': false,
      },
    ]);
  });

  it('outputs: with several apps, the single-app outputs empty, `timed-out` true when any timed out', () => {
    const o = outputs(step([run('api'), run('web', { ok: false, outcome: 'timed-out', timedOut: true })]));
    expect(o.app).toBe('');
    expect(o['deployment-id']).toBe('');
    expect(o['timed-out']).toBe('true');
    expect(JSON.parse(o.apps).map((a: { app: string; 'timed-out': boolean }) => [a.app, a['timed-out']])).toEqual([
      ['api', false],
      ['web', true],
    ]);
  });
});

describe('the list of links, read by the client', () => {
  const AUTH = 'https://auth.scalingo.com';
  const API = 'https://api.osc-fr1.scalingo.com';
  const TOKEN = 'tk-us-test-0123456789abcdef';
  const JSON_HEADERS = { headers: { 'content-type': 'application/json' } };
  let agent: MockAgent;
  const debug: string[] = [];

  beforeEach(() => {
    agent = new MockAgent();
    agent.disableNetConnect();
    debug.length = 0;
    agent
      .get(AUTH)
      .intercept({ path: '/v1/tokens/exchange', method: 'POST' })
      .reply(200, { token: 'bearer-token-1234' }, JSON_HEADERS);
  });

  const client = () =>
    new ScalingoClient({
      apiUrl: API,
      authUrl: AUTH,
      apiToken: TOKEN,
      requestTimeoutMs: 1000,
      deadline: Date.now() + 60_000,
      userAgent: 'test',
      debug: (m) => debug.push(m),
      onSecret: () => {},
      dispatcher: agent,
    });
  const page = (n: number, links: ScmRepoLink[], pagination: Record<string, unknown> | undefined) =>
    agent
      .get(API)
      .intercept({ path: `/v1/scm_repo_links?page=${n}&per_page=50`, method: 'GET' })
      .reply(200, { scm_repo_links: links, ...(pagination ? { meta: { pagination } } : {}) }, JSON_HEADERS);

  it('follows next_page to the last page', async () => {
    page(1, [link('a', 'main')], { current_page: 1, prev_page: null, next_page: 2, total_pages: 3, total_count: 3 });
    page(2, [link('b', 'main')], { current_page: 2, prev_page: 1, next_page: 3, total_pages: 3, total_count: 3 });
    page(3, [link('c', 'main')], { current_page: 3, prev_page: 2, next_page: null, total_pages: 3, total_count: 3 });
    const r = await client().listLinks();
    expect([r.links.map((l) => l.app_id), r.pages, r.truncated]).toEqual([['a', 'b', 'c'], 3, false]);
  });

  it("never reads more pages than the first answer's total_pages, even when next_page says otherwise", async () => {
    page(1, [link('a', 'main')], { current_page: 1, next_page: 2, total_pages: 2 });
    page(2, [link('b', 'main')], { current_page: 2, next_page: 3, total_pages: 2 });
    const r = await client().listLinks();
    expect([r.links.length, r.pages]).toEqual([2, 2]);
  });

  it('stops on a next_page that does not move forward, and on an answer without pagination (one page)', async () => {
    page(1, [link('a', 'main')], { current_page: 1, next_page: 1, total_pages: 5 });
    expect((await client().listLinks()).pages).toBe(1);
    agent
      .get(AUTH)
      .intercept({ path: '/v1/tokens/exchange', method: 'POST' })
      .reply(200, { token: 'bearer-token-1234' }, JSON_HEADERS);
    page(1, [link('a', 'main'), link('b', 'main')], undefined);
    expect((await client().listLinks()).links).toHaveLength(2);
  });

  it('reads every page the list says it has, far past a hundred, and says each page read', async () => {
    const total = 120;
    for (let n = 1; n <= total; n++)
      page(n, [link(`x${n}`, 'main')], { current_page: n, next_page: n < total ? n + 1 : null, total_pages: total });
    const seen: [number, number | undefined][] = [];
    const r = await client().listLinks({ onPage: (read, of) => seen.push([read, of]) });
    expect([r.pages, r.links.length, r.truncated]).toEqual([total, total, false]);
    expect(seen.at(-1)).toEqual([total, total]);
  });

  it('stops at the guard against a list that never ends, and says the list was cut', async () => {
    for (let n = 1; n <= 3; n++) page(n, [link(`x${n}`, 'main')], { current_page: n, next_page: n + 1 });
    const r = await client().listLinks({ maxPages: 3 });
    expect([r.pages, r.truncated]).toEqual([3, true]);
  });
});
