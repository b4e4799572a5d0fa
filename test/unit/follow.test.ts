import { describe, expect, it } from 'vitest';
import { follow } from '../../src/core/phases/follow.js';
import { sleep } from '../../src/scalingo/http.js';
import { ScalingoApiError } from '../../src/scalingo/errors.js';
import type { Deployment } from '../../src/scalingo/types.js';

/** A virtual clock: sleeping advances time instantly, so schedules can be checked exactly. */
function clock(start = 1_000_000) {
  let t = start;
  return {
    now: () => t,
    sleep: async (ms: number) => {
      t += ms;
    },
    advance: (ms: number) => {
      t += ms;
    },
  };
}

function scripted(statuses: (string | Error)[], c: ReturnType<typeof clock>, latencyMs = 0) {
  const polls: number[] = [];
  let i = 0;
  return {
    polls,
    get: async (): Promise<Deployment> => {
      polls.push(c.now());
      c.advance(latencyMs);
      const next = statuses[Math.min(i++, statuses.length - 1)]!;
      if (next instanceof Error) throw next;
      return { id: 'd1', status: next };
    },
  };
}

describe('follow', () => {
  it('polls at a steady interval, reports each status once, and ends on success', async () => {
    const c = clock();
    const s = scripted(['queued', 'building', 'building', 'building', 'pushing', 'starting', 'success'], c, 200);
    const seen: [string, number][] = [];
    const r = await follow({
      initial: { id: 'd1', status: 'queued' },
      getDeployment: s.get,
      intervalMs: 5000,
      deadline: c.now() + 600_000,
      now: c.now,
      sleep: c.sleep,
      onStatus: (st, e) => seen.push([st, e]),
      onRetry: () => {},
    });
    expect(r.outcome).toBe('success');
    expect(r.polls).toBe(7);
    expect(seen.map(([st]) => st)).toEqual(['queued', 'building', 'pushing', 'starting', 'success']);
    // one poll every 5 s from the start, whatever the answer's latency
    expect(s.polls.map((t) => t - 1_000_000)).toEqual([5000, 10000, 15000, 20000, 25000, 30000, 35000]);
  });

  it('does not poll at all when the deployment is already finished', async () => {
    const c = clock();
    const s = scripted([], c);
    const r = await follow({
      initial: { id: 'd1', status: 'build-error' },
      getDeployment: s.get,
      intervalMs: 5000,
      deadline: c.now() + 1000,
      now: c.now,
      sleep: c.sleep,
      onStatus: () => {},
      onRetry: () => {},
    });
    expect(r).toMatchObject({ outcome: 'failed', polls: 0 });
  });

  it.each(['build-error', 'crashed-error', 'timeout-error', 'hook-error', 'aborted', 'exploded'])(
    'counts %s as a failure',
    async (status) => {
      const c = clock();
      const s = scripted(['building', status], c);
      const r = await follow({
        initial: { id: 'd1', status: 'queued' },
        getDeployment: s.get,
        intervalMs: 1000,
        deadline: c.now() + 60_000,
        now: c.now,
        sleep: c.sleep,
        onStatus: () => {},
        onRetry: () => {},
      });
      expect(r).toMatchObject({ outcome: 'failed', deployment: { status } });
    },
  );

  it('times out at the deadline, with a last poll at the deadline', async () => {
    const c = clock();
    const s = scripted(['building'], c);
    const r = await follow({
      initial: { id: 'd1', status: 'queued' },
      getDeployment: s.get,
      intervalMs: 4000,
      deadline: c.now() + 10_000,
      now: c.now,
      sleep: c.sleep,
      onStatus: () => {},
      onRetry: () => {},
    });
    expect(r.outcome).toBe('timed-out');
    expect(s.polls.map((t) => t - 1_000_000)).toEqual([4000, 8000, 10000]);
  });

  it('makes at most 60 status requests for a 5-minute deployment with the default 5 s interval', async () => {
    const c = clock(0);
    const get = async (): Promise<Deployment> => ({ id: 'd1', status: c.now() >= 300_000 ? 'success' : 'building' });
    let polls = 0;
    const r = await follow({
      initial: { id: 'd1', status: 'queued' },
      getDeployment: () => {
        polls++;
        return get();
      },
      intervalMs: 5000,
      deadline: 900_000,
      now: c.now,
      sleep: c.sleep,
      onStatus: () => {},
      onRetry: () => {},
    });
    expect(r.outcome).toBe('success');
    expect(polls).toBe(60);
  });

  it('rides out transient failures of the status endpoint, and throws on others', async () => {
    const c = clock();
    const down = new ScalingoApiError(503, 'GET', '/v1/apps/a/deployments/d1', 'down');
    const s = scripted([down, down, down, 'success'], c);
    const retries: unknown[] = [];
    const r = await follow({
      initial: { id: 'd1', status: 'building' },
      getDeployment: s.get,
      intervalMs: 1000,
      deadline: c.now() + 60_000,
      now: c.now,
      sleep: c.sleep,
      onStatus: () => {},
      onRetry: (e) => retries.push(e),
    });
    expect(r.outcome).toBe('success');
    expect(retries).toHaveLength(3);

    const gone = new ScalingoApiError(404, 'GET', '/v1/apps/a/deployments/d1', 'deployment not found');
    const s2 = scripted([gone], c);
    await expect(
      follow({
        initial: { id: 'd1', status: 'building' },
        getDeployment: s2.get,
        intervalMs: 1000,
        deadline: c.now() + 60_000,
        now: c.now,
        sleep: c.sleep,
        onStatus: () => {},
        onRetry: () => {},
      }),
    ).rejects.toBe(gone);
  });

  it('stops when cancelled, keeping the last status', async () => {
    const c = clock();
    const controller = new AbortController();
    const s = scripted(['building', 'building'], c);
    const r = await follow({
      initial: { id: 'd1', status: 'queued' },
      intervalMs: 1000,
      deadline: c.now() + 60_000,
      now: c.now,
      signal: controller.signal,
      getDeployment: async () => {
        const d = await s.get();
        controller.abort();
        return d;
      },
      sleep: c.sleep,
      onStatus: () => {},
      onRetry: () => {},
    });
    expect(r).toMatchObject({ outcome: 'cancelled', deployment: { status: 'building' }, polls: 1 });
  });

  it('sleep ends early when its signal aborts', async () => {
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 20);
    await sleep(5000, controller.signal);
    expect(Date.now() - started).toBeLessThan(4000);
  });
});
