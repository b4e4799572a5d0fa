/**
 * The bearer's renewal on the client's clock: a virtual one, moved forward by the tests, so that an hour-long bearer
 * is seen renewed 5 minutes before its expiry without waiting. The API is undici's MockAgent (network disabled), which
 * records the bearer of every request and, like Scalingo, refuses one that has expired.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MockAgent } from 'undici';
import { ScalingoClient } from '../../src/scalingo/client.js';
import { ScalingoApiError } from '../../src/scalingo/errors.js';

const AUTH = 'https://auth.scalingo.com';
const API = 'https://api.osc-fr1.scalingo.com';
const TOKEN = 'tk-us-test-0123456789abcdef';
const JSON_HEADERS = { headers: { 'content-type': 'application/json' } };
/** A whole second: JWT `exp` claims are in seconds. */
const T0 = Date.UTC(2026, 0, 1, 12);
const MIN = 60_000;

/** An unsigned JWT with these claims. */
function jwt(claims: Record<string, unknown>): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
}

/** A bearer named `name` that expires `lifeMs` after the virtual time `at`. */
function bearer(name: string, at: number, lifeMs: number): string {
  return jwt({ exp: (at + lifeMs) / 1000, jti: name });
}

function authorizationOf(opts: { headers?: unknown }): string | undefined {
  const headers = opts.headers;
  if (headers instanceof Headers) return headers.get('authorization') ?? undefined;
  if (typeof headers !== 'object' || headers === null) return undefined;
  const value: unknown = Object.entries(headers).find(([name]) => name.toLowerCase() === 'authorization')?.[1];
  return typeof value === 'string' ? value : undefined;
}

/** The expiry a JWT claims, in ms; undefined without one. */
function expiryOf(token: string): number | undefined {
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      exp?: unknown;
    };
    return typeof claims.exp === 'number' ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

let agent: MockAgent;
let t: number;
/** What each exchange hands out, in order, as a function of the virtual time of the exchange. */
let issue: Array<(at: number) => string>;
/** The virtual time of each exchange. */
let exchangedAt: number[];
/** Each API request: its virtual time and bearer. */
let sent: Array<{ at: number; bearer: string | undefined }>;
/** How many API requests to refuse with a 401 (a bearer revoked on Scalingo's side). */
let refuseNext: number;
let debug: string[];

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
  t = T0;
  issue = [];
  exchangedAt = [];
  sent = [];
  refuseNext = 0;
  debug = [];
  agent
    .get(AUTH)
    .intercept({ path: '/v1/tokens/exchange', method: 'POST' })
    .reply(() => {
      exchangedAt.push(t);
      const next = issue.shift();
      if (!next) throw new Error('an exchange the test did not expect');
      return { statusCode: 200, data: { token: next(t) }, responseOptions: JSON_HEADERS };
    })
    .persist();
  agent
    .get(API)
    .intercept({ path: '/v1/apps/my-app', method: 'GET' })
    .reply<object>((opts) => {
      const auth = authorizationOf(opts);
      const token = auth?.replace(/^Bearer /, '');
      sent.push({ at: t, bearer: token });
      const exp = token === undefined ? undefined : expiryOf(token);
      if (refuseNext > 0 || (exp !== undefined && t >= exp)) {
        refuseNext = Math.max(0, refuseNext - 1);
        return { statusCode: 401, data: { error: 'invalid token' }, responseOptions: JSON_HEADERS };
      }
      return { statusCode: 200, data: { app: { name: 'my-app' } }, responseOptions: JSON_HEADERS };
    })
    .persist();
});

afterEach(async () => {
  await agent.close();
});

function client(): ScalingoClient {
  return new ScalingoClient({
    apiUrl: API,
    authUrl: AUTH,
    apiToken: TOKEN,
    requestTimeoutMs: 1000,
    deadline: T0 + 24 * 60 * MIN,
    userAgent: 'test',
    debug: (m) => debug.push(m),
    onSecret: () => {},
    dispatcher: agent,
    retry: { baseDelayMs: 1, maxDelayMs: 2 },
    now: () => t,
    sleep: async (ms) => void (t += ms),
  });
}

/** The bearers the API requests carried, by name (the JWT's `jti`, else the token itself). */
function bearersSent(): string[] {
  return sent.map(({ bearer: token }) => {
    if (token === undefined) return '(none)';
    try {
      const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
        jti?: unknown;
      };
      return typeof claims.jti === 'string' ? claims.jti : token;
    } catch {
      return token;
    }
  });
}

describe("the bearer on the client's clock", () => {
  it('is exchanged again 5 minutes before the expiry of an hour-long bearer, not a millisecond sooner', async () => {
    issue = [(at) => bearer('first', at, 60 * MIN), (at) => bearer('second', at, 60 * MIN)];
    const c = client();
    await c.getApp('my-app');
    t = T0 + 55 * MIN - 1;
    await c.getApp('my-app');
    expect(exchangedAt).toEqual([T0]);
    expect(debug.join('\n')).not.toContain('about to expire');
    t = T0 + 55 * MIN;
    await c.getApp('my-app');
    t = T0 + 100 * MIN;
    await c.getApp('my-app');
    expect(exchangedAt).toEqual([T0, T0 + 55 * MIN]);
    expect(bearersSent()).toEqual(['first', 'first', 'second', 'second']);
    expect(debug.filter((m) => m === 'bearer token about to expire: exchanging the API token again')).toHaveLength(1);
  });

  it('uses a bearer shorter-lived than 5 minutes for half its life, then renews it', async () => {
    issue = [
      (at) => bearer('4-minute', at, 4 * MIN),
      (at) => bearer('next', at, 4 * MIN),
      (at) => bearer('third', at, 4 * MIN),
    ];
    const c = client();
    await c.exchange();
    await c.getApp('my-app');
    t = T0 + 2 * MIN - 1;
    await c.getApp('my-app');
    t = T0 + 2 * MIN;
    await c.getApp('my-app');
    // The next one was received at 2 min: renewed at 4 min, not before.
    t = T0 + 4 * MIN - 1;
    await c.getApp('my-app');
    t = T0 + 4 * MIN;
    await c.getApp('my-app');
    expect(exchangedAt).toEqual([T0, T0 + 2 * MIN, T0 + 4 * MIN]);
    expect(bearersSent()).toEqual(['4-minute', '4-minute', 'next', 'next', 'third']);
  });

  it('takes a bearer whose JWT has no exp (or that is no JWT) for one hour', async () => {
    issue = [() => jwt({ sub: 'u1', jti: 'no-exp' }), () => 'opaque-bearer', () => 'opaque-bearer-2'];
    const c = client();
    await c.getApp('my-app');
    t = T0 + 55 * MIN - 1;
    await c.getApp('my-app');
    t = T0 + 55 * MIN;
    await c.getApp('my-app');
    t = T0 + 110 * MIN - 1;
    await c.getApp('my-app');
    t = T0 + 110 * MIN;
    await c.getApp('my-app');
    expect(exchangedAt).toEqual([T0, T0 + 55 * MIN, T0 + 110 * MIN]);
    expect(bearersSent()).toEqual(['no-exp', 'no-exp', 'opaque-bearer', 'opaque-bearer', 'opaque-bearer-2']);
  });

  it('never sends a bearer past its expiry: after a long pause, the first request goes with a fresh one', async () => {
    issue = [(at) => bearer('first', at, 60 * MIN), (at) => bearer('second', at, 60 * MIN)];
    const c = client();
    await c.getApp('my-app');
    // The run stood still (a suspended runner) for longer than the bearer's life.
    t = T0 + 3 * 60 * MIN;
    expect(await c.getApp('my-app')).toEqual({ name: 'my-app' });
    expect(bearersSent()).toEqual(['first', 'second']);
    expect(exchangedAt).toEqual([T0, T0 + 3 * 60 * MIN]);
    // No request was refused as expired: none carried a bearer past its exp.
    for (const { at, bearer: token } of sent) expect(at).toBeLessThan(expiryOf(token!)!);
    expect(debug.join('\n')).not.toContain('-> 401');
  });

  it('gets one fresh bearer on a 401 in the middle of a run, keeps it for its own life, and does not loop on a second 401', async () => {
    issue = [
      (at) => bearer('first', at, 60 * MIN),
      (at) => bearer('second', at, 60 * MIN),
      (at) => bearer('third', at, 60 * MIN),
    ];
    const c = client();
    await c.getApp('my-app');
    t = T0 + 10 * MIN;
    refuseNext = 1;
    expect(await c.getApp('my-app')).toEqual({ name: 'my-app' });
    expect(exchangedAt).toEqual([T0, T0 + 10 * MIN]);
    expect(debug.join('\n')).toContain('GET /v1/apps/my-app -> 401: exchanging the API token again and retrying once');
    // The renewed bearer lasts from its own exchange: the first one's renewal time (55 min) no longer applies.
    t = T0 + 64 * MIN;
    await c.getApp('my-app');
    expect(exchangedAt).toEqual([T0, T0 + 10 * MIN]);
    expect(bearersSent()).toEqual(['first', 'first', 'second', 'second']);

    // Refused again with the fresh one: the 401 is the answer, no third exchange.
    refuseNext = 2;
    const err = await c.getApp('my-app').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScalingoApiError);
    expect(err).toMatchObject({ status: 401 });
    expect(exchangedAt).toEqual([T0, T0 + 10 * MIN, T0 + 64 * MIN]);
    expect(bearersSent()).toEqual(['first', 'first', 'second', 'second', 'second', 'third']);
  });

  it('gives concurrent callers one exchange, at the start and at the renewal, the clients of other apps of the step included', async () => {
    issue = [(at) => bearer('first', at, 60 * MIN), (at) => bearer('second', at, 60 * MIN)];
    const step = client();
    const apps = [step, step.derive({}), step.derive({ debug: () => {} })];
    await Promise.all(apps.flatMap((c) => [c.getApp('my-app'), c.getApp('my-app')]));
    expect(exchangedAt).toEqual([T0]);
    t = T0 + 56 * MIN;
    await Promise.all(apps.flatMap((c) => [c.getApp('my-app'), c.bearer(), c.exchange()]));
    expect(exchangedAt).toEqual([T0, T0 + 56 * MIN]);
    expect(bearersSent()).toEqual([...Array<string>(6).fill('first'), ...Array<string>(3).fill('second')]);
  });
});
