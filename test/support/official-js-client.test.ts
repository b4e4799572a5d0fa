/**
 * Scalingo's own JS client (npm `scalingo`, Scalingo/scalingo.js) drives the fake Scalingo over 127.0.0.1: the token
 * exchange, the link (find, create, update), a manual deploy followed on the deployments stream with the client's
 * Listener until success, the deployment's logs, a manual review app and the review app list. A test double that
 * Scalingo's own client can use is a stronger check than one our own client agrees with.
 */
import { clientFromToken, type Client } from 'scalingo';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeScalingo, type FakeScalingo } from './fake-scalingo.js';

const TOKEN = 'tk-us-test-0123456789abcdef';
const SOURCE = 'https://github.com/octo-org/octo-repo';

const running: FakeScalingo[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((fake) => fake.close()));
});

/** The client's `APIError` (not exported by the package): the status and the parsed body. */
interface ClientError {
  _status: number;
  _data: unknown;
}
async function failure(promise: Promise<unknown>): Promise<ClientError> {
  try {
    await promise;
  } catch (error) {
    return error as ClientError;
  }
  throw new Error('the call succeeded');
}

type Event = { kind: 'new' | 'log' | 'status'; id?: string; data: Record<string, unknown> };

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("Scalingo's own JS client against the fake", () => {
  it('exchanges the token, links the app, deploys it and follows the deployment on the stream, reads its logs, makes a review app', async () => {
    const fake = await startFakeScalingo({
      links: {},
      pulls: { 2: { head_branch: 'feature' } },
      deployScript: { durationMs: 400, final: 'success' },
      // The client opens the stream without an Origin header (Node's `ws`); whether Scalingo requires one is unknown.
      stream: { options: { origin: null } },
    });
    running.push(fake);

    const client: Client = await clientFromToken(TOKEN, { apiUrl: fake.apiUrl, authApiUrl: fake.authUrl });
    expect(fake.requests[0]).toMatchObject({
      service: 'auth',
      method: 'POST',
      path: '/v1/tokens/exchange',
      status: 200,
    });
    expect(fake.requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from(`:${TOKEN}`).toString('base64')}`);
    await expect(
      clientFromToken('tk-us-wrong', { apiUrl: fake.apiUrl, authApiUrl: fake.authUrl }),
    ).rejects.toMatchObject({ _status: 401 });

    // The link: none yet (404 naming the resource), created, updated.
    const [integration] = (await client.SCMIntegrations.all()).filter((i) => i.url === 'https://github.com');
    expect(integration).toMatchObject({ id: 'int-github-1', scm_type: 'github' });
    expect(await failure(client.SCMRepoLinks.find('my-app'))).toMatchObject({
      _status: 404,
      _data: { resource: 'scm_repo_link', error: 'not found' },
    });
    const created = await client.SCMRepoLinks.create('my-app', {
      source: SOURCE,
      auth_integration_uuid: integration!.id,
      branch: 'main',
      auto_deploy_enabled: false,
    });
    expect(created).toMatchObject({ owner: 'octo-org', repo: 'octo-repo', branch: 'main', auto_deploy_enabled: false });
    const updated = await client.SCMRepoLinks.update('my-app', {
      delete_on_close_enabled: true,
      hours_before_delete_on_close: 0,
    });
    expect(updated).toMatchObject({ delete_on_close_enabled: true, branch: 'main' });
    expect(await client.SCMRepoLinks.find('my-app')).toEqual(updated);

    // The deployments stream, through the client's Listener (the URL read from the app).
    const events: Event[] = [];
    const listener = await client.Apps.deploymentListener('my-app');
    listener.onNew((e) => events.push({ kind: 'new', data: e as unknown as Record<string, unknown> }));
    listener.onLog((e) => events.push({ kind: 'log', id: e.id, data: { content: e.content } }));
    listener.onStatus((e) => events.push({ kind: 'status', id: e.id, data: { status: e.status } }));
    try {
      await until(() => fake.stream!.authenticated() === 1);
      const deployment = await client.SCMRepoLinks.manualDeploy('my-app', 'main');
      expect(deployment).toMatchObject({ status: 'queued', pusher: { username: 'test-user' } });
      await until(() =>
        events.some((e) => e.kind === 'status' && e.id === deployment.id && e.data.status === 'success'),
      );

      const mine = events.filter((e) => e.kind === 'new' || e.id === deployment.id);
      expect(mine[0]).toMatchObject({
        kind: 'new',
        data: { deployment: { id: deployment.id, pusher: { username: 'test-user' } } },
      });
      expect(mine.filter((e) => e.kind === 'status').map((e) => e.data.status)).toEqual([
        'queued',
        'building',
        'pushing',
        'starting',
        'success',
      ]);
      const lines = mine.filter((e) => e.kind === 'log').map((e) => String(e.data.content));
      expect(lines.length).toBeGreaterThan(5);

      // Its logs and the list of deployments.
      const logs: string = await client.Deployments.logs('my-app', deployment.id);
      expect(logs).toBe(`${lines.join('\n')}\n`);
      expect((await client.Deployments.find('my-app', deployment.id)).status).toBe('success');
      const list = await client.Deployments.for('my-app', { page: 1, per_page: 5 });
      expect(list.deployments.map((d) => d.id)).toEqual([deployment.id]);
      expect(list.meta.pagination).toMatchObject({ current_page: 1, total_count: 1 });
    } finally {
      listener.close();
    }

    // A manual review app (the client sends the number as a string), then the list.
    const reviewApp = await client.SCMRepoLinks.manualReviewApp('my-app', '2');
    expect(reviewApp).toMatchObject({
      app_name: 'my-app-pr2',
      parent_app_name: 'my-app',
      pull_request: { number: 2, branch_name: 'octo-org:feature' },
    });
    const reviewApps = await client.SCMRepoLinks.reviewApps('my-app');
    expect(reviewApps).toEqual([expect.objectContaining({ app_name: 'my-app-pr2', last_deployment: null })]);
    expect(await client.SCMRepoLinks.find('my-app-pr2')).toMatchObject({
      owner: 'octo-org',
      repo: 'octo-repo',
      branch: 'octo-org:feature',
      auto_deploy_enabled: true,
    });

    // Its branch as Scalingo stores it is no branch to deploy: 404 naming no resource; the bare branch deploys.
    expect(await failure(client.SCMRepoLinks.manualDeploy('my-app-pr2', 'octo-org:feature'))).toMatchObject({
      _status: 404,
      _data: { error: expect.stringContaining('not found') },
    });
    expect(
      (await failure(client.SCMRepoLinks.manualDeploy('my-app-pr2', 'octo-org:feature')))._data,
    ).not.toHaveProperty('resource');
    await client.SCMRepoLinks.update('my-app-pr2', { auto_deploy_enabled: false });
    const first = await client.SCMRepoLinks.manualDeploy('my-app-pr2', 'feature');
    expect(fake.deploymentsCreated().map((d) => [d.app, d.id, d.branch])).toEqual([
      ['my-app', expect.any(String), 'main'],
      ['my-app-pr2', first.id, 'feature'],
    ]);
  });
});
