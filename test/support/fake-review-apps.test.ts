/**
 * The fake Scalingo's review apps as Scalingo stores and runs them: a review app's own link stores GitHub's head label
 * (`owner:branch`) and points at the parent's repository, is listed with the other links, and refuses a label as the
 * branch of a manual deploy; the review app list carries Scalingo's sentinel dates; a new review app's first
 * deployment is decided by Scalingo when its creation ends, and comes even if the step deployed it meanwhile.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeScalingo, type FakeScalingo, type ScmRepoLink } from './fake-scalingo.js';

const TOKEN = 'tk-us-test-0123456789abcdef';
const running: FakeScalingo[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((f) => f.close()));
});

interface Answer<T> {
  status: number;
  json: T;
}
type Api = <T = unknown>(method: string, path: string, body?: unknown) => Promise<Answer<T>>;

async function start(
  options: NonNullable<Parameters<typeof startFakeScalingo>[0]> = {},
): Promise<{ fake: FakeScalingo; api: Api }> {
  const fake = await startFakeScalingo({ stream: false, ...options });
  running.push(fake);
  const exchanged = await fetch(`${fake.authUrl}/v1/tokens/exchange`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`:${TOKEN}`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: '{}',
  });
  const { token } = (await exchanged.json()) as { token: string };
  const api: Api = async (method, path, body) => {
    const res = await fetch(`${fake.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : undefined) as never };
  };
  return { fake, api };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const REVIEW_APP = (pr: number) =>
  ['POST', '/v1/apps/my-app/scm_repo_link/manual_review_app', { pull_request_id: pr }] as const;

interface ListedReviewApp {
  app_name: string;
  created_at: string;
  stale_deletion_date: string;
  on_close_deletion_date: string;
  pull_request: { branch_name: string; closed_at: string; source_repo_name: string; source_repo_url: string };
  last_deployment: { created_at: string } | null;
}

describe("a review app's own link", () => {
  it("stores the head label owner:branch, on the parent's repository, and is listed with the other links", async () => {
    const { fake, api } = await start({ pulls: { 2: { head_branch: 'changes' } } });
    expect((await api(...REVIEW_APP(2))).status).toBe(200);

    const own = (await api<{ scm_repo_link: ScmRepoLink }>('GET', '/v1/apps/my-app-pr2/scm_repo_link')).json
      .scm_repo_link;
    const parent = (await api<{ scm_repo_link: ScmRepoLink }>('GET', '/v1/apps/my-app/scm_repo_link')).json
      .scm_repo_link;
    expect(own).toMatchObject({
      owner: 'octo-org',
      repo: 'octo-repo',
      url: 'https://github.com',
      branch: 'octo-org:changes',
      auto_deploy_enabled: true,
    });
    expect(own.auth_integration_uuid).toBe(parent.auth_integration_uuid);

    // Listed as Scalingo lists links: the same objects as GET …/scm_repo_link, every field set, in creation order.
    const list = await api<{ scm_repo_links: ScmRepoLink[] }>('GET', '/v1/scm_repo_links');
    expect(list.json.scm_repo_links).toEqual([parent, own]);
    for (const link of list.json.scm_repo_links) {
      expect(Object.keys(link).sort()).toEqual(Object.keys(parent).sort());
      expect(link.last_auto_deploy_at).toBe('0001-01-01T00:00:00Z');
    }
    const filtered = await api<{ scm_repo_links: ScmRepoLink[] }>(
      'GET',
      `/v1/scm_repo_links?auth_integration_uuid=${parent.auth_integration_uuid}`,
    );
    expect(filtered.json.scm_repo_links).toHaveLength(2);
    expect(
      (await api<{ scm_repo_links: ScmRepoLink[] }>('GET', '/v1/scm_repo_links?auth_integration_uuid=other')).json
        .scm_repo_links,
    ).toEqual([]);
    expect(fake.state.links['my-app-pr2']).toEqual(own);
  });

  it('answers 404 naming no resource to a manual deploy of a label (or anything with a colon), and deploys nothing', async () => {
    const { fake, api } = await start({ pulls: { 2: { head_branch: 'changes' } } });
    await api(...REVIEW_APP(2));
    for (const [app, branch] of [
      ['my-app-pr2', 'octo-org:changes'],
      ['my-app', 'octo-org:main'],
      ['my-app', 'a:b'],
    ] as const) {
      const refused = await api('POST', `/v1/apps/${app}/scm_repo_link/manual_deploy`, { branch });
      expect(refused).toEqual({
        status: 404,
        json: { error: `branch '${branch}' not found in repository octo-org/octo-repo` },
      });
    }
    expect(fake.deploymentsCreated()).toEqual([]);
    // The bare branch deploys, and, the checks being pending, it is the review app's first and only deployment.
    expect((await api('POST', '/v1/apps/my-app-pr2/scm_repo_link/manual_deploy', { branch: 'changes' })).status).toBe(
      200,
    );
    fake.checksPassed();
    expect(fake.deploymentsCreated()).toEqual([
      expect.objectContaining({ app: 'my-app-pr2', branch: 'changes', trigger: 'manual_deploy' }),
    ]);
  });

  it("auto-deploys a push to its pull request's head branch, which it stores as a label", async () => {
    const { fake, api } = await start({ pulls: { 3: { head_branch: 'topic' } } });
    await api(...REVIEW_APP(3));
    await api('POST', '/v1/apps/my-app-pr3/scm_repo_link/manual_deploy', { branch: 'topic' });
    fake.push('topic', 'b'.repeat(40));
    fake.checksPassed();
    const created = fake.deploymentsCreated();
    expect(created.map((d) => [d.app, d.trigger, d.branch])).toEqual([
      ['my-app-pr3', 'manual_deploy', 'topic'],
      ['my-app-pr3', 'auto_deploy', 'topic'],
    ]);
    expect(created[1]?.git_ref).toBe('b'.repeat(40));
    expect(fake.state.links['my-app-pr3']?.last_auto_deploy_at).not.toBe('0001-01-01T00:00:00Z');
  });
});

describe("the review app list's dates", () => {
  it('shows "never" as a far-future date, unset times as Go\'s zero time, the stale date as the last deployment\'s time', async () => {
    const { fake, api } = await start({ pulls: { 4: { head_branch: 'feat', fork: 'someone/octo-repo' } } });
    await api(...REVIEW_APP(4));
    const list = () =>
      api<{ review_apps: ListedReviewApp[] }>('GET', '/v1/apps/my-app/scm_repo_link/review_apps').then(
        (a) => a.json.review_apps[0]!,
      );

    const fresh = await list();
    expect(fresh.on_close_deletion_date).toBe(
      new Date(
        Date.parse(fresh.created_at) + Date.parse('2135-01-17T08:41:44Z') - Date.parse('2023-07-18T16:41:44Z'),
      ).toISOString(),
    );
    expect(fresh.pull_request).toMatchObject({
      closed_at: '0001-01-01T00:00:00Z',
      branch_name: 'someone:feat',
      source_repo_name: 'someone/octo-repo',
      source_repo_url: 'https://github.com/someone/octo-repo',
    });
    expect(fresh.last_deployment).toBeNull();
    expect(fresh.stale_deletion_date).toBe(fresh.created_at);

    await sleep(20);
    await api('POST', '/v1/apps/my-app-pr4/scm_repo_link/manual_deploy', { branch: 'feat' });
    const deployed = await list();
    expect(deployed.stale_deletion_date).toBe(deployed.last_deployment!.created_at);
    expect(Date.parse(deployed.stale_deletion_date)).toBeGreaterThan(Date.parse(deployed.created_at));
    expect(fake.deploymentsCreated()).toHaveLength(1);
  });

  it('keeps "never" for a closed pull request when the parent link does not delete on close', async () => {
    const { fake, api } = await start({ reviewApps: [{ pr: 9, manual: false }] });
    fake.closePull(9);
    const [listed] = (await api<{ review_apps: ListedReviewApp[] }>('GET', '/v1/apps/my-app/scm_repo_link/review_apps'))
      .json.review_apps;
    expect(listed!.pull_request.closed_at).not.toBe('0001-01-01T00:00:00Z');
    expect(new Date(listed!.on_close_deletion_date).getUTCFullYear()).toBeGreaterThan(2130);
  });
});

describe("a new review app's first deployment, as Scalingo decides it", () => {
  it('while Scalingo creates it (reviewAppCreationMs): its app is new, its own link answers 404, a PATCH finds nothing', async () => {
    const { fake, api } = await start({ reviewAppCreationMs: 500, reviewAppChecks: 'passed' });
    expect((await api(...REVIEW_APP(5))).status).toBe(200);
    expect((await api('GET', '/v1/apps/my-app-pr5')).json).toMatchObject({
      app: { name: 'my-app-pr5', status: 'new', last_deployment_id: null },
    });
    const missing = { status: 404, json: { resource: 'scm_repo_link', error: 'not found' } };
    expect(await api('GET', '/v1/apps/my-app-pr5/scm_repo_link')).toEqual(missing);
    expect(
      await api('PATCH', '/v1/apps/my-app-pr5/scm_repo_link', { scm_repo_link: { auto_deploy_enabled: false } }),
    ).toEqual(missing);
    expect(await api('POST', '/v1/apps/my-app-pr5/scm_repo_link/manual_deploy', { branch: 'feature-5' })).toEqual(
      missing,
    );
    expect(
      (await api<{ review_apps: unknown[] }>('GET', '/v1/apps/my-app/scm_repo_link/review_apps')).json.review_apps,
    ).toHaveLength(1);

    await sleep(600);
    // The creation ended with the checks green: Scalingo started the first deployment at once, link auto-deploying.
    expect((await api('GET', '/v1/apps/my-app-pr5/scm_repo_link')).json).toMatchObject({
      scm_repo_link: { auto_deploy_enabled: true, branch: 'octo-org:feature-5' },
    });
    const [first] = fake.deploymentsCreated();
    expect(first).toMatchObject({ app: 'my-app-pr5', trigger: 'review_app', branch: 'feature-5' });
    expect(first!.createdAt - fake.state.reviewApps[0]!.createdAt).toBe(500);
  });

  it('with pending checks: held after the creation until a manual deploy (then never) or checksPassed()', async () => {
    const { fake, api } = await start({ reviewAppCreationMs: 400 });
    await api(...REVIEW_APP(6));
    await api(...REVIEW_APP(7));
    fake.checksPassed('my-app-pr7'); // while it is being created: decided at the creation's end
    await sleep(500);
    expect(fake.deploymentsCreated()).toEqual([expect.objectContaining({ app: 'my-app-pr7', trigger: 'review_app' })]);
    await api('POST', '/v1/apps/my-app-pr6/scm_repo_link/manual_deploy', { branch: 'feature-6' });
    fake.checksPassed();
    expect(fake.deploymentsCreated().map((d) => [d.app, d.trigger])).toEqual([
      ['my-app-pr7', 'review_app'],
      ['my-app-pr6', 'manual_deploy'],
    ]);
  });

  it("a decided first deployment still comes after the step's own manual deploy: two deployments of one commit, one after the other", async () => {
    const { fake, api } = await start({
      reviewAppChecks: 'passed',
      reviewAppDeploymentDelayMs: 400,
      deployScripts: { 'my-app-pr8': { durationMs: 500, final: 'success' } },
    });
    await api(...REVIEW_APP(8));
    expect(
      (await api('PATCH', '/v1/apps/my-app-pr8/scm_repo_link', { scm_repo_link: { auto_deploy_enabled: false } }))
        .status,
    ).toBe(200);
    const mine = (
      await api<{ deployment: { id: string; git_ref: string } }>(
        'POST',
        '/v1/apps/my-app-pr8/scm_repo_link/manual_deploy',
        { branch: 'feature-8' },
      )
    ).json.deployment;
    expect(fake.deploymentsCreated()).toHaveLength(1);
    await sleep(600);
    const [own, scalingos] = fake.deploymentsCreated();
    expect(own).toMatchObject({ id: mine.id, trigger: 'manual_deploy' });
    expect(scalingos).toMatchObject({ trigger: 'review_app', git_ref: mine.git_ref });
    // Appeared 400 ms after the decision (the creation's end), queued behind the step's deployment of the same app.
    expect(scalingos!.createdAt - fake.state.reviewApps[0]!.createdAt).toBe(400);
    expect(scalingos!.createdAt).toBeGreaterThan(own!.createdAt);
    expect(scalingos!.startedAt).toBe(own!.finalAt);
  });

  it('counts deployment-list calls (reviewAppDeploymentDelay) and time (reviewAppDeploymentDelayMs) together', async () => {
    const { fake, api } = await start({
      reviewAppChecks: 'passed',
      reviewAppDeploymentDelay: 1,
      reviewAppDeploymentDelayMs: 400,
    });
    await api(...REVIEW_APP(9));
    const list = () =>
      api<{ deployments: unknown[] }>('GET', '/v1/apps/my-app-pr9/deployments').then((a) => a.json.deployments.length);
    expect(await list()).toBe(0); // the list call it waits for
    expect(await list()).toBe(0); // not yet its time
    await sleep(450);
    expect(await list()).toBe(1);
    expect(fake.deploymentsCreated()).toEqual([expect.objectContaining({ app: 'my-app-pr9', trigger: 'review_app' })]);
  });
});

describe('a review app deleted with its pull request', () => {
  it('ends its deployments under way, which then hold no place in the queue, and the stream goes on', async () => {
    const { fake, api } = await start({
      stream: { tickMs: 5 },
      maxRunningDeployments: 1,
      deployScript: { durationMs: 60_000, final: 'success' },
    });
    await api(...REVIEW_APP(2));
    await api('POST', '/v1/apps/my-app-pr2/scm_repo_link/manual_deploy', { branch: 'feature-2' });
    await api('POST', '/v1/apps/my-app/scm_repo_link/manual_deploy', { branch: 'main' });
    expect(fake.deploymentsCreated().map((d) => d.status)).toEqual(['queued', 'queued']);
    expect(fake.deploymentsCreated()[1]!.startedAt).toBeNull();
    fake.closePull(2);
    await sleep(30);
    const [reviewApps, parents] = fake.deploymentsCreated();
    expect(reviewApps).toMatchObject({ app: 'my-app-pr2', status: 'aborted' });
    expect(parents!.startedAt).toBe(reviewApps!.finalAt);
    expect((await api('GET', '/v1/apps/my-app')).status).toBe(200);
  });
});
