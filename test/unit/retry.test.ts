/**
 * The retry policy: pure (retryDelay), then through the HTTP helper on undici's MockAgent, network disabled, with a
 * virtual clock so that waits are checked exactly and take no time.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MockAgent } from 'undici';
import { DEFAULT_TUNING, Http, retryDelay, type RetryTuning } from '../../src/scalingo/http.js';
import { NetworkError, ScalingoApiError } from '../../src/scalingo/errors.js';

const API = 'https://api.osc-fr1.scalingo.com';
const JSON_HEADERS = { headers: { 'content-type': 'application/json' } };
/** No jitter: the delay is the ceiling's upper half, exactly. */
const TUNING: RetryTuning = { ...DEFAULT_TUNING, random: () => 1 };

describe('retryDelay', () => {
  const read = (failure: Parameters<typeof retryDelay>[0], attempt: number, deadline = Infinity) =>
    retryDelay(failure, attempt, true, 0, deadline, TUNING);
  const write = (failure: Parameters<typeof retryDelay>[0], attempt = 1) =>
    retryDelay(failure, attempt, false, 0, Infinity, TUNING);

  it('backs off exponentially from 0.5 s, up to 8 s, for at most 4 retries', () => {
    expect([1, 2, 3, 4].map((n) => read({ status: 503 }, n))).toEqual([500, 1000, 2000, 4000]);
    expect(read({ status: 503 }, 5)).toBeUndefined();
    expect(retryDelay({ status: 503 }, 4, true, 0, Infinity, { ...TUNING, maxRetries: 10, baseDelayMs: 5000 })).toBe(
      8000,
    );
  });

  it('jitters within the upper half of the ceiling', () => {
    expect(retryDelay({ status: 503 }, 2, true, 0, Infinity, { ...TUNING, random: () => 0 })).toBe(500);
  });

  it('reads retry 429, 5xx and network failures; not other statuses', () => {
    for (const status of [500, 502, 503, 504]) expect(read({ status }, 1), String(status)).toBe(500);
    expect(read({ status: 429 }, 1)).toBe(2000);
    for (const status of [400, 401, 403, 404, 409, 422, 501])
      expect(read({ status }, 1), String(status)).toBeUndefined();
    for (const code of ['ECONNRESET', 'ECONNREFUSED', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_SOCKET', 'UND_ERR_BODY_CUT'])
      expect(read({ code }, 1), code).toBe(500);
    expect(read({ code: 'SOMETHING_ELSE' }, 1)).toBeUndefined();
  });

  it('a host name that does not resolve is a typo, not a passing failure: never retried', () => {
    for (const code of ['ENOTFOUND', 'EAI_AGAIN']) {
      expect(read({ code }, 1), code).toBeUndefined();
      expect(write({ code }), code).toBeUndefined();
    }
  });

  it("429 without Retry-After (Scalingo gives none): backs off for about a minute, the limit's window, reads and writes alike", () => {
    for (const idempotent of [true, false]) {
      let waited = 0;
      const waits: number[] = [];
      for (let n = 1; ; n++) {
        const delay = retryDelay({ status: 429 }, n, idempotent, waited, Infinity, TUNING, waited);
        if (delay === undefined) break;
        waits.push(delay);
        waited += delay;
      }
      expect(waits).toEqual([2000, 4000, 8000, 16_000, 16_000, 16_000, 3000]);
      expect(waited).toBe(65_000);
    }
    // Not counted against the retries of other failures.
    expect(read({ status: 429 }, 6)).toBe(16_000);
  });

  it('429: never waits past the deadline', () => {
    expect(retryDelay({ status: 429 }, 3, false, 0, 7999, TUNING, 6000)).toBeUndefined();
    expect(retryDelay({ status: 429 }, 3, false, 0, 8000, TUNING, 6000)).toBe(8000);
  });

  it('writes retry only what surely was not processed: 429, and requests never sent', () => {
    expect(write({ status: 429 })).toBe(2000);
    expect(write({ code: 'ECONNREFUSED' })).toBe(500);
    expect(write({ status: 500 })).toBeUndefined();
    expect(write({ status: 503 })).toBeUndefined();
    expect(write({ code: 'ECONNRESET' })).toBeUndefined();
    expect(write({ code: 'UND_ERR_HEADERS_TIMEOUT' })).toBeUndefined();
  });

  it('honours Retry-After, in seconds or as a date, up to a minute', () => {
    expect(read({ status: 429, retryAfter: '3' }, 1)).toBe(3000);
    expect(read({ status: 429, retryAfter: '3600' }, 1)).toBe(60_000);
    expect(retryDelay({ status: 503, retryAfter: new Date(10_000).toUTCString() }, 1, true, 0, Infinity, TUNING)).toBe(
      10_000,
    );
    expect(read({ status: 429, retryAfter: 'soon' }, 1)).toBe(2000);
  });

  it('never waits past the deadline', () => {
    expect(read({ status: 503 }, 1, 499)).toBeUndefined();
    expect(read({ status: 503 }, 1, 500)).toBe(500);
  });
});

describe('Http retries (MockAgent, virtual clock)', () => {
  let agent: MockAgent;
  let t: number;
  let waits: number[];

  beforeEach(() => {
    agent = new MockAgent();
    agent.disableNetConnect();
    t = 1_000_000;
    waits = [];
  });

  afterEach(async () => {
    agent.assertNoPendingInterceptors();
    await agent.close();
  });

  const http = (deadlineIn = 60_000) =>
    new Http({
      apiUrl: API,
      authUrl: API,
      requestTimeoutMs: 1000,
      deadline: t + deadlineIn,
      userAgent: 'test',
      debug: () => {},
      dispatcher: agent,
      retry: { random: () => 1 },
      now: () => t,
      sleep: async (ms) => {
        waits.push(ms);
        t += ms;
      },
    });
  const get = {
    method: 'GET' as const,
    service: 'api' as const,
    path: '/v1/apps/my-app',
    idempotent: true,
    expect: [200],
  };
  const post = {
    method: 'POST' as const,
    service: 'api' as const,
    path: '/v1/apps/my-app/scm_repo_link/manual_deploy',
    body: { branch: 'main' },
    idempotent: false,
    expect: [200],
  };

  it('retries a read through 5xx answers and returns the first good one', async () => {
    const api = agent.get(API);
    api.intercept({ path: '/v1/apps/my-app', method: 'GET' }).reply(502, 'bad gateway').times(2);
    api.intercept({ path: '/v1/apps/my-app', method: 'GET' }).reply(200, { app: { name: 'my-app' } }, JSON_HEADERS);
    const h = http();
    expect((await h.send(get)).data).toEqual({ app: { name: 'my-app' } });
    expect(waits).toEqual([500, 1000]);
    expect(h.count).toBe(3);
  });

  it('gives up after 5 attempts, with what the API last said and how many attempts were made', async () => {
    agent
      .get(API)
      .intercept({ path: '/v1/apps/my-app', method: 'GET' })
      .reply(503, { error: 'maintenance' }, JSON_HEADERS)
      .times(5);
    const h = http();
    const err = await h.send(get).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScalingoApiError);
    expect(err).toMatchObject({
      status: 503,
      apiMessage: 'maintenance, still failing after 5 attempts',
      details: { attempts: 5 },
    });
    expect(waits).toEqual([500, 1000, 2000, 4000]);
  });

  it('stops retrying when the next wait would pass the deadline', async () => {
    agent.get(API).intercept({ path: '/v1/apps/my-app', method: 'GET' }).reply(503, '').times(2);
    const err = await http(1200)
      .send(get)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 503, details: { attempts: 2 } });
    expect(waits).toEqual([500]);
  });

  it('a status that retrying cannot fix fails at once, without an attempt count', async () => {
    agent
      .get(API)
      .intercept({ path: '/v1/apps/my-app', method: 'GET' })
      .reply(404, { resource: 'app', error: 'not found' }, JSON_HEADERS);
    const err = await http()
      .send(get)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 404, apiMessage: 'app not found', details: { resource: 'app' } });
    expect(waits).toEqual([]);
  });

  it('retries a read after a connection reset', async () => {
    const api = agent.get(API);
    api
      .intercept({ path: '/v1/apps/my-app', method: 'GET' })
      .replyWithError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }));
    api.intercept({ path: '/v1/apps/my-app', method: 'GET' }).reply(200, { app: {} }, JSON_HEADERS);
    await http().send(get);
    expect(waits).toEqual([500]);
  });

  it('never repeats a write that may have been processed (5xx, reset)', async () => {
    const api = agent.get(API);
    api.intercept({ path: post.path, method: 'POST' }).reply(500, { error: 'boom' }, JSON_HEADERS);
    await expect(http().send(post)).rejects.toMatchObject({ status: 500, apiMessage: 'boom' });
    api
      .intercept({ path: post.path, method: 'POST' })
      .replyWithError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }));
    const err = await http()
      .send(post)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect(err).toMatchObject({ code: 'ECONNRESET', notSent: false });
    expect(waits).toEqual([]);
  });

  it("a write rate limited with Scalingo's plain-text 429 and no Retry-After: backs off for about a minute, then succeeds", async () => {
    const api = agent.get(API);
    api
      .intercept({ path: post.path, method: 'POST' })
      .reply(429, 'Retry later', { headers: { 'content-type': 'text/plain' } })
      .times(5);
    api
      .intercept({ path: post.path, method: 'POST' })
      .reply(200, { deployment: { id: 'd1', status: 'queued' } }, JSON_HEADERS);
    const h = http(120_000);
    expect((await h.send(post)).data).toEqual({ deployment: { id: 'd1', status: 'queued' } });
    expect(waits).toEqual([2000, 4000, 8000, 16_000, 16_000]);
  });

  it('429 without Retry-After: gives up once about a minute was waited, or when the deadline comes first', async () => {
    agent.get(API).intercept({ path: '/v1/apps/my-app', method: 'GET' }).reply(429, 'Retry later').times(8);
    const err = await http(600_000)
      .send(get)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 429, apiMessage: 'Retry later, still failing after 8 attempts' });
    expect(waits.reduce((a, b) => a + b, 0)).toBe(65_000);
    waits = [];
    agent.get(API).intercept({ path: '/v1/apps/my-app', method: 'GET' }).reply(429, 'Retry later').times(3);
    await expect(http(10_000).send(get)).rejects.toMatchObject({ status: 429 });
    expect(waits).toEqual([2000, 4000]);
  });

  it('a host that does not resolve fails at once, read or write', async () => {
    agent
      .get(API)
      .intercept({ path: '/v1/apps/my-app', method: 'GET' })
      .replyWithError(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }));
    await expect(http().send(get)).rejects.toMatchObject({ code: 'ENOTFOUND', notSent: true });
    expect(waits).toEqual([]);
  });

  it('repeats a rate-limited write after its Retry-After', async () => {
    const api = agent.get(API);
    api.intercept({ path: post.path, method: 'POST' }).reply(429, 'Retry later', { headers: { 'retry-after': '2' } });
    api
      .intercept({ path: post.path, method: 'POST' })
      .reply(200, { deployment: { id: 'd1', status: 'queued' } }, JSON_HEADERS);
    await http().send(post);
    expect(waits).toEqual([2000]);
  });

  it('stops waiting when the run is cancelled', async () => {
    const controller = new AbortController();
    agent.get(API).intercept({ path: '/v1/apps/my-app', method: 'GET' }).reply(503, '');
    const h = new Http({
      apiUrl: API,
      authUrl: API,
      requestTimeoutMs: 1000,
      deadline: t + 60_000,
      userAgent: 'test',
      debug: () => {},
      dispatcher: agent,
      signal: controller.signal,
      now: () => t,
      sleep: async () => controller.abort(new Error('cancelled by SIGTERM')),
    });
    await expect(h.send(get)).rejects.toMatchObject({ status: 503 });
    expect(h.count).toBe(1);
  });
});
