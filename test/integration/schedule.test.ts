/**
 * Many apps at the speed Scalingo allows, in-process against the fake, with Scalingo's limits scaled down in time
 * (60 requests per window, the fake answering 429 past them): apps started as the budget allows, triggers first,
 * few requests an app, the deadline held for the whole step, waits said, every page of a long list read.
 */
import { describe, expect, it } from 'vitest';
import { byRef, webhook } from '../support/payloads.js';
import { calls, IN_STEP_LINK, onGitHub, world, type FakeOptions } from './harness.js';

const onPush = (branch: string) =>
  onGitHub('push', `refs/heads/${branch}`, { ...webhook('push', byRef('refs/heads/')), ref: `refs/heads/${branch}` });
const names = (n: number, prefix = 'app') =>
  Array.from({ length: n }, (_, i) => `${prefix}-${String(i + 1).padStart(3, '0')}`);

/** `n` apps, each linked as the step wants it, following master. */
function apps(list: string[], extra: FakeOptions = {}): FakeOptions {
  return {
    apps: Object.fromEntries(list.map((a) => [a, {}])),
    links: Object.fromEntries(list.map((a) => [a, IN_STEP_LINK])),
    ...extra,
  };
}

const statuses = (f: { requests: { status?: number }[] }) => f.requests.map((r) => r.status);

describe("many apps under Scalingo's request budget (scaled: 60 requests per window)", () => {
  it('ten apps: all started at once, each deploy sent in the first round trips, at most 3.5 requests an app, no 429', async () => {
    const list = names(10);
    const windowMs = 4000;
    const w = await world({
      ...apps(list),
      rateLimitPerMinute: 60,
      rateLimitWindowMs: windowMs,
      deployScript: { durationMs: 600, final: 'success' },
    });
    const started = Date.now();
    const r = await w.step({
      ctx: onPush('master'),
      inputs: { app: list.join(','), 'poll-interval-seconds': '5' },
      deps: { rateLimit: { limit: 60, windowMs: windowMs + 300 } },
    });

    expect(r.step.ok).toBe(true);
    expect(statuses(w.fake)).not.toContain(429);
    // Every deploy sent before any deployment could end: no app waited for another.
    const deploys = w.fake.requests.filter((q) => q.path.endsWith('/manual_deploy')).map((q) => q.at - started);
    expect(deploys).toHaveLength(10);
    expect(Math.max(...deploys)).toBeLessThan(600);
    expect(r.step.requests / list.length).toBeLessThanOrEqual(3.5);
    // The links came from one list, not a read each.
    expect(calls(w.fake).filter((c) => /GET \/v1\/apps\/[^/]+\/scm_repo_link$/.test(c))).toEqual([]);
    expect(calls(w.fake).filter((c) => c.includes('/v1/scm_repo_links'))).toHaveLength(1);
  });

  it('twenty-five apps: the budget starts as many as it can hold at once, the rest as it frees; never a 429', async () => {
    const list = names(25);
    const windowMs = 2000;
    const w = await world({
      ...apps(list),
      rateLimitPerMinute: 60,
      rateLimitWindowMs: windowMs,
      deployScript: { durationMs: 300, final: 'success' },
    });
    // Node's process warnings (a listener count past 10 on the step's signal, ...) would land in the user's log.
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    const r = await w
      .step({
        ctx: onPush('master'),
        inputs: { app: list.join(','), 'timeout-minutes': '1', 'poll-interval-seconds': '5' },
        deps: { rateLimit: { limit: 60, windowMs: windowMs + 200 } },
      })
      .finally(() => process.off('warning', onWarning));

    expect(warnings).toEqual([]);
    expect(r.step.ok).toBe(true);
    expect(statuses(w.fake)).not.toContain(429);
    expect(r.step.requests / list.length).toBeLessThanOrEqual(3.5);
    // No 60 requests in any window of the fake's.
    const times = w.fake.requests.map((q) => q.at).sort((a, b) => a - b);
    for (let i = 60; i < times.length; i++) expect(times[i]! - times[i - 60]!).toBeGreaterThanOrEqual(windowMs);
    expect(r.step.runs.every((x) => x.outcome === 'success')).toBe(true);
  });

  it("says once per wait that the step's own budget holds requests back, and how long", async () => {
    const list = names(3);
    const w = await world({ ...apps(list), deployScript: ['queued', 'success'] });
    // A budget of 7 requests per 3.5 s: the step's eleven requests wait for it once.
    const r = await w.step({
      ctx: onPush('master'),
      inputs: { app: list.join(','), logs: 'false', 'poll-interval-seconds': '0.05' },
      deps: { rateLimit: { limit: 7, windowMs: 3500 } },
    });

    expect(r.step.ok).toBe(true);
    const waits = r.lines.filter((l) => l.startsWith("Scalingo's request budget"));
    expect(waits).toHaveLength(1);
    expect(waits[0]).toMatch(
      /^Scalingo's request budget \(7 requests a minute, this step's 3 apps together\): \d+ request\(s\) wait, about [34] s for the next$/,
    );
  });
});

describe('a poll far faster than Scalingo allows', () => {
  it('against a local API at 0.02 s: slows down as the budget fills, never empties it, and reports a 2 s deployment as 2 s', async () => {
    const w = await world({
      links: { 'my-app': IN_STEP_LINK },
      rateLimitPerMinute: 60,
      deployScript: { durationMs: 2000, final: 'success' },
      stream: false,
    });
    const r = await w.run({ ctx: onPush('master'), inputs: { logs: 'false', 'poll-interval-seconds': '0.02' } });

    expect(r.report.ok).toBe(true);
    expect(statuses(w.fake)).not.toContain(429);
    const d = r.report.deployment!;
    expect(d.endedAt! - d.startedAt).toBeLessThan(4500);
    expect(w.fake.requests.length).toBeLessThan(60);
  });
});

describe('the deadline holds for the whole step, budget waits included', () => {
  it('a hundred apps and a 3 s deadline against a Scalingo that answers at once: ends within seconds of it; apps the budget could not start say so', async () => {
    const list = names(100);
    const w = await world({ ...apps(list), deployScript: { durationMs: 400, final: 'success' } });
    const started = Date.now();
    // Scalingo's budget scaled: 60 requests per 10 s; the deadline, 3 s.
    const r = await w.step({
      ctx: onPush('master'),
      inputs: { app: list.join(','), 'timeout-minutes': '0.05' },
      deps: { rateLimit: { limit: 60, windowMs: 10_000 } },
    });
    const took = Date.now() - started;

    expect(took).toBeLessThan(3000 + 2500);
    expect(r.step.ok).toBe(false);
    const outcomes = r.step.runs.map((x) => x.outcome);
    // Those the budget held are timed out, saying why; none says Scalingo did not answer.
    expect(outcomes.filter((o) => o === 'success').length).toBeGreaterThanOrEqual(15);
    expect(r.step.runs.filter((x) => x.outcome !== 'success').every((x) => x.outcome === 'timed-out')).toBe(true);
    expect(
      r.step.runs.some((x) => /^Stopped by the deadline while waiting for the step's request budget/.test(x.message)),
    ).toBe(true);
    expect(r.step.runs.map((x) => x.message).join('\n')).not.toContain('Scalingo did not answer');
    // Nothing was sent past the deadline.
    expect(Math.max(...w.fake.requests.map((q) => q.at)) - started).toBeLessThan(3000 + 500);
  }, 20_000);
});

describe('discovery over a long list of links', () => {
  it("6,000 links: every page read (with progress lines), the repository's apps on the last page found and deployed", async () => {
    const links: NonNullable<FakeOptions['links']> = {};
    for (let i = 0; i < 6000; i++)
      links[`other-${i}`] = { source: `https://github.com/someone-${i % 50}/repo-${i}`, branch: 'master' };
    links['late-app'] = IN_STEP_LINK;
    const w = await world({
      apps: Object.fromEntries(Object.keys(links).map((n) => [n, {}])),
      links,
      deployScript: ['queued', 'success'],
    });
    const r = await w.step({
      ctx: onPush('master'),
      inputs: { app: '', logs: 'false' },
      deps: { rateLimit: { limit: 60, windowMs: 150 } },
    });

    expect(r.step.ok).toBe(true);
    expect(r.step.discovery).toMatchObject({ pages: 121, links: 6001 });
    expect(r.step.runs.map((x) => [x.parentApp, x.outcome])).toEqual([['late-app', 'success']]);
    expect(r.lines).toContain('Read 20 of 121 pages of links');
    expect(r.lines).toContain('Read 120 of 121 pages of links');
  }, 30_000);
});
