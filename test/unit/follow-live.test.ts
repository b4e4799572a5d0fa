/**
 * The follow loop with a live stream, on a virtual clock: when it reads the status, given what the stream says.
 * Healthy stream: a safety read every 30 s only. Stream down: polling at poll-interval-seconds. The end seen on the
 * stream: one read at once (then quick confirmations while the API lags). Back after an interruption: one read.
 */
import { describe, expect, it } from 'vitest';
import { follow, nextReadIn } from '../../src/core/phases/follow.js';
import type { LiveSource } from '../../src/core/phases/live-output.js';
import type { Deployment } from '../../src/scalingo/types.js';

const T0 = 1_000_000;

/** A stream whose state the test changes at virtual times. */
class FakeLive implements LiveSource {
  live = false;
  end = false;
  resumed = false;
  /** The final status the stream gave with its end. */
  final: string | undefined = undefined;
  private change = new AbortController();
  healthy(): boolean {
    return this.live;
  }
  sawEnd(): boolean {
    return this.end;
  }
  finalStatus(): string | undefined {
    return this.end ? this.final : undefined;
  }
  lastStatus(): string | undefined {
    return this.final;
  }
  catchUp(): boolean {
    return this.resumed;
  }
  caughtUp(): void {
    this.resumed = false;
  }
  changes(): AbortSignal {
    return this.change.signal;
  }
  set(patch: Partial<Pick<FakeLive, 'live' | 'end' | 'resumed' | 'final'>>): void {
    Object.assign(this, patch);
    const previous = this.change;
    this.change = new AbortController();
    previous.abort();
  }
}

/** A virtual clock whose sleeps end early at the first scheduled event (which may abort the sleep's signal). */
function virtualClock(events: { at: number; run: () => void }[]) {
  let t = T0;
  const pending = [...events].sort((a, b) => a.at - b.at);
  return {
    now: () => t,
    sleep: async (ms: number, signal?: AbortSignal) => {
      const until = t + ms;
      while (pending.length > 0 && pending[0]!.at <= until) {
        const event = pending.shift()!;
        t = Math.max(t, event.at);
        event.run();
        if (signal?.aborted) return;
      }
      t = until;
    },
  };
}

/** The API's answer: in progress until `endAt` (virtual ms from T0), then `final`. */
function api(clock: { now: () => number }, endAt: number, final = 'success') {
  const reads: number[] = [];
  return {
    reads,
    get: async (): Promise<Deployment> => {
      reads.push(clock.now() - T0);
      return { id: 'd1', status: clock.now() - T0 >= endAt ? final : 'building' };
    },
  };
}

function run(
  live: FakeLive,
  clock: ReturnType<typeof virtualClock>,
  get: () => Promise<Deployment>,
  intervalMs = 5000,
  trustStreamEnd = false,
) {
  return follow({
    initial: { id: 'd1', status: 'queued' },
    getDeployment: get,
    intervalMs,
    deadline: T0 + 3_600_000,
    now: clock.now,
    sleep: clock.sleep,
    onStatus: () => {},
    onRetry: () => {},
    live,
    trustStreamEnd,
  });
}

describe('following with a live stream (virtual clock)', () => {
  it('healthy stream: a safety read every 30 s only, and the end read at once when the stream sees it', async () => {
    const live = new FakeLive();
    live.live = true;
    const clock = virtualClock([{ at: T0 + 300_000, run: () => live.set({ end: true, live: false }) }]);
    const a = api(clock, 300_000);
    const r = await run(live, clock, a.get);
    expect(r.outcome).toBe('success');
    expect(a.reads).toEqual([30_000, 60_000, 90_000, 120_000, 150_000, 180_000, 210_000, 240_000, 270_000, 300_000]);
    expect(r.polls).toBeLessThanOrEqual(12);
    expect(r.endedAt - T0).toBe(300_000);
  });

  it('stream down: polls every poll interval; once live, only the safety reads', async () => {
    const live = new FakeLive();
    const clock = virtualClock([{ at: T0 + 12_000, run: () => live.set({ live: true }) }]);
    const a = api(clock, 70_000);
    await run(live, clock, a.get);
    // 5, 10 while down; live at 12 s: next read 30 s after the last one (10 s), and so on.
    expect(a.reads).toEqual([5_000, 10_000, 40_000, 70_000]);
  });

  it('a stream that goes down: polling takes over at once', async () => {
    const live = new FakeLive();
    live.live = true;
    const clock = virtualClock([{ at: T0 + 100_000, run: () => live.set({ live: false }) }]);
    const a = api(clock, 112_000);
    await run(live, clock, a.get);
    expect(a.reads).toEqual([30_000, 60_000, 90_000, 100_000, 105_000, 110_000, 115_000]);
  });

  it('the end on the stream while the API still shows the deployment running: quick confirmations, never sparser than the poll interval', async () => {
    const live = new FakeLive();
    live.live = true;
    const clock = virtualClock([{ at: T0 + 50_000, run: () => live.set({ end: true, live: false }) }]);
    const a = api(clock, 51_000, 'build-error');
    const r = await run(live, clock, a.get);
    expect(r.outcome).toBe('failed');
    expect(a.reads).toEqual([30_000, 50_000, 50_250, 50_750, 51_750]);
  });

  it('a stream back after an interruption: one read at once (the end may have passed unseen)', async () => {
    const live = new FakeLive();
    live.live = true;
    const clock = virtualClock([
      { at: T0 + 40_000, run: () => live.set({ live: false }) },
      { at: T0 + 41_000, run: () => live.set({ live: true, resumed: true }) },
    ]);
    const a = api(clock, 41_000);
    await run(live, clock, a.get);
    // Down at 40 s: polling (the last read is 10 s old); back at 41 s: one read at once, the end.
    expect(a.reads).toEqual([30_000, 40_000, 41_000]);
  });

  it("the stream's final status taken as it is when nothing else is missing: no status request to confirm it", async () => {
    const live = new FakeLive();
    live.live = true;
    const clock = virtualClock([{ at: T0 + 50_000, run: () => live.set({ end: true, final: 'build-error' }) }]);
    const a = api(clock, 51_000, 'build-error');
    const r = await run(live, clock, a.get, 5000, true);
    expect(r).toMatchObject({ outcome: 'failed', deployment: { status: 'build-error' }, endedAt: T0 + 50_000 });
    // The safety read at 30 s only.
    expect(a.reads).toEqual([30_000]);
  });

  it('with no stream, polls exactly as before', async () => {
    const clock = virtualClock([]);
    const a = api(clock, 20_000);
    await follow({
      initial: { id: 'd1', status: 'queued' },
      getDeployment: a.get,
      intervalMs: 5000,
      deadline: T0 + 600_000,
      now: clock.now,
      sleep: clock.sleep,
      onStatus: () => {},
      onRetry: () => {},
    });
    expect(a.reads).toEqual([5_000, 10_000, 15_000, 20_000]);
  });
});

describe('nextReadIn', () => {
  const base = {
    now: 10_000,
    lastRead: 0,
    intervalMs: 5_000,
    safetyReadMs: 30_000,
    healthy: false,
    endSeen: false,
    confirmations: 0,
  };
  it.each([
    ['down: the poll interval', {}, 0],
    ['healthy: the safety interval', { healthy: true }, 20_000],
    ['a poll interval longer than the safety one wins', { healthy: true, intervalMs: 60_000 }, 50_000],
    ['the end seen: at once', { healthy: true, endSeen: true }, 0],
    ['the end seen, one read made: 0.25 s after it', { endSeen: true, confirmations: 1, lastRead: 10_000 }, 250],
    ['back after an interruption: at once', { healthy: true, catchUp: true, lastRead: 9_000 }, 0],
  ])('%s', (_, patch, expected) => {
    expect(nextReadIn({ ...base, ...patch })).toBe(expected);
  });
});
