/**
 * Following on an injected clock: the deadline and the poll interval are the settings' own (minutes and seconds),
 * yet the test takes milliseconds, and the number of status reads is exact.
 */
import { describe, expect, it } from 'vitest';
import { byRef, webhook } from '../support/payloads.js';
import { IN_STEP_LINK, onGitHub, pollsOf, world, writes } from './harness.js';

/** A clock that only moves when the core sleeps. */
function virtualClock(start = Date.UTC(2026, 0, 1)) {
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}

describe('following on an injected clock', () => {
  it('polls every poll-interval-seconds until timeout-minutes, then times out with the deployment still running', async () => {
    const w = await world({ links: { 'my-app': IN_STEP_LINK }, deployScript: ['queued', 'building'] });
    const clock = virtualClock();
    const r = await w.run({
      ctx: onGitHub('push', 'refs/heads/master', webhook('push', byRef('refs/heads/'))),
      inputs: { 'timeout-minutes': '1', 'poll-interval-seconds': '5' },
      deps: { now: clock.now, sleep: clock.sleep },
    });

    expect(r.report).toMatchObject({ ok: false, outcome: 'timed-out', timedOut: true });
    expect(r.outputs).toMatchObject({ 'deployment-status': 'building', 'timed-out': 'true' });
    expect(writes(w.fake)).toEqual([
      { method: 'POST', path: '/v1/apps/my-app/scm_repo_link/manual_deploy', body: { branch: 'master' } },
    ]);
    expect(new Set(clock.sleeps)).toEqual(new Set([5000]));
    // One read after each 5 s wait, as long as the wait ends by the one-minute deadline: 12 of them.
    expect(clock.sleeps).toHaveLength(12);
    expect(pollsOf(w.fake)).toBe(12);
    const id = w.fake.deploymentsCreated()[0]!.id;
    expect(r.report.message).toBe(
      `Deployment ${id} of my-app was still building after 1 min 00 s (timeout-minutes): it goes on on Scalingo, see https://dashboard.scalingo.com/apps/osc-fr1/my-app/deploy/${id}; raise \`timeout-minutes\` if it needs longer.`,
    );
  });

  it('a deployment that ends in time is followed to success with one read per interval', async () => {
    const w = await world({
      links: { 'my-app': IN_STEP_LINK },
      deployScript: ['queued', 'building', 'building', 'pushing', 'starting', 'success'],
    });
    const clock = virtualClock();
    const r = await w.run({
      ctx: onGitHub('push', 'refs/heads/master', webhook('push', byRef('refs/heads/'))),
      inputs: { 'timeout-minutes': '15', 'poll-interval-seconds': '30' },
      deps: { now: clock.now, sleep: clock.sleep },
    });

    expect(r.report).toMatchObject({ ok: true, outcome: 'success' });
    expect(r.report.deployment).toMatchObject({ status: 'success' });
    // building, building, pushing, starting, success: five reads, each after a 30 s wait.
    expect(clock.sleeps).toEqual([30_000, 30_000, 30_000, 30_000, 30_000]);
    expect(pollsOf(w.fake)).toBe(5);
    expect(r.report.durationMs).toBe(clock.sleeps.length * 30_000);
  });

  it('the retries of a request wait on the same clock, with the backoff of the policy', async () => {
    const w = await world({
      links: { 'my-app': IN_STEP_LINK },
      deployScript: ['queued', 'success'],
      faults: [{ kind: 'status', method: 'GET', path: '/v1/apps/my-app/scm_repo_link', status: 503, times: 2 }],
    });
    const clock = virtualClock();
    const started = Date.now();
    const r = await w.run({
      ctx: onGitHub('push', 'refs/heads/master', webhook('push', byRef('refs/heads/'))),
      inputs: { 'timeout-minutes': '15', 'poll-interval-seconds': '30' },
      deps: { now: clock.now, sleep: clock.sleep },
    });

    expect(r.report).toMatchObject({ ok: true, outcome: 'success' });
    expect(
      w.fake.requests.filter((q) => q.method === 'GET' && q.path === '/v1/apps/my-app/scm_repo_link'),
    ).toHaveLength(3);
    // Two waits of the exponential backoff (0.25-0.5 s, then 0.5-1 s) before the poll's 30 s ones, none in real time.
    const [first, second, ...polls] = clock.sleeps;
    expect(first).toBeGreaterThanOrEqual(250);
    expect(first).toBeLessThanOrEqual(500);
    expect(second).toBeGreaterThanOrEqual(500);
    expect(second).toBeLessThanOrEqual(1000);
    expect(polls).toEqual([30_000]);
    expect(Date.now() - started).toBeLessThan(250);
    expect(r.report.durationMs).toBeCloseTo(
      clock.sleeps.reduce((a, b) => a + b, 0),
      0,
    );
  });
});
