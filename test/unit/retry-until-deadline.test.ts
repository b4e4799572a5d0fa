/** A read that rides an outage out to the deadline: on a virtual clock, every path of retryUntilDeadline. */
import { describe, expect, it } from 'vitest';
import { retryUntilDeadline, type RetryUntilDeadline } from '../../src/core/retry-until-deadline.js';
import { NetworkError, ScalingoApiError } from '../../src/scalingo/errors.js';

const START = 1_000_000;
const DOWN = new ScalingoApiError(503, 'GET', '/v1/apps/my-app-pr2/deployments', 'down');
const RESET = new NetworkError('GET', '/v1/apps/my-app-pr2/deployments', 'ECONNRESET', false);
const FORBIDDEN = new ScalingoApiError(403, 'GET', '/v1/apps/my-app-pr2/deployments', 'forbidden');

function setup<T>(answer: (n: number) => Promise<T>, more: Partial<RetryUntilDeadline> = {}) {
  let t = START;
  const reads: number[] = [];
  const retried: unknown[] = [];
  const opts: RetryUntilDeadline = {
    now: () => t,
    sleep: async (ms) => {
      t += ms;
    },
    deadline: START + 20_000,
    retryEveryMs: 5000,
    onRetry: (err) => retried.push(err),
    ...more,
  };
  const read = (): Promise<T> => {
    reads.push(t - START);
    return answer(reads.length);
  };
  return { run: () => retryUntilDeadline(read, opts), reads, retried };
}

describe('retryUntilDeadline', () => {
  it('reads once when the answer comes', async () => {
    const s = setup(async () => 'ok');
    expect(await s.run()).toBe('ok');
    expect(s.reads).toEqual([0]);
  });

  it('rides a transient outage out, a retry interval apart', async () => {
    const s = setup(async (n) => (n === 1 ? Promise.reject(RESET) : n < 4 ? Promise.reject(DOWN) : 'ok'));
    expect(await s.run()).toBe('ok');
    expect(s.reads).toEqual([0, 5000, 10_000, 15_000]);
    expect(s.retried).toEqual([RESET, DOWN, DOWN]);
  });

  it('stops at the deadline, the last try at the deadline itself, with the error given', async () => {
    const s = setup(async () => Promise.reject(DOWN), {
      deadline: START + 12_000,
      atDeadline: () => new Error('too late'),
    });
    await expect(s.run()).rejects.toThrow('too late');
    expect(s.reads).toEqual([0, 5000, 10_000, 12_000]);
  });

  it('without an error for the deadline, the failure itself stands', async () => {
    const s = setup(async () => Promise.reject(DOWN), { deadline: START + 1000 });
    await expect(s.run()).rejects.toBe(DOWN);
    expect(s.reads).toEqual([0, 1000]);
  });

  it('a failure that is not transient stands at once', async () => {
    const s = setup(async () => Promise.reject(FORBIDDEN));
    await expect(s.run()).rejects.toBe(FORBIDDEN);
    expect(s.reads).toEqual([0]);
    expect(s.retried).toEqual([]);
  });

  it('stops when the run is cancelled during the wait', async () => {
    const controller = new AbortController();
    const s = setup(async () => Promise.reject(DOWN), {
      signal: controller.signal,
      sleep: async () => controller.abort(),
    });
    await expect(s.run()).rejects.toBe(DOWN);
    expect(s.reads).toEqual([0]);
  });
});
