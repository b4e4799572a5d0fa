/**
 * The fake Scalingo's deployments and wire faults as the real platform behaves: `last_deployment_id` is the last
 * SUCCESSFUL deployment, the list is newest first, deployments wait in Scalingo's queue (one at a time per app, ten at
 * a time per owner), 429 is plain text without Retry-After past 60 requests a minute per token, and a response can be
 * cut in the middle of its body.
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
  const res = await fetch(`${f.authUrl}/v1/tokens/exchange`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`:${TOKEN}`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: '{}',
  });
  const { token } = (await res.json()) as { token: string };
  return { f, bearer: token };
}

const get = (f: FakeScalingo, bearer: string, path: string) =>
  fetch(`${f.apiUrl}${path}`, { headers: { authorization: `Bearer ${bearer}` } });

describe('deployments', () => {
  it('last_deployment_id is the last successful deployment, not the newest; the list is newest first with created_at', async () => {
    const { f, bearer } = await fake({ deployments: { 'my-app': [{ status: 'success' }, { status: 'build-error' }] } });
    const [ok, failed] = f.state.deployments;
    const app = (await (await get(f, bearer, '/v1/apps/my-app')).json()) as { app: { last_deployment_id: string } };
    expect(app.app.last_deployment_id).toBe(ok!.id);
    const list = (await (await get(f, bearer, '/v1/apps/my-app/deployments?per_page=1')).json()) as {
      deployments: { id: string; status: string; created_at: string }[];
    };
    expect(list.deployments).toEqual([
      expect.objectContaining({ id: failed!.id, status: 'build-error', created_at: expect.any(String) }),
    ]);
  });

  it('an app that never deployed successfully has no last_deployment_id', async () => {
    const { f, bearer } = await fake({ deployments: { 'my-app': [{ status: 'crashed-error' }] } });
    const app = (await (await get(f, bearer, '/v1/apps/my-app')).json()) as {
      app: { last_deployment_id: string | null };
    };
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
    const { f, bearer } = await fake({
      faults: [{ kind: 'cut-body', method: 'POST', path: '/v1/apps/my-app/scm_repo_link/manual_deploy' }],
    });
    const url = new URL(`${f.apiUrl}/v1/apps/my-app/scm_repo_link/manual_deploy`);
    const outcome = await new Promise<{ status?: number; length?: string; received: number; error?: string }>(
      (resolve) => {
        const req = request(
          url,
          { method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' } },
          (res) => {
            let received = 0;
            res.on('data', (c: Buffer) => (received += c.length));
            res.on('error', (e) =>
              resolve({ status: res.statusCode, length: res.headers['content-length'], received, error: e.message }),
            );
            res.on('close', () =>
              resolve({
                status: res.statusCode,
                length: res.headers['content-length'],
                received,
                ...(res.complete ? {} : { error: 'incomplete' }),
              }),
            );
          },
        );
        req.on('error', (e) => resolve({ received: 0, error: e.message }));
        req.end(JSON.stringify({ branch: 'main' }));
      },
    );
    expect(outcome.status).toBe(200);
    expect(outcome.error).toBeDefined();
    expect(outcome.received).toBeLessThan(Number(outcome.length));
    expect(f.deploymentsCreated()).toHaveLength(1);
    expect(f.requests.at(-1)).toMatchObject({ processed: true, fault: 'cut-body', status: 200 });
  });
});

describe('the deployment queue, as Scalingo runs deployments', () => {
  const deploy = (f: FakeScalingo, bearer: string, app: string) =>
    fetch(`${f.apiUrl}/v1/apps/${app}/scm_repo_link/manual_deploy`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify({ branch: 'main' }),
    }).then(async (res) => ((await res.json()) as { deployment: { id: string; status: string } }).deployment);
  const statusOf = async (f: FakeScalingo, bearer: string, app: string, id: string) =>
    ((await (await get(f, bearer, `/v1/apps/${app}/deployments/${id}`)).json()) as { deployment: { status: string } })
      .deployment.status;

  it('runs one deployment of an app at a time: a later one stays queued, then counts its duration from its start', async () => {
    const { f, bearer } = await fake({ deployScript: { durationMs: 1000, final: 'success' } });
    const first = await deploy(f, bearer, 'my-app');
    const second = await deploy(f, bearer, 'my-app');
    expect(await statusOf(f, bearer, 'my-app', second.id)).toBe('queued');
    expect(f.deploymentTimeline(second.id)?.startedAt).toBeNull();
    await new Promise((r) => setTimeout(r, 1100));
    const [one, two] = f.deploymentsCreated();
    expect(one).toMatchObject({
      id: first.id,
      status: 'success',
      startedAt: one!.createdAt,
      finalAt: one!.createdAt + 1000,
    });
    expect(two!.startedAt).toBe(one!.finalAt);
    expect(two!.status).not.toBe('success');
    await new Promise((r) => setTimeout(r, 1000));
    expect(f.deploymentTimeline(second.id)).toMatchObject({ status: 'success', finalAt: one!.finalAt! + 1000 });
  });

  it('runs at most 10 deployments of one owner at once (maxRunningDeployments), the rest queued in order', async () => {
    const apps = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`app-${i}`, {}]));
    // Read-driven scripts: a deployment runs until a read shows it done, whatever the time it takes here.
    const { f, bearer } = await fake({ apps, deployScript: ['queued', 'success'] });
    const ids = [];
    for (const app of Object.keys(apps)) ids.push((await deploy(f, bearer, app)).id);
    expect(f.deploymentsCreated().map((d) => d.startedAt === null)).toEqual([...Array(10).fill(false), true, true]);
    expect(f.deploymentTimeline(ids[10]!)?.status).toBe('queued');
    // The first ones to end free the slots, in creation order.
    expect(await statusOf(f, bearer, 'app-1', ids[1]!)).toBe('success');
    const [, one, , , , , , , , , ten, eleven] = f.deploymentsCreated();
    expect(ten!.startedAt).toBe(one!.finalAt);
    expect(eleven!.startedAt).toBeNull();
    expect(await statusOf(f, bearer, 'app-0', ids[0]!)).toBe('success');
    expect(f.deploymentTimeline(ids[11]!)?.startedAt).toBe(f.deploymentTimeline(ids[0]!)?.finalAt);
  });

  it('can be turned off: deployOnePerApp false and maxRunningDeployments 0 run everything at once', async () => {
    const apps = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`app-${i}`, {}]));
    const { f, bearer } = await fake({
      apps,
      deployOnePerApp: false,
      maxRunningDeployments: 0,
      deployScript: { durationMs: 500, final: 'success' },
    });
    for (const app of Object.keys(apps)) await deploy(f, bearer, app);
    await deploy(f, bearer, 'app-0');
    expect(f.deploymentsCreated().every((d) => d.startedAt === d.createdAt)).toBe(true);
  });

  it('with read-driven scripts, a read of a queued deployment moves the one it waits for', async () => {
    const { f, bearer } = await fake({ deployScript: ['queued', 'building', 'success'] });
    const first = await deploy(f, bearer, 'my-app');
    const second = await deploy(f, bearer, 'my-app');
    const seen = [];
    for (let i = 0; i < 5; i++) seen.push(await statusOf(f, bearer, 'my-app', second.id));
    // Two reads move the first to success, then the second runs its own script from its start.
    expect(seen).toEqual(['queued', 'queued', 'building', 'success', 'success']);
    expect(f.deploymentTimeline(first.id)).toMatchObject({ status: 'success' });
  });
});
