/**
 * The API client against undici's MockAgent, network disabled: bodies, wrappers, statuses, errors. Retries are tested
 * against the fake Scalingo server over real sockets (test/e2e/faults.test.ts): MockAgent keeps delivering a retried
 * response's body after undici's RetryHandler aborted it, which real connections never do.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MockAgent } from 'undici';
import { bearerRefreshAt, jwtExpiry } from '../../src/scalingo/auth.js';
import { ScalingoClient } from '../../src/scalingo/client.js';
import { NetworkError, ScalingoApiError, UnexpectedResponseError } from '../../src/scalingo/errors.js';

const AUTH = 'https://auth.scalingo.com';
const API = 'https://api.osc-fr1.scalingo.com';
const TOKEN = 'tk-us-test-0123456789abcdef';
const BASIC = `Basic ${Buffer.from(`:${TOKEN}`).toString('base64')}`;
const JSON_HEADERS = { headers: { 'content-type': 'application/json' } };

function jwt(expSeconds: number): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'none' })}.${b64({ exp: expSeconds })}.`;
}

let agent: MockAgent;
let secrets: string[];

function client(extra: Partial<ConstructorParameters<typeof ScalingoClient>[0]> = {}) {
  return new ScalingoClient({
    apiUrl: API,
    authUrl: AUTH,
    apiToken: TOKEN,
    requestTimeoutMs: 1000,
    deadline: Date.now() + 60_000,
    userAgent: 'test',
    debug: () => {},
    onSecret: (s) => secrets.push(s),
    dispatcher: agent,
    retry: { baseDelayMs: 1, maxDelayMs: 2 },
    ...extra,
  });
}

function exchanges(bearer: string, times = 1) {
  agent
    .get(AUTH)
    .intercept({ path: '/v1/tokens/exchange', method: 'POST', headers: { authorization: BASIC }, body: '{}' })
    .reply(200, { token: bearer }, JSON_HEADERS)
    .times(times);
}

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
  secrets = [];
});

afterEach(async () => {
  agent.assertNoPendingInterceptors();
  await agent.close();
});

describe('ScalingoClient', () => {
  it('exchanges the token with Basic auth and an empty JSON body, then sends the bearer; every credential is reported as secret', async () => {
    const bearer = jwt(Math.floor(Date.now() / 1000) + 3600);
    exchanges(bearer);
    agent
      .get(API)
      .intercept({
        path: '/v1/apps/my-app/scm_repo_link',
        method: 'GET',
        headers: { authorization: `Bearer ${bearer}` },
      })
      .reply(200, { scm_repo_link: { owner: 'o', repo: 'r', branch: 'main' } }, JSON_HEADERS);
    const c = client();
    expect(await c.getLink('my-app')).toEqual({ owner: 'o', repo: 'r', branch: 'main' });
    expect(secrets).toEqual([TOKEN, BASIC.slice(6), bearer]);
  });

  it('reads a 404 about the link as "no link", but a 404 about the app as an error', async () => {
    exchanges(jwt(Math.floor(Date.now() / 1000) + 3600));
    agent
      .get(API)
      .intercept({ path: '/v1/apps/my-app/scm_repo_link', method: 'GET' })
      .reply(404, { resource: 'scm_repo_link', error: 'not found' }, JSON_HEADERS);
    agent
      .get(API)
      .intercept({ path: '/v1/apps/nope/scm_repo_link', method: 'GET' })
      .reply(404, { resource: 'app', error: 'not found' }, JSON_HEADERS);
    const c = client();
    expect(await c.getLink('my-app')).toBeNull();
    await expect(c.getLink('nope')).rejects.toMatchObject({ status: 404, details: { resource: 'app' } });
  });

  it("settles a 404 that names nothing by looking at the app: no link when the app exists, the app's 404 when not", async () => {
    exchanges(jwt(Math.floor(Date.now() / 1000) + 3600));
    const api = agent.get(API);
    api
      .intercept({ path: '/v1/apps/my-app/scm_repo_link', method: 'GET' })
      .reply(404, { error: 'not found' }, JSON_HEADERS);
    api.intercept({ path: '/v1/apps/my-app', method: 'GET' }).reply(200, { app: { name: 'my-app' } }, JSON_HEADERS);
    api
      .intercept({ path: '/v1/apps/nope/scm_repo_link', method: 'GET' })
      .reply(404, { error: 'not found' }, JSON_HEADERS);
    api.intercept({ path: '/v1/apps/nope', method: 'GET' }).reply(404, { error: 'not found' }, JSON_HEADERS);
    const c = client();
    expect(await c.getLink('my-app')).toBeNull();
    await expect(c.getLink('nope')).rejects.toMatchObject({ status: 404, method: 'GET', path: '/v1/apps/nope' });
  });

  it('deletes a link, counting one already gone as deleted, but not an unknown app', async () => {
    exchanges(jwt(Math.floor(Date.now() / 1000) + 3600));
    const api = agent.get(API);
    api
      .intercept({ path: '/v1/apps/my-app/scm_repo_link', method: 'DELETE' })
      .reply(404, { resource: 'scm_repo_link', error: 'not found' }, JSON_HEADERS);
    api
      .intercept({ path: '/v1/apps/nope/scm_repo_link', method: 'DELETE' })
      .reply(404, { resource: 'app', error: 'not found' }, JSON_HEADERS);
    const c = client();
    await c.deleteLink('my-app');
    await expect(c.deleteLink('nope')).rejects.toMatchObject({ status: 404, details: { resource: 'app' } });
  });

  it('wraps link bodies and sends unwrapped deploy and review app bodies', async () => {
    exchanges(jwt(Math.floor(Date.now() / 1000) + 3600));
    const api = agent.get(API);
    api
      .intercept({
        path: '/v1/apps/my-app/scm_repo_link',
        method: 'POST',
        body: JSON.stringify({
          scm_repo_link: {
            source: 'https://github.com/o/r',
            auth_integration_uuid: 'int-1',
            branch: 'main',
            auto_deploy_enabled: false,
          },
        }),
      })
      .reply(201, { scm_repo_link: { id: 'l1' } }, JSON_HEADERS);
    api
      .intercept({
        path: '/v1/apps/my-app/scm_repo_link',
        method: 'PATCH',
        body: JSON.stringify({ scm_repo_link: { hours_before_delete_stale: 0 } }),
      })
      .reply(200, { scm_repo_link: { id: 'l1', hours_before_delete_stale: 0 } }, JSON_HEADERS);
    api
      .intercept({ path: '/v1/apps/my-app/scm_repo_link/manual_deploy', method: 'POST', body: '{"branch":"main"}' })
      .reply(200, { deployment: { id: 'd1', status: 'queued' } }, JSON_HEADERS);
    api
      .intercept({
        path: '/v1/apps/my-app/scm_repo_link/manual_review_app',
        method: 'POST',
        body: '{"pull_request_id":42}',
      })
      .reply(200, '', {});
    api.intercept({ path: '/v1/apps/my-app/scm_repo_link', method: 'DELETE' }).reply(204, '');
    const c = client();
    expect(
      await c.createLink('my-app', {
        source: 'https://github.com/o/r',
        auth_integration_uuid: 'int-1',
        branch: 'main',
        auto_deploy_enabled: false,
      }),
    ).toEqual({ id: 'l1' });
    expect(await c.updateLink('my-app', { hours_before_delete_stale: 0 })).toEqual({
      id: 'l1',
      hours_before_delete_stale: 0,
    });
    expect(await c.manualDeploy('my-app', 'main')).toEqual({ id: 'd1', status: 'queued' });
    expect(await c.manualReviewApp('my-app', 42)).toBeUndefined();
    await c.deleteLink('my-app');
    expect(c.http.count).toBe(6);
  });

  it('encodes path segments', async () => {
    exchanges(jwt(Math.floor(Date.now() / 1000) + 3600));
    agent
      .get(API)
      .intercept({ path: '/v1/apps/a%2F..%2Fb/deployments/x%3Fy', method: 'GET' })
      .reply(200, { deployment: { id: 'x?y', status: 'success' } }, JSON_HEADERS);
    expect(await client().getDeployment('a/../b', 'x?y')).toEqual({ id: 'x?y', status: 'success' });
  });

  it('turns 422 field errors into a message and keeps them', async () => {
    exchanges(jwt(Math.floor(Date.now() / 1000) + 3600));
    agent
      .get(API)
      .intercept({ path: '/v1/apps/my-app/scm_repo_link', method: 'PATCH' })
      .reply(422, { errors: { hours_before_delete_stale: ['must be greater than or equal to 0'] } }, JSON_HEADERS);
    const err = await client()
      .updateLink('my-app', { hours_before_delete_stale: 1 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ScalingoApiError);
    expect(err).toMatchObject({
      status: 422,
      apiMessage: 'hours_before_delete_stale must be greater than or equal to 0',
      details: { fieldErrors: { hours_before_delete_stale: ['must be greater than or equal to 0'] } },
    });
  });

  it('classifies connection errors: refused is "not sent", a reset is ambiguous', async () => {
    exchanges(jwt(Math.floor(Date.now() / 1000) + 3600));
    const api = agent.get(API);
    api
      .intercept({ path: '/v1/apps/my-app/scm_repo_link/manual_deploy', method: 'POST' })
      .replyWithError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }));
    const c = client();
    const err = await c.manualDeploy('my-app', 'main').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect(err).toMatchObject({ code: 'ECONNRESET', notSent: false });
  });

  it('exchanges again once on a 401 in the middle of a run', async () => {
    const first = jwt(Math.floor(Date.now() / 1000) + 3600);
    const second = jwt(Math.floor(Date.now() / 1000) + 3601);
    exchanges(first);
    exchanges(second);
    const api = agent.get(API);
    api
      .intercept({ path: '/v1/apps/my-app', method: 'GET', headers: { authorization: `Bearer ${first}` } })
      .reply(401, { error: 'invalid token' }, JSON_HEADERS);
    api
      .intercept({ path: '/v1/apps/my-app', method: 'GET', headers: { authorization: `Bearer ${second}` } })
      .reply(200, { app: { name: 'my-app' } }, JSON_HEADERS);
    expect(await client().getApp('my-app')).toEqual({ name: 'my-app' });
  });

  it('plans the renewal 5 minutes before expiry, or at half the life of a shorter-lived bearer', () => {
    const min = 60_000;
    expect(bearerRefreshAt(60 * min, 0)).toBe(55 * min);
    expect(bearerRefreshAt(12 * min, 0)).toBe(7 * min);
    expect(bearerRefreshAt(8 * min, 0)).toBe(4 * min);
    expect(bearerRefreshAt(2000, 0)).toBe(1000);
    expect(bearerRefreshAt(-1000, 0)).toBeLessThan(0);
  });

  it('reports a bad token on the exchange as a 401 of the exchange', async () => {
    agent
      .get(AUTH)
      .intercept({ path: '/v1/tokens/exchange', method: 'POST' })
      .reply(401, { error: 'invalid credentials' }, JSON_HEADERS);
    await expect(client().exchange()).rejects.toMatchObject({ status: 401, path: '/v1/tokens/exchange' });
  });

  it('says what came back when the body is not the promised JSON', async () => {
    exchanges(jwt(Math.floor(Date.now() / 1000) + 3600));
    const api = agent.get(API);
    // A read is tried again on a garbled answer (5 attempts): the last one is reported.
    api
      .intercept({ path: '/v1/apps/my-app/deployments/d1', method: 'GET' })
      .reply(200, '<html><body>Maintenance</body></html>', { headers: { 'content-type': 'text/html' } })
      .times(5);
    api
      .intercept({ path: '/v1/apps/my-app/deployments/d2', method: 'GET' })
      .reply(200, '{"deployment": {"id": "d2", ', JSON_HEADERS)
      .times(5);
    api
      .intercept({ path: '/v1/apps/my-app/deployments/d3', method: 'GET' })
      .reply(200, { deployment: { id: 'd3' } }, JSON_HEADERS);
    const c = client();
    const html = await c.getDeployment('my-app', 'd1').catch((e: unknown) => e);
    expect(html).toBeInstanceOf(UnexpectedResponseError);
    expect((html as Error).message).toBe(
      'Scalingo API answered GET /v1/apps/my-app/deployments/d1 with a text/html body instead of JSON (HTTP 200): "<html><body>Maintenance</body></html>"',
    );
    expect(await c.getDeployment('my-app', 'd2').catch((e: Error) => e.message)).toBe(
      'Scalingo API answered GET /v1/apps/my-app/deployments/d2 with malformed JSON (HTTP 200): "{\\"deployment\\": {\\"id\\": \\"d2\\","',
    );
    expect(await c.getDeployment('my-app', 'd3').catch((e: Error) => e.message)).toContain(
      'a deployment without id or status',
    );
  });

  it('reads the build output, through links.output only on the API host, and 404 as none', async () => {
    exchanges(jwt(Math.floor(Date.now() / 1000) + 3600));
    const api = agent.get(API);
    api
      .intercept({ path: '/v1/deployments/d1/output', method: 'GET' })
      .reply(200, 'line 1\nline 2\n', { headers: { 'content-type': 'text/plain' } });
    api
      .intercept({ path: '/v1/apps/my-app/deployments/d2/output', method: 'GET' })
      .reply(404, { resource: 'deployment', error: 'not found' }, JSON_HEADERS);
    const c = client();
    expect(
      await c.deploymentOutput('my-app', {
        id: 'd1',
        status: 'build-error',
        links: { output: `${API}/v1/deployments/d1/output` },
      }),
    ).toBe('line 1\nline 2\n');
    expect(
      await c.deploymentOutput('my-app', {
        id: 'd2',
        status: 'build-error',
        links: { output: 'https://elsewhere.example/v1/deployments/d2/output' },
      }),
    ).toBeUndefined();
  });
});

describe('jwtExpiry', () => {
  it('reads exp, or assumes one hour', () => {
    expect(jwtExpiry(jwt(2_000_000_000), 0)).toBe(2_000_000_000_000);
    expect(jwtExpiry('not-a-jwt', 1000)).toBe(1000 + 3_600_000);
  });
});
