import http from 'node:http';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { STREAM_ORIGIN, followStream, missingLines, type FollowStreamOptions, type StreamHandle, type StreamState } from '../../src/scalingo/stream.js';
import { startFakeStream, type FakeStreamOptions } from '../support/fake-stream.js';

const APP = 'my-app';
const DEP = 'dep-1';
/**
 * Short timings, so that the file takes about a second. The silence limit stays well above a first connection's
 * time (its handshake counts), except in the test of silence.
 */
const FAST = { silenceMs: 1_000, firstBackoffMs: 20, maxBackoffMs: 80, stableMs: 5_000, maxFailedAttempts: 3, closeGraceMs: 50 };

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function fakeStream(options: FakeStreamOptions = {}) {
  const fake = await startFakeStream({ pingIntervalMs: 50, ...options });
  cleanups.push(() => fake.close());
  return fake;
}

interface Followed {
  handle: StreamHandle;
  lines: string[];
  statuses: string[];
  states: StreamState[];
  news: string[];
  debug: string[];
  tokens: string[];
}

function follow(url: string, options: Partial<FollowStreamOptions> = {}): Followed {
  const seen: Omit<Followed, 'handle'> = { lines: [], statuses: [], states: [], news: [], debug: [], tokens: [] };
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
    ...options,
    timings: { ...FAST, ...options.timings },
  });
  cleanups.push(() => handle.close());
  return { handle, ...seen };
}

async function until(condition: () => boolean, what: string, timeoutMs = 2_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
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
    expect(outcome).toEqual({ end: 'finished', status: 'success', linesEmitted: 5, gapPossible: false, connections: 1 });
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
    expect(fake.upgrades[0]).toMatchObject({ app: APP, origin: STREAM_ORIGIN, authorization: undefined, userAgent: 'scalingo-deploy/1.0.0' });
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
    await until(() => fake.auths.length === 2 && fake.authenticated() === 1, 'the reconnection');
    fake.log(APP, DEP, 'd\n');
    fake.status(APP, DEP, 'build-error');
    const outcome = await followed.handle.done;
    expect(followed.lines).toEqual(['a', 'b', 'c', 'd']);
    expect(outcome).toMatchObject({ end: 'finished', status: 'build-error', linesEmitted: 4 });
  });

  it('replaces a silent connection, and destroys it though it never answers the close', async () => {
    const fake = await fakeStream();
    fake.fault({ kind: 'silence', afterFrames: 1 });
    const followed = follow(fake.urlFor(APP), { timings: { silenceMs: 150 } });
    await until(() => fake.authenticated() === 1, 'authentication');
    fake.log(APP, DEP, 'first\n');
    fake.log(APP, DEP, 'second, not sent on the silent connection\n');
    await until(() => fake.auths.length === 2, 'the reconnection', 1_000);
    // The silent server never answers the close frame: the client destroys the socket itself.
    await until(() => fake.openConnections() === 1, 'the silent socket to be destroyed');
    fake.status(APP, DEP, 'success');
    const outcome = await followed.handle.done;
    expect(followed.lines).toEqual(['first', 'second, not sent on the silent connection']);
    expect(outcome).toMatchObject({ end: 'finished', connections: 2 });
    expect(followed.debug.join('\n')).toContain('no frame for 150 ms');
    await until(() => fake.openConnections() === 0, 'every socket to be closed');
    expectNoToken(followed);
  });

  it('stays on one connection while pings keep it alive', async () => {
    const fake = await fakeStream({ pingIntervalMs: 20 });
    const followed = follow(fake.urlFor(APP), { timings: { silenceMs: 120 } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(fake.upgrades).toHaveLength(1);
    expect(followed.handle.state).toBe('live');
    expect(followed.states).toEqual(['live']);
  });

  it('reconnects after a server that closes the socket with a close frame', async () => {
    const fake = await fakeStream();
    fake.fault({ kind: 'drop', afterLines: 1, how: 'close' });
    fake.log(APP, DEP, 'a\nb\n');
    const followed = follow(fake.urlFor(APP));
    await until(() => fake.auths.length === 2 && fake.authenticated() === 1, 'the reconnection');
    fake.status(APP, DEP, 'success');
    expect(await followed.handle.done).toMatchObject({ end: 'finished', linesEmitted: 2, connections: 2 });
    expect(followed.lines).toEqual(['a', 'b']);
    expect(followed.debug.join('\n')).toContain('code 1001');
  });

  it('is refused by a server that wants another Origin', async () => {
    const fake = await fakeStream({ origin: 'https://dashboard.example' });
    const followed = follow(fake.urlFor(APP));
    expect(await followed.handle.done).toMatchObject({ end: 'gave-up', connections: 3 });
    expect(fake.counters()).toEqual({ connections: 3, authFrames: 0, origins: [STREAM_ORIGIN, STREAM_ORIGIN, STREAM_ORIGIN] });
  });

  it('gives up after attempts in a row that are refused', async () => {
    const fake = await fakeStream();
    fake.fault({ kind: 'refuse', status: 403, times: Infinity });
    const followed = follow(fake.urlFor(APP));
    const outcome = await followed.handle.done;
    expect(outcome).toEqual({ end: 'gave-up', linesEmitted: 0, gapPossible: true, connections: 3 });
    expect(followed.states).toEqual(['gave-up']);
    expect(fake.upgrades).toHaveLength(3);
    expect(fake.auths).toHaveLength(0);
    expectNoToken(followed);
  });

  it('gives up when nothing listens', async () => {
    const followed = follow(`ws://127.0.0.1:${await closedPort()}/apps/${APP}`);
    const outcome = await followed.handle.done;
    expect(outcome).toMatchObject({ end: 'gave-up', connections: 3 });
    expect(followed.lines).toEqual([]);
    expectNoToken(followed);
  });

  it('gives up when the connection is reset on the upgrade', async () => {
    const fake = await fakeStream();
    fake.fault({ kind: 'reset', times: Infinity });
    const outcome = await follow(fake.urlFor(APP)).handle.done;
    expect(outcome).toMatchObject({ end: 'gave-up', connections: 3 });
  });

  it('gives up when the server closes the socket after every auth frame (bad token)', async () => {
    const fake = await fakeStream({ isValidToken: (token) => token === 'the-right-one' });
    const followed = follow(fake.urlFor(APP));
    const outcome = await followed.handle.done;
    expect(outcome).toMatchObject({ end: 'gave-up', connections: 3 });
    expect(fake.auths.map((auth) => auth.accepted)).toEqual([false, false, false]);
    expect(followed.states).toEqual(['gave-up']);
    expectNoToken(followed);
  });

  it('recovers from a bad token with the next, fresh one', async () => {
    const fake = await fakeStream();
    fake.fault({ kind: 'bad-token' });
    const followed = follow(fake.urlFor(APP));
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

  it('gives up at once on an invalid URL', async () => {
    const followed = follow('not a url');
    expect(await followed.handle.done).toMatchObject({ end: 'gave-up', connections: 1 });
    expect(followed.debug.join('\n')).toContain('an invalid URL');
  });
});
