import http from 'node:http';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_STREAM_TIMINGS,
  REAL_CLOCK,
  STREAM_ORIGIN,
  followStream,
  missingLines,
  type FollowStreamOptions,
  type StreamClock,
  type StreamHandle,
  type StreamState,
} from '../../src/scalingo/stream.js';
import { startFakeStream, type FakeStreamOptions } from '../support/fake-stream.js';

const APP = 'my-app';
const DEP = 'dep-1';
/**
 * The product's own timings (a 30 s silence limit, reconnections 0.5 s to 8 s apart, four failed attempts in a row),
 * on a virtual clock: the tests move it forward, so that they take no more time than the sockets' own traffic.
 */
const {
  silenceMs: SILENCE,
  firstBackoffMs: FIRST,
  maxBackoffMs: MAX,
  stableMs: STABLE,
  maxFailedAttempts: MAX_FAILED,
  closeGraceMs: GRACE,
} = DEFAULT_STREAM_TIMINGS;

/** A clock that only moves when a test says so; its timers run, in order, as it passes their time. */
class VirtualClock implements StreamClock {
  private t = Date.UTC(2026, 0, 1);
  private nextId = 1;
  private readonly timers = new Map<number, { due: number; fn: () => void }>();
  /** Timers set so far, by delay. */
  private readonly counts = new Map<number, number>();

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): number {
    const id = this.nextId++;
    this.timers.set(id, { due: this.t + ms, fn });
    this.counts.set(ms, (this.counts.get(ms) ?? 0) + 1);
    return id;
  }

  clearTimeout(handle: number): void {
    this.timers.delete(handle);
  }

  /** Moves time forward by `ms`, running each timer that falls due on the way (in due order, then creation order). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { due: number; fn: () => void }] | undefined;
      for (const entry of this.timers) if (entry[1].due <= end && (!next || entry[1].due < next[1].due)) next = entry;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].due;
      next[1].fn();
    }
    this.t = end;
  }

  /** How many timers of `ms` were set so far (each frame re-arms the silence watch). */
  timersOf(ms: number): number {
    return this.counts.get(ms) ?? 0;
  }
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The fake stream, sending no ping of its own (they would come on the real clock): tests send them. */
async function fakeStream(options: FakeStreamOptions = {}) {
  const fake = await startFakeStream({ pingIntervalMs: 0, ...options });
  cleanups.push(() => fake.close());
  return fake;
}

interface Followed {
  handle: StreamHandle;
  clock: VirtualClock;
  lines: string[];
  statuses: string[];
  states: StreamState[];
  news: string[];
  debug: string[];
  tokens: string[];
  /** Reconnections the test has let happen (see `retryAfter`). */
  retried: number;
}

function follow(url: string, options: Partial<FollowStreamOptions> = {}): Followed {
  const clock = new VirtualClock();
  const seen: Omit<Followed, 'handle' | 'clock' | 'retried'> = {
    lines: [],
    statuses: [],
    states: [],
    news: [],
    debug: [],
    tokens: [],
  };
  const handle = followStream({
    url,
    deploymentId: DEP,
    getToken: async () => {
      const token = `bearer-${seen.tokens.length + 1}-s3cr3t`;
      seen.tokens.push(token);
      return token;
    },
    onLine: (line) => seen.lines.push(line),
    onStatus: (status) => seen.statuses.push(status),
    onState: (state) => seen.states.push(state),
    onNewDeployment: (id) => seen.news.push(id),
    debug: (message) => seen.debug.push(message),
    clock,
    ...options,
  });
  cleanups.push(() => {
    handle.close();
    // Let the close grace pass: the follower destroys what is left of its sockets.
    clock.advance(60_000);
  });
  return { handle, clock, retried: 0, ...seen };
}

/** Waits for socket traffic (a few milliseconds of real time), checking at each turn of the event loop: never for the follower's own delays. */
async function until(condition: () => boolean, what: string, timeoutMs = 2_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const scheduled = (f: Followed): string[] => f.debug.filter((m) => m.startsWith('stream: reconnecting in '));

/**
 * Waits for the follower to plan its next attempt, checks the delay it said, and lets exactly that much virtual time
 * pass: the attempt (which asks for a token first) starts then, not a millisecond sooner.
 */
async function retryAfter(f: Followed, delayMs: number): Promise<void> {
  await until(() => scheduled(f).length > f.retried, `reconnection ${f.retried + 1} to be planned`);
  expect(scheduled(f)[f.retried]).toBe(`stream: reconnecting in ${delayMs} ms`);
  f.retried += 1;
  const tokens = f.tokens.length;
  f.clock.advance(delayMs - 1);
  expect(f.tokens).toHaveLength(tokens);
  f.clock.advance(1);
  expect(f.tokens).toHaveLength(tokens + 1);
}

/** Sends a ping and waits until the follower got it: it re-arms the silence watch. */
async function ping(fake: { sendRaw(app: string, frame: unknown): void }, f: Followed): Promise<void> {
  const armed = f.clock.timersOf(SILENCE);
  fake.sendRaw(APP, { type: 'ping', data: { ts: Math.floor(f.clock.now() / 1000) } });
  await until(() => f.clock.timersOf(SILENCE) > armed, 'the ping');
}

/** Waits for the `n`th connection to be authenticated, the one before it gone. */
async function connected(fake: { auths: unknown[]; authenticated(): number }, n: number): Promise<void> {
  await until(() => fake.auths.length === n && fake.authenticated() === 1, `connection ${n}`);
}

function expectNoToken(followed: Followed): void {
  expect(followed.tokens.length).toBeGreaterThan(0);
  const text = followed.debug.join('\n');
  expect(text).not.toContain('s3cr3t');
  for (const token of followed.tokens) expect(text).not.toContain(token);
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  await new Promise((resolve) => server.close(resolve));
  return address.port;
}

describe('followStream against the fake stream', () => {
  it('shows live lines in order, each once, and ends on a final status', async () => {
    const fake = await fakeStream();
    const followed = follow(fake.urlFor(APP), { userAgent: 'scalingo-deploy/1.0.0' });
    await until(() => fake.authenticated() === 1, 'authentication');

    fake.status(APP, DEP, 'building');
    fake.log(APP, DEP, '-----> Cloning\n');
    fake.log(APP, DEP, '-----> Building with buildpack\n       Installing node\n');
    // Events without a newline: each is a line, shown as it comes.
    fake.log(APP, DEP, '       npm install');
    fake.status(APP, DEP, 'pushing');
    fake.log(APP, DEP, '-----> Done, last line without newline');
    fake.status(APP, DEP, 'success');

    const outcome = await followed.handle.done;
    expect(outcome).toEqual({
      end: 'finished',
      status: 'success',
      linesEmitted: 5,
      gapPossible: false,
      connections: 1,
    });
    expect(followed.lines).toEqual([
      '-----> Cloning',
      '-----> Building with buildpack',
      '       Installing node',
      '       npm install',
      '-----> Done, last line without newline',
    ]);
    expect(followed.statuses).toEqual(['building', 'pushing', 'success']);
    expect(followed.states).toEqual(['live', 'ended']);
    // What the client sent: the Origin header, no Authorization, the bearer in the first frame.
    expect(fake.upgrades).toHaveLength(1);
    expect(fake.upgrades[0]).toMatchObject({
      app: APP,
      origin: STREAM_ORIGIN,
      authorization: undefined,
      userAgent: 'scalingo-deploy/1.0.0',
    });
    expect(fake.auths.map((auth) => auth.frame)).toEqual([{ type: 'auth', data: { token: followed.tokens[0] } }]);
    expect(fake.counters()).toEqual({ connections: 1, authFrames: 1, origins: [STREAM_ORIGIN] });
    expect(missingLines(fake.outputOf(APP, DEP), outcome.linesEmitted)).toEqual([]);
    expectNoToken(followed);
    await until(() => fake.openConnections() === 0, 'the socket to close');
  });

  it('after a drop, reconnects with a fresh token and shows the replayed lines once', async () => {
    const fake = await fakeStream();
    fake.fault({ kind: 'drop', afterLines: 3 });
    fake.log(APP, DEP, 'l1\nl2\n');
    const followed = follow(fake.urlFor(APP));
    await until(() => followed.lines.length === 2, 'the replay');
    fake.log(APP, DEP, 'l3\nl4\n');
    await retryAfter(followed, FIRST);
    await until(() => fake.auths.length === 2 && fake.authenticated() === 1, 'the reconnection');
    fake.log(APP, DEP, 'l5');
    fake.log(APP, DEP, 'l6\n');
    fake.status(APP, DEP, 'success');

    const outcome = await followed.handle.done;
    expect(followed.lines).toEqual(['l1', 'l2', 'l3', 'l4', 'l5', 'l6']);
    expect(outcome).toMatchObject({ end: 'finished', linesEmitted: 6, connections: 2, gapPossible: true });
    expect(followed.states).toEqual(['live', 'down', 'live', 'ended']);
    expect(fake.auths.map((auth) => auth.token)).toEqual(followed.tokens);
    expect(new Set(followed.tokens).size).toBe(2);
    expect(missingLines(fake.outputOf(APP, DEP), outcome.linesEmitted)).toEqual([]);
    expectNoToken(followed);
  });

  it('dedupes a replay that comes in other chunks than the live output', async () => {
    const fake = await fakeStream({ replay: 'whole' });
    const followed = follow(fake.urlFor(APP));
    await until(() => fake.authenticated() === 1, 'authentication');
    fake.log(APP, DEP, 'a\n');
    // An event without a final newline is whole lines: `c` is shown at once.
    fake.log(APP, DEP, 'b\nc');
    await until(() => followed.lines.length === 3, 'three lines');
    fake.dropAll(APP);
    await retryAfter(followed, FIRST);
    await until(() => fake.auths.length === 2 && fake.authenticated() === 1, 'the reconnection');
    fake.log(APP, DEP, 'd\n');
    fake.status(APP, DEP, 'build-error');
    const outcome = await followed.handle.done;
    expect(followed.lines).toEqual(['a', 'b', 'c', 'd']);
    expect(outcome).toMatchObject({ end: 'finished', status: 'build-error', linesEmitted: 4 });
  });

  it('replaces a connection silent for silenceMs, and destroys it after the close grace though it never answers the close', async () => {
    const fake = await fakeStream();
    fake.fault({ kind: 'silence', afterFrames: 1 });
    // A grace longer than the reconnection delay, to see the silent socket outlive the next connection's start.
    const followed = follow(fake.urlFor(APP), { timings: { closeGraceMs: 2_000 } });
    await until(() => fake.authenticated() === 1, 'authentication');
    fake.log(APP, DEP, 'first\n');
    await until(() => followed.lines.length === 1, 'the first line');
    fake.log(APP, DEP, 'second, not sent on the silent connection\n');

    followed.clock.advance(SILENCE - 1);
    expect(followed.debug.join('\n')).not.toContain('no frame');
    followed.clock.advance(1);
    expect(followed.debug).toContain(`stream: connection 1 ended: no frame for ${SILENCE} ms`);
    expect(followed.states).toEqual(['live', 'down']);
    // It had frames: a drop, not a failed attempt; the first delay.
    await retryAfter(followed, FIRST);
    await until(() => fake.auths.length === 2, 'the reconnection');
    // The silent server never answers the close frame: its socket is still open, until the grace is over.
    expect(fake.openConnections()).toBe(2);
    followed.clock.advance(2_000 - FIRST);
    await until(() => fake.openConnections() === 1, 'the silent socket to be destroyed');

    fake.status(APP, DEP, 'success');
    const outcome = await followed.handle.done;
    expect(followed.lines).toEqual(['first', 'second, not sent on the silent connection']);
    expect(outcome).toMatchObject({ end: 'finished', connections: 2 });
    await until(() => fake.openConnections() === 0, 'every socket to be closed');
    expectNoToken(followed);
  });

  it('stays on one connection while pings keep it alive, and replaces it once they stop', async () => {
    const fake = await fakeStream();
    const followed = follow(fake.urlFor(APP));
    await until(() => fake.authenticated() === 1, 'authentication');
    await ping(fake, followed);
    expect(followed.states).toEqual(['live']);
    // Five minutes of pings 20 s apart, as Scalingo sends them: never 30 s without a frame.
    for (let i = 0; i < 15; i++) {
      followed.clock.advance(20_000);
      await ping(fake, followed);
    }
    expect(fake.upgrades).toHaveLength(1);
    expect(followed.handle.state).toBe('live');
    expect(followed.states).toEqual(['live']);
    expect(followed.debug.join('\n')).not.toContain('no frame');

    // No ping for 30 s: the connection is replaced.
    followed.clock.advance(SILENCE);
    expect(followed.states).toEqual(['live', 'down']);
    expect(followed.debug).toContain(`stream: connection 1 ended: no frame for ${SILENCE} ms`);
    await retryAfter(followed, FIRST);
    await until(() => fake.upgrades.length === 2, 'the reconnection');
  });

  it('counts a connection that stays silent from the start (its handshake included) as a failed attempt', async () => {
    const fake = await fakeStream();
    fake.fault({ kind: 'silence', afterFrames: 0, times: Infinity });
    let failed = 0;
    const followed = follow(fake.urlFor(APP), { onAttemptFailed: () => failed++ });
    for (const [i, delay] of [FIRST, 2 * FIRST, 4 * FIRST].entries()) {
      await until(() => fake.auths.length === i + 1, `authentication ${i + 1}`);
      followed.clock.advance(SILENCE);
      await retryAfter(followed, delay);
    }
    await until(() => fake.auths.length === MAX_FAILED, 'the last attempt');
    followed.clock.advance(SILENCE);
    expect(await followed.handle.done).toEqual({
      end: 'gave-up',
      linesEmitted: 0,
      gapPossible: true,
      connections: MAX_FAILED,
    });
    expect(failed).toBe(MAX_FAILED);
    expect(followed.states).toEqual(['gave-up']);
    expect(followed.debug.filter((m) => m.endsWith(`no frame for ${SILENCE} ms`))).toHaveLength(MAX_FAILED);
    // The silent sockets, which never answer the close, are destroyed once the grace is over.
    expect(fake.openConnections()).toBeGreaterThan(0);
    followed.clock.advance(GRACE);
    await until(() => fake.openConnections() === 0, 'every socket to be destroyed');
  });

  it('reconnects after a server that closes the socket with a close frame', async () => {
    const fake = await fakeStream();
    fake.fault({ kind: 'drop', afterLines: 1, how: 'close' });
    fake.log(APP, DEP, 'a\nb\n');
    const followed = follow(fake.urlFor(APP));
    await retryAfter(followed, FIRST);
    await until(() => fake.auths.length === 2 && fake.authenticated() === 1, 'the reconnection');
    fake.status(APP, DEP, 'success');
    expect(await followed.handle.done).toMatchObject({ end: 'finished', linesEmitted: 2, connections: 2 });
    expect(followed.lines).toEqual(['a', 'b']);
    expect(followed.debug.join('\n')).toContain('code 1001');
  });

  it('doubles the delay while connections stay short, up to maxBackoffMs, and never gives up on connections that had frames', async () => {
    const fake = await fakeStream();
    fake.fault({ kind: 'drop', afterLines: 1, times: 6 });
    fake.log(APP, DEP, 'l1\n');
    const followed = follow(fake.urlFor(APP));
    for (const delay of [FIRST, 2 * FIRST, 4 * FIRST, 8 * FIRST, MAX, MAX]) await retryAfter(followed, delay);
    await until(() => fake.authenticated() === 1, 'the seventh connection');
    fake.status(APP, DEP, 'success');
    expect(await followed.handle.done).toEqual({
      end: 'finished',
      status: 'success',
      linesEmitted: 1,
      gapPossible: true,
      connections: 7,
    });
    expect(followed.lines).toEqual(['l1']);
    expect(followed.debug.join('\n')).not.toContain('giving up');
  });

  it('resets the delay after a connection that lasted stableMs, not after a shorter one', async () => {
    const fake = await fakeStream();
    fake.fault({ kind: 'drop', afterLines: 1, times: 2 });
    fake.log(APP, DEP, 'l1\n');
    const followed = follow(fake.urlFor(APP));
    await retryAfter(followed, FIRST);
    await retryAfter(followed, 2 * FIRST);
    // The third connection lasts just under stableMs (a frame midway keeps the silence watch away): short.
    await connected(fake, 3);
    followed.clock.advance(STABLE / 2);
    await ping(fake, followed);
    followed.clock.advance(STABLE / 2 - 1);
    fake.dropAll(APP);
    await retryAfter(followed, 4 * FIRST);
    // The fourth lasts stableMs: the delays start over, as after a first drop.
    await connected(fake, 4);
    followed.clock.advance(STABLE / 2);
    await ping(fake, followed);
    followed.clock.advance(STABLE / 2);
    fake.dropAll(APP);
    await retryAfter(followed, FIRST);
    await connected(fake, 5);
    fake.dropAll(APP);
    await retryAfter(followed, FIRST);
    await connected(fake, 6);
    fake.dropAll(APP);
    await retryAfter(followed, 2 * FIRST);
    expect(followed.states.filter((state) => state === 'live')).toHaveLength(6);
  });

  it('is refused by a server that wants another Origin', async () => {
    const fake = await fakeStream({ origin: 'https://dashboard.example' });
    const followed = follow(fake.urlFor(APP));
    for (const delay of [FIRST, 2 * FIRST, 4 * FIRST]) await retryAfter(followed, delay);
    expect(await followed.handle.done).toMatchObject({ end: 'gave-up', connections: MAX_FAILED });
    expect(fake.counters()).toEqual({
      connections: MAX_FAILED,
      authFrames: 0,
      origins: Array<string>(MAX_FAILED).fill(STREAM_ORIGIN),
    });
  });

  it('gives up after maxFailedAttempts attempts in a row that are refused, the delay doubling between them', async () => {
    const fake = await fakeStream();
    fake.fault({ kind: 'refuse', status: 403, times: Infinity });
    let failed = 0;
    const followed = follow(fake.urlFor(APP), { onAttemptFailed: () => failed++ });
    for (const delay of [FIRST, 2 * FIRST, 4 * FIRST]) await retryAfter(followed, delay);
    const outcome = await followed.handle.done;
    expect(outcome).toEqual({ end: 'gave-up', linesEmitted: 0, gapPossible: true, connections: MAX_FAILED });
    expect(followed.debug).toContain(`stream: giving up after ${MAX_FAILED} attempt(s) in a row without any frame`);
    expect(scheduled(followed)).toHaveLength(MAX_FAILED - 1);
    expect(failed).toBe(MAX_FAILED);
    expect(followed.states).toEqual(['gave-up']);
    expect(fake.upgrades).toHaveLength(MAX_FAILED);
    expect(fake.auths).toHaveLength(0);
    // Nothing more, however long one waits.
    followed.clock.advance(3_600_000);
    expect(followed.tokens).toHaveLength(MAX_FAILED);
    expectNoToken(followed);
  });

  it('gives up when nothing listens', async () => {
    const followed = follow(`ws://127.0.0.1:${await closedPort()}/apps/${APP}`);
    for (const delay of [FIRST, 2 * FIRST, 4 * FIRST]) await retryAfter(followed, delay);
    const outcome = await followed.handle.done;
    expect(outcome).toMatchObject({ end: 'gave-up', connections: MAX_FAILED });
    expect(followed.lines).toEqual([]);
    expectNoToken(followed);
  });

  it('gives up when the connection is reset on the upgrade', async () => {
    const fake = await fakeStream();
    fake.fault({ kind: 'reset', times: Infinity });
    const followed = follow(fake.urlFor(APP));
    for (const delay of [FIRST, 2 * FIRST, 4 * FIRST]) await retryAfter(followed, delay);
    expect(await followed.handle.done).toMatchObject({ end: 'gave-up', connections: MAX_FAILED });
  });

  it('gives up when the server closes the socket after every auth frame (bad token)', async () => {
    const fake = await fakeStream({ isValidToken: (token) => token === 'the-right-one' });
    const followed = follow(fake.urlFor(APP));
    for (const delay of [FIRST, 2 * FIRST, 4 * FIRST]) await retryAfter(followed, delay);
    const outcome = await followed.handle.done;
    expect(outcome).toMatchObject({ end: 'gave-up', connections: MAX_FAILED });
    expect(fake.auths.map((auth) => auth.accepted)).toEqual(Array<boolean>(MAX_FAILED).fill(false));
    expect(followed.states).toEqual(['gave-up']);
    expectNoToken(followed);
  });

  it('recovers from a bad token with the next, fresh one', async () => {
    const fake = await fakeStream();
    fake.fault({ kind: 'bad-token' });
    const followed = follow(fake.urlFor(APP));
    await retryAfter(followed, FIRST);
    await until(() => fake.authenticated() === 1, 'authentication');
    fake.log(APP, DEP, 'ok\n');
    fake.status(APP, DEP, 'success');
    const outcome = await followed.handle.done;
    expect(followed.lines).toEqual(['ok']);
    expect(outcome).toMatchObject({ end: 'finished', connections: 2, gapPossible: false });
    expect(fake.auths.map((auth) => auth.accepted)).toEqual([false, true]);
  });

  it('follows one deployment among several interleaved ones', async () => {
    const fake = await fakeStream();
    fake.log(APP, 'dep-0', 'old deployment\n');
    const followed = follow(fake.urlFor(APP));
    await until(() => fake.authenticated() === 1, 'authentication');
    fake.newDeployment(APP, DEP);
    fake.newDeployment(APP, 'dep-2', { bareId: true });
    fake.log(APP, DEP, 'mine 1\n');
    fake.log(APP, 'dep-2', 'theirs 1\n');
    fake.log(APP, DEP, 'mine 2\n');
    fake.status(APP, 'dep-2', 'success');
    fake.log(APP, 'dep-2', 'theirs 2\n');
    fake.sendRaw(APP, 'not json');
    fake.sendRaw(APP, { type: 'log', data: { content: 'no id\n' } });
    fake.log(APP, DEP, 'mine 3\n');
    fake.status(APP, DEP, 'crashed-error');
    const outcome = await followed.handle.done;
    expect(followed.lines).toEqual(['mine 1', 'mine 2', 'mine 3']);
    expect(followed.statuses).toEqual(['crashed-error']);
    expect(followed.news).toEqual([DEP, 'dep-2']);
    expect(outcome).toMatchObject({ end: 'finished', status: 'crashed-error', linesEmitted: 3 });
  });

  it('stops when closed, or when its signal aborts, and says lines may be missing', async () => {
    const fake = await fakeStream();
    const first = follow(fake.urlFor(APP));
    await until(() => fake.authenticated() === 1, 'authentication');
    fake.log(APP, DEP, 'one\n');
    await until(() => first.lines.length === 1, 'a line');
    first.handle.close();
    expect(await first.handle.done).toEqual({ end: 'closed', linesEmitted: 1, gapPossible: true, connections: 1 });
    expect(first.handle.state).toBe('ended');

    const controller = new AbortController();
    const second = follow(fake.urlFor(APP), { signal: controller.signal });
    await until(() => second.lines.length === 1, 'the replay');
    controller.abort();
    expect(await second.handle.done).toMatchObject({ end: 'closed', linesEmitted: 1 });
    await until(() => fake.openConnections() === 0, 'every socket to be closed');
  });

  it('stops and rejects when a callback throws', async () => {
    const fake = await fakeStream();
    fake.log(APP, DEP, 'boom\n');
    const followed = follow(fake.urlFor(APP), {
      onLine: () => {
        throw new Error('cannot print');
      },
    });
    await expect(followed.handle.done).rejects.toThrow('cannot print');
  });

  it('on the real clock by default, leaves no timer that holds the process open once closed', async () => {
    const fake = await fakeStream();
    fake.log(APP, DEP, 'one\n');
    // Node's timers, as the follower sets them without a clock: those of the close grace must not keep a CLI alive.
    const timers: Array<{ ms: number; timer: NodeJS.Timeout; cleared: boolean }> = [];
    const recording: StreamClock = {
      now: () => REAL_CLOCK.now(),
      setTimeout: (fn, ms) => {
        const timer = REAL_CLOCK.setTimeout(fn, ms) as NodeJS.Timeout;
        timers.push({ ms, timer, cleared: false });
        return timer;
      },
      clearTimeout: (handle) => {
        for (const entry of timers) if (entry.timer === handle) entry.cleared = true;
        REAL_CLOCK.clearTimeout(handle);
      },
    };
    const followed = follow(fake.urlFor(APP), { clock: recording, timings: { closeGraceMs: 60_000 } });
    await until(() => followed.lines.length === 1, 'the line');
    followed.handle.close();
    expect(await followed.handle.done).toMatchObject({ end: 'closed' });
    const left = timers.filter((entry) => !entry.cleared);
    // The grace of the connection, and the pool's: both unref'ed, never waited for.
    expect(left.map((entry) => entry.ms)).toEqual([60_000, 60_000]);
    for (const entry of left) {
      expect(entry.timer.hasRef()).toBe(false);
      clearTimeout(entry.timer);
    }
    expect(timers.filter((entry) => entry.ms === SILENCE).every((entry) => entry.cleared)).toBe(true);
  });

  it('gives up at once on an invalid URL', async () => {
    const followed = follow('not a url');
    expect(await followed.handle.done).toMatchObject({ end: 'gave-up', connections: 1 });
    expect(followed.debug.join('\n')).toContain('an invalid URL');
  });
});
