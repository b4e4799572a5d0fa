/**
 * The fake Scalingo's deployments and wire faults as the real platform behaves: `last_deployment_id` is the last
 * SUCCESSFUL deployment, the list is newest first, 429 is plain text without Retry-After past 60 requests a minute per
 * token, and a response can be cut in the middle of its body.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeScalingo, type FakeScalingo, type FakeScalingoOptions } from './fake-scalingo.js';

const TOKEN = 'tk-us-test-0123456789abcdef';
const running: FakeScalingo[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((f) => f.close()));
});

async function fake(options: FakeScalingoOptions = {}): Promise<{ f: FakeScalingo; bearer: string }> {
  const f = await startFakeScalingo(options);
  running.push(f);
  const res = await fetch(`${f.authUrl}/v1/tokens/exchange`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`:${TOKEN}`).toString('base64')}`, 'content-type': 'application/json' }, body: '{}' });
  const { token } = (await res.json()) as { token: string };
  return { f, bearer: token };
}

const get = (f: FakeScalingo, bearer: string, path: string) => fetch(`${f.apiUrl}${path}`, { headers: { authorization: `Bearer ${bearer}` } });

describe('deployments', () => {
  it('last_deployment_id is the last successful deployment, not the newest; the list is newest first with created_at', async () => {
    const { f, bearer } = await fake({ deployments: { 'my-app': [{ status: 'success' }, { status: 'build-error' }] } });
    const [ok, failed] = f.state.deployments;
    const app = (await (await get(f, bearer, '/v1/apps/my-app')).json()) as { app: { last_deployment_id: string } };
    expect(app.app.last_deployment_id).toBe(ok!.id);
    const list = (await (await get(f, bearer, '/v1/apps/my-app/deployments?per_page=1')).json()) as { deployments: { id: string; status: string; created_at: string }[] };
    expect(list.deployments).toEqual([expect.objectContaining({ id: failed!.id, status: 'build-error', created_at: expect.any(String) })]);
  });

  it('an app that never deployed successfully has no last_deployment_id', async () => {
    const { f, bearer } = await fake({ deployments: { 'my-app': [{ status: 'crashed-error' }] } });
    const app = (await (await get(f, bearer, '/v1/apps/my-app')).json()) as { app: { last_deployment_id: string | null } };
    expect(app.app.last_deployment_id).toBeNull();
  });
});

describe('wire faults', () => {
  it('429 past the rate limit, per token, in plain text and without Retry-After', async () => {
    const { f, bearer } = await fake({ rateLimitPerMinute: 3 });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await get(f, bearer, '/v1/apps/my-app')).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await get(f, bearer, '/v1/apps/my-app');
    expect(limited.headers.get('retry-after')).toBeNull();
    expect(limited.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await limited.text()).toBe('Retry later');
    expect(f.requests.at(-1)).toMatchObject({ status: 429, processed: false });
  });

  it('cut-body: the request is processed, its answer sends the headers and half the body, then the connection is lost', async () => {
    const { f, bearer } = await fake({ faults: [{ kind: 'cut-body', method: 'POST', path: '/v1/apps/my-app/scm_repo_link/manual_deploy' }] });
    const url = new URL(`${f.apiUrl}/v1/apps/my-app/scm_repo_link/manual_deploy`);
    const outcome = await new Promise<{ status?: number; length?: string; received: number; error?: string }>((resolve) => {
      const req = request(url, { method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' } }, (res) => {
        let received = 0;
        res.on('data', (c: Buffer) => (received += c.length));
        res.on('error', (e) => resolve({ status: res.statusCode, length: res.headers['content-length'], received, error: e.message }));
        res.on('close', () => resolve({ status: res.statusCode, length: res.headers['content-length'], received, ...(res.complete ? {} : { error: 'incomplete' }) }));
      });
      req.on('error', (e) => resolve({ received: 0, error: e.message }));
      req.end(JSON.stringify({ branch: 'main' }));
    });
    expect(outcome.status).toBe(200);
    expect(outcome.error).toBeDefined();
    expect(outcome.received).toBeLessThan(Number(outcome.length));
    expect(f.deploymentsCreated()).toHaveLength(1);
    expect(f.requests.at(-1)).toMatchObject({ processed: true, fault: 'cut-body', status: 200 });
  });
});
