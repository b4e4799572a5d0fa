import { afterEach, describe, expect, it } from 'vitest';
import { startFakeGitHub, type FakeGitHub, type FakeGitHubOptions } from './fake-github.js';
import { startFakeScalingo, type FakeScalingo, type FakeScalingoOptions, type ScmRepoLink } from './fake-scalingo.js';

const TOKEN = 'tk-us-test-0123456789abcdef';
const SOURCE = 'https://github.com/octo-org/octo-repo';

/** A response; `json` is the parsed body (undefined when it is not JSON), typed by the caller. */
interface Answer<T> {
  status: number;
  contentType: string | null;
  text: string;
  json: T;
}

/** The parts of API objects these tests read. */
interface Deployment {
  id: string;
  status: string;
  finished_at: string | null;
  links: { output: string };
}
interface ReviewApp {
  app_name: string;
  last_deployment: { upstream_deployment_id: string; status: string; created_at: string } | null;
  on_close_deletion_date: string | null;
  stale_deletion_date: string | null;
  pull_request: { closed_at: string };
}
interface Comment {
  url: string;
  body: string;
}

const running: Array<{ close: () => Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close()));
});

async function scalingo(options: FakeScalingoOptions = {}): Promise<FakeScalingo> {
  const fake = await startFakeScalingo(options);
  running.push(fake);
  return fake;
}

async function github(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const fake = await startFakeGitHub(options);
  running.push(fake);
  return fake;
}

async function call<T = unknown>(
  url: string,
  init: { method?: string; authorization?: string; body?: unknown } = {},
): Promise<Answer<T>> {
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers: {
      accept: 'application/json',
      ...(init.authorization && { authorization: init.authorization }),
      ...(init.body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(init.body !== undefined && { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, contentType: response.headers.get('content-type'), text, json: json as T };
}

const basic = (token: string, username = '') => `Basic ${Buffer.from(`${username}:${token}`).toString('base64')}`;

async function exchange(fake: FakeScalingo, token = TOKEN): Promise<string> {
  const answer = await call<{ token: string }>(`${fake.authUrl}/v1/tokens/exchange`, {
    method: 'POST',
    authorization: basic(token),
    body: {},
  });
  expect(answer.status).toBe(200);
  return answer.json.token;
}

/** A client of the regional API with a fresh bearer token. */
async function apiClient(fake: FakeScalingo) {
  const bearer = `Bearer ${await exchange(fake)}`;
  return <T = unknown>(method: string, path: string, body?: unknown) =>
    call<T>(`${fake.apiUrl}${path}`, { method, authorization: bearer, body });
}

type ApiClient = Awaited<ReturnType<typeof apiClient>>;

const deploy = (api: ApiClient) =>
  api<{ deployment: Deployment }>('POST', '/v1/apps/my-app/scm_repo_link/manual_deploy', { branch: 'main' });

describe('fake Scalingo: authentication', () => {
  it('exchanges a valid API token for an unsigned JWT with exp', async () => {
    const fake = await scalingo({ bearerTtlSeconds: 600 });
    const jwt = await exchange(fake);
    const [header, payload, signature] = jwt.split('.');
    expect(JSON.parse(Buffer.from(header!, 'base64url').toString())).toEqual({ alg: 'none', typ: 'JWT' });
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    expect(claims.exp - claims.iat).toBe(600);
    expect(signature).toBe('');
    expect(fake.requests[0]).toMatchObject({
      service: 'auth',
      method: 'POST',
      path: '/v1/tokens/exchange',
      body: {},
      processed: true,
      status: 200,
    });

    const integrations = await call(`${fake.authUrl}/v1/scm_integrations`, { authorization: `Bearer ${jwt}` });
    expect(integrations.status).toBe(200);
  });

  it('answers 401 to bad tokens, a non-empty username and missing bearers', async () => {
    const fake = await scalingo();
    const exchangeUrl = `${fake.authUrl}/v1/tokens/exchange`;
    for (const authorization of [basic('tk-us-wrong'), basic(TOKEN, 'user'), `Bearer ${TOKEN}`]) {
      const answer = await call(exchangeUrl, { method: 'POST', authorization, body: {} });
      expect(answer.status).toBe(401);
      expect(answer.json).toEqual({ error: expect.any(String) });
    }
    expect((await call(`${fake.apiUrl}/v1/apps/my-app`)).status).toBe(401);
    expect((await call(`${fake.apiUrl}/v1/apps/my-app`, { authorization: 'Bearer forged' })).status).toBe(401);
  });

  it('rejects every bearer issued before revokeBearers()', async () => {
    const fake = await scalingo();
    const api = await apiClient(fake);
    expect((await api('GET', '/v1/apps/my-app')).status).toBe(200);
    fake.revokeBearers();
    const answer = await api('GET', '/v1/apps/my-app');
    expect(answer.status).toBe(401);
    expect(answer.json).toEqual({ error: 'invalid token' });
    expect((await (await apiClient(fake))('GET', '/v1/apps/my-app')).status).toBe(200);
  });

  it("serves the integrations on the auth host only, and no route that neither the product nor Scalingo's clients call", async () => {
    const fake = await scalingo();
    const authorization = `Bearer ${await exchange(fake)}`;
    const list = await call(`${fake.authUrl}/v1/scm_integrations`, { authorization });
    expect(list.json).toEqual({
      scm_integrations: [
        expect.objectContaining({
          id: 'int-github-1',
          scm_type: 'github',
          url: 'https://github.com',
          username: 'octocat',
          access_token: expect.any(String),
        }),
      ],
    });
    expect((await call(`${fake.apiUrl}/v1/scm_integrations`, { authorization })).status).toBe(404);
    const api = await apiClient(fake);
    for (const path of [
      '/v1/apps/my-app/scm_repo_link/pulls',
      '/v1/apps/my-app/scm_repo_link/branches',
      '/v1/apps/my-app/scm_repo_link/deployments',
    ]) {
      expect((await api('GET', path)).json).toEqual({ error: 'not found' });
    }
  });

  it("serves what Scalingo's CLI reads on the auth service: the user, the regions, an integration by id or by type", async () => {
    const fake = await scalingo();
    const authorization = `Bearer ${await exchange(fake)}`;
    const self = await call(`${fake.authUrl}/v1/users/self`, { authorization });
    expect(self).toMatchObject({
      status: 200,
      json: {
        user: { id: expect.stringMatching(/^us-/), username: 'test-user', email: 'test-user@example.com', flags: {} },
      },
    });
    expect((await call(`${fake.authUrl}/v1/users/self`)).status).toBe(401);

    // The CLI lists the regions with and without a bearer.
    for (const auth of [authorization, undefined]) {
      const regions = await call<{ regions: unknown[] }>(
        `${fake.authUrl}/v1/regions`,
        auth ? { authorization: auth } : {},
      );
      expect(regions.json.regions).toEqual([
        {
          name: 'osc-fr1',
          display_name: 'Paris - 3DS Outscale',
          api: fake.apiUrl,
          dashboard: 'https://my.osc-fr1.scalingo.com',
          database_api: 'https://db-api.osc-fr1.scalingo.com',
          ssh: 'ssh.osc-fr1.scalingo.com:22',
          default: true,
        },
      ]);
    }
    expect((await call(`${fake.authUrl}/v1/regions`, { authorization: 'Bearer forged' })).status).toBe(401);

    const byId = await call(`${fake.authUrl}/v1/scm_integrations/int-github-1`, { authorization });
    const byType = await call(`${fake.authUrl}/v1/scm_integrations/github`, { authorization });
    expect(byId.json).toEqual({
      scm_integration: expect.objectContaining({ id: 'int-github-1', scm_type: 'github', url: 'https://github.com' }),
    });
    expect(byType.json).toEqual(byId.json);
    expect((await call(`${fake.authUrl}/v1/scm_integrations/gitlab`, { authorization })).json).toEqual({
      resource: 'scm_integration',
      error: 'not found',
    });
  });
});

describe('fake Scalingo: list of links', () => {
  it("lists every link of the user, every repository's, page by page with meta.pagination", async () => {
    const links: Record<string, { source?: string; branch?: string }> = {};
    for (let i = 0; i < 7; i++) links[`app-${i}`] = i % 2 ? { source: `https://github.com/other/repo-${i}` } : {};
    const fake = await scalingo({ apps: Object.fromEntries(Object.keys(links).map((n) => [n, {}])), links });
    const api = await apiClient(fake);
    const first = (await api('GET', '/v1/scm_repo_links?page=1&per_page=3')).json as {
      scm_repo_links: { app_id: string; repo: string }[];
      meta: unknown;
    };
    expect(first.scm_repo_links).toHaveLength(3);
    expect(first.meta).toEqual({
      pagination: { current_page: 1, prev_page: null, next_page: 2, total_pages: 3, total_count: 7 },
    });
    const last = (await api('GET', '/v1/scm_repo_links?page=3&per_page=3')).json as {
      scm_repo_links: unknown[];
      meta: unknown;
    };
    expect(last.scm_repo_links).toHaveLength(1);
    expect(last.meta).toEqual({
      pagination: { current_page: 3, prev_page: 2, next_page: null, total_pages: 3, total_count: 7 },
    });
    expect(first.scm_repo_links.map((l) => l.repo)).toEqual(['octo-repo', 'repo-1', 'octo-repo']);
  });

  it('can count its rate limit over a shorter window (tests scale the minute down)', async () => {
    const fake = await scalingo({ rateLimitPerMinute: 2, rateLimitWindowMs: 300 });
    const api = await apiClient(fake);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await api('GET', '/v1/apps/my-app')).status);
    expect(statuses).toEqual([200, 200, 429]);
    await new Promise((r) => setTimeout(r, 350));
    expect((await api('GET', '/v1/apps/my-app')).status).toBe(200);
  });
});

describe('fake Scalingo: SCM repo link', () => {
  it('creates, shows, updates and deletes a link with the documented statuses', async () => {
    const fake = await scalingo({ links: {} });
    const api = await apiClient(fake);
    const path = '/v1/apps/my-app/scm_repo_link';

    const missing = await api('GET', path);
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ resource: 'scm_repo_link', error: 'not found' });

    const created = await api('POST', path, {
      scm_repo_link: { source: SOURCE, auth_integration_uuid: 'int-github-1', branch: 'main' },
    });
    expect(created.status).toBe(201);
    expect(created.contentType).toBe('application/json; charset=utf-8');
    expect(created.json).toHaveProperty('scm_repo_link');
    expect(fake.state.links['my-app']).toMatchObject({
      url: 'https://github.com',
      owner: 'octo-org',
      repo: 'octo-repo',
      branch: 'main',
      scm_type: 'github',
      auto_deploy_enabled: false,
      hours_before_delete_stale: 0,
      last_auto_deploy_at: '0001-01-01T00:00:00Z', // Go's zero time: never auto-deployed
    });

    const patched = await api<{ scm_repo_link: ScmRepoLink }>('PATCH', path, {
      scm_repo_link: { auto_deploy_enabled: true, unknown_key: 1 },
    });
    expect(patched.status).toBe(200);
    expect(patched.json.scm_repo_link).toMatchObject({ branch: 'main', auto_deploy_enabled: true });
    expect(fake.state.links['my-app']?.auto_deploy_enabled).toBe(true);
    expect((await api('GET', path)).json).toEqual(patched.json);

    const deleted = await api('DELETE', path);
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expect((await api('GET', path)).status).toBe(404);
  });

  it('validates create and update bodies', async () => {
    const fake = await scalingo({
      links: { 'my-app': { source: SOURCE } },
      apps: { 'my-app': {}, other: {} },
      unreachableRepos: ['https://github.com/octo-org/private'],
    });
    const api = await apiClient(fake);
    const create = (body: unknown) => api('POST', '/v1/apps/other/scm_repo_link', body);

    expect((await create({ source: SOURCE, auth_integration_uuid: 'int-github-1' })).status).toBe(422); // unwrapped
    expect((await create({ scm_repo_link: { auth_integration_uuid: 'int-github-1' } })).json).toEqual({
      errors: { source: ["can't be blank"] },
    });
    expect((await create({ scm_repo_link: { source: SOURCE, auth_integration_uuid: 'nope' } })).json).toHaveProperty(
      'errors.auth_integration_uuid',
    );
    const hours = await create({
      scm_repo_link: { source: SOURCE, auth_integration_uuid: 'int-github-1', hours_before_delete_stale: -1 },
    });
    expect(hours.json).toHaveProperty('errors.hours_before_delete_stale');
    const unreachable = await create({
      scm_repo_link: { source: 'https://github.com/octo-org/private', auth_integration_uuid: 'int-github-1' },
    });
    expect(unreachable.status).toBe(404);
    expect(unreachable.json).toEqual({ error: 'repository not found or not accessible' });

    // Scalingo's CLI sends an empty branch when none is given: the repository's default branch.
    const noBranch = await create({
      scm_repo_link: { source: SOURCE, auth_integration_uuid: 'int-github-1', branch: '' },
    });
    expect(noBranch).toMatchObject({ status: 201, json: { scm_repo_link: { branch: 'main' } } });
    expect((await api('PATCH', '/v1/apps/other/scm_repo_link', { scm_repo_link: { branch: '' } })).json).toEqual({
      errors: { branch: ["can't be blank"] },
    });

    const duplicate = await api('POST', '/v1/apps/my-app/scm_repo_link', {
      scm_repo_link: { source: SOURCE, auth_integration_uuid: 'int-github-1' },
    });
    expect(duplicate.json).toEqual({ errors: { app: ['is already linked to a repository'] } });
    expect(
      (await api('PATCH', '/v1/apps/my-app/scm_repo_link', { scm_repo_link: { delete_stale_enabled: 'yes' } })).status,
    ).toBe(422);
    expect((await api('GET', '/v1/apps/ghost/scm_repo_link')).json).toEqual({ resource: 'app', error: 'not found' });
    expect((await api('POST', '/v1/apps/my-app/scm_repo_link/manual_deploy', '{"branch": ')).json).toEqual({
      error: 'invalid JSON',
    });
  });
});

describe('fake Scalingo: deployments', () => {
  it('creates a queued deployment on manual_deploy and advances it one step per GET', async () => {
    const fake = await scalingo();
    const api = await apiClient(fake);
    const deployed = await deploy(api);
    expect(deployed.status).toBe(200);
    const { id, status, links } = deployed.json.deployment;
    expect(status).toBe('queued');
    expect(links.output).toMatch(new RegExp(`^${fake.apiUrl}/v1/apps/[^/]+/deployments/${id}/output$`));

    const show = () => api<{ deployment: Deployment }>('GET', `/v1/apps/my-app/deployments/${id}`);
    const seen = [];
    for (let i = 0; i < 5; i += 1) seen.push((await show()).json.deployment.status);
    expect(seen).toEqual(['building', 'pushing', 'starting', 'success', 'success']);

    expect((await show()).json.deployment.finished_at).toEqual(expect.any(String));
    const output = await call(links.output, { authorization: fake.requests.at(-1)!.headers.authorization });
    expect(output.contentType).toMatch(/^text\/plain/);
    expect(output.text).toContain('https://my-app.osc-fr1.scalingo.io');
    expect((await api('GET', '/v1/apps/my-app')).json).toMatchObject({ app: { last_deployment_id: id } });
    expect(fake.deploymentsCreated()).toEqual([
      expect.objectContaining({ id, app: 'my-app', trigger: 'manual_deploy', status: 'success' }),
    ]);

    expect((await api('POST', '/v1/apps/my-app/scm_repo_link/manual_deploy', {})).json).toEqual({
      errors: { branch: ["can't be blank"] },
    });
  });

  it('follows per-app scripts and reports failures in the log', async () => {
    const fake = await scalingo({ deployScripts: { 'my-app': ['queued', 'build-error'] } });
    const api = await apiClient(fake);
    const { id } = (await deploy(api)).json.deployment;
    expect((await api('GET', `/v1/apps/my-app/deployments/${id}`)).json).toMatchObject({
      deployment: { status: 'build-error' },
    });
    expect((await api('GET', `/v1/apps/my-app/deployments/${id}/output`)).text).toMatch(/Build failed/);
    expect((await api('GET', '/v1/apps/my-app/deployments/unknown')).json).toEqual({
      resource: 'deployment',
      error: 'not found',
    });
  });

  it('runs timed scripts on the wall clock', async () => {
    const fake = await scalingo({ deployScript: { durationMs: 200, final: 'crashed-error' } });
    const api = await apiClient(fake);
    const { id } = (await deploy(api)).json.deployment;
    expect(fake.deploymentTimeline(id)?.finalAt).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect((await api('GET', `/v1/apps/my-app/deployments/${id}`)).json).toMatchObject({
      deployment: { status: 'crashed-error' },
    });
    const timeline = fake.deploymentTimeline(id)!;
    expect(timeline.finalAt! - timeline.createdAt).toBe(200);
  });

  it('lists deployments newest first with pagination', async () => {
    const fake = await scalingo();
    const api = await apiClient(fake);
    const ids = [];
    for (let i = 0; i < 3; i += 1) ids.push((await deploy(api)).json.deployment.id);
    const page = await api<{ deployments: Deployment[]; meta: unknown }>(
      'GET',
      '/v1/apps/my-app/deployments?page=1&per_page=2',
    );
    expect(page.json.deployments.map((d) => d.id)).toEqual([ids[2], ids[1]]);
    expect(page.json.meta).toEqual({
      pagination: { current_page: 1, prev_page: null, next_page: 2, total_pages: 2, total_count: 3 },
    });
  });
});

describe('fake Scalingo: review apps', () => {
  it('creates a review app with its own auto-deploying link, holds its first deployment, then lists it', async () => {
    const fake = await scalingo({ pulls: { 42: { head_branch: 'feat/login', title: 'Login' } } });
    const api = await apiClient(fake);
    const created = await api('POST', '/v1/apps/my-app/scm_repo_link/manual_review_app', { pull_request_id: '42' });
    expect(created.status).toBe(200);
    expect(created.json).toMatchObject({
      review_app: { app_name: 'my-app-pr42', parent_app_name: 'my-app', pull_request: { number: 42, title: 'Login' } },
    });
    // Its own link: the parent's repository, the pull request's head label as branch, auto-deploying.
    const own = await api('GET', '/v1/apps/my-app-pr42/scm_repo_link');
    expect(own.json).toMatchObject({
      scm_repo_link: {
        owner: 'octo-org',
        repo: 'octo-repo',
        branch: 'octo-org:feat/login',
        auto_deploy_enabled: true,
        deploy_review_apps_enabled: false,
      },
    });

    const list = await api<{ review_apps: ReviewApp[] }>('GET', '/v1/apps/my-app/scm_repo_link/review_apps');
    expect(list.json.review_apps).toHaveLength(1);
    expect(list.json.review_apps[0]?.last_deployment).toBeNull();
    // The CI checks are pending: no deployment starts by itself, however long one looks.
    const listDeployments = () => api<{ deployments: Deployment[] }>('GET', '/v1/apps/my-app-pr42/deployments');
    for (let i = 0; i < 3; i++) expect((await listDeployments()).json.deployments).toEqual([]);
    expect(fake.deploymentsCreated()).toEqual([]);

    // A manual deploy on the review app is its first deployment, and the only one once the checks pass.
    const deployed = await api<{ deployment: Deployment }>('POST', '/v1/apps/my-app-pr42/scm_repo_link/manual_deploy', {
      branch: 'feat/login',
    });
    expect(deployed.status).toBe(200);
    fake.checksPassed();
    expect(fake.deploymentsCreated()).toEqual([
      expect.objectContaining({ app: 'my-app-pr42', trigger: 'manual_deploy', branch: 'feat/login' }),
    ]);
    const listed = await api<{ review_apps: ReviewApp[] }>('GET', '/v1/apps/my-app/scm_repo_link/review_apps');
    expect(listed.json.review_apps[0]?.last_deployment?.upstream_deployment_id).toBe(deployed.json.deployment.id);

    const again = await api('POST', '/v1/apps/my-app/scm_repo_link/manual_review_app', { pull_request_id: 42 });
    expect(again.status).toBe(422);
    expect(again.json).toHaveProperty('errors.pull_request_id');
    expect(
      (await api('POST', '/v1/apps/my-app/scm_repo_link/manual_review_app', { pull_request_id: 'x' })).status,
    ).toBe(422);
  });

  it('starts a held first deployment by itself once the checks pass, unless its link no longer auto-deploys', async () => {
    const fake = await scalingo();
    const api = await apiClient(fake);
    await api('POST', '/v1/apps/my-app/scm_repo_link/manual_review_app', { pull_request_id: 1 });
    await api('POST', '/v1/apps/my-app/scm_repo_link/manual_review_app', { pull_request_id: 2 });
    await api('PATCH', '/v1/apps/my-app-pr2/scm_repo_link', { scm_repo_link: { auto_deploy_enabled: false } });
    fake.checksPassed();
    expect(fake.deploymentsCreated()).toEqual([
      expect.objectContaining({ app: 'my-app-pr1', trigger: 'review_app', branch: 'feature-1' }),
    ]);
  });

  it("deploys a push to a review app's branch once the checks pass, while its link auto-deploys", async () => {
    const fake = await scalingo({
      reviewApps: [
        { pr: 3, head_branch: 'topic' },
        { pr: 4, head_branch: 'other', auto_deploy_enabled: false },
      ],
    });
    fake.push('topic', 'a'.repeat(40));
    fake.push('other');
    expect(fake.deploymentsCreated()).toEqual([]);
    fake.checksPassed();
    expect(fake.deploymentsCreated()).toEqual([
      expect.objectContaining({ app: 'my-app-pr3', trigger: 'auto_deploy', branch: 'topic', git_ref: 'a'.repeat(40) }),
    ]);
  });

  it("names the fork's owner in the head label of a review app of a pull request from a fork, on the parent's repository", async () => {
    const fake = await scalingo({ pulls: { 5: { head_branch: 'patch-1', fork: 'someone/octo-repo' } } });
    const api = await apiClient(fake);
    await api('POST', '/v1/apps/my-app/scm_repo_link/manual_review_app', { pull_request_id: 5 });
    expect(fake.state.links['my-app-pr5']).toMatchObject({
      owner: 'octo-org',
      repo: 'octo-repo',
      branch: 'someone:patch-1',
    });
    const list = await api<{ review_apps: { pull_request: { branch_name: string; source_repo_name: string } }[] }>(
      'GET',
      '/v1/apps/my-app/scm_repo_link/review_apps',
    );
    expect(list.json.review_apps[0]?.pull_request).toMatchObject({
      branch_name: 'someone:patch-1',
      source_repo_name: 'someone/octo-repo',
    });
    const pull = await api('GET', '/v1/apps/my-app/scm_repo_link/pulls/5');
    expect(pull.json).toEqual({
      pull: {
        id: expect.any(Number),
        number: 5,
        title: 'Pull request #5',
        html_url: 'https://github.com/octo-org/octo-repo/pull/5',
        source_repo_name: 'someone/octo-repo',
        source_repo_html_url: 'https://github.com/someone/octo-repo',
        opened_from_a_forked_repo: true,
      },
    });
    expect((await api('GET', '/v1/apps/my-app/scm_repo_link/pulls/6')).json).toMatchObject({
      pull: { number: 6, opened_from_a_forked_repo: false },
    });
    expect((await api('GET', '/v1/apps/my-app/scm_repo_link/pulls/abc')).status).toBe(404);
  });

  it('answers the review app list with 404 when the parent has no link', async () => {
    const fake = await scalingo({ links: {} });
    const api = await apiClient(fake);
    const list = await api('GET', '/v1/apps/my-app/scm_repo_link/review_apps');
    expect(list).toMatchObject({ status: 404, json: { resource: 'scm_repo_link', error: 'not found' } });
  });

  it('deletes a manual review app when its pull request closes; keeps an automatic one with its deletion dates', async () => {
    const fake = await scalingo({
      links: {
        'my-app': {
          delete_on_close_enabled: true,
          hours_before_delete_on_close: 2,
          delete_stale_enabled: true,
          hours_before_delete_stale: 48,
        },
      },
      reviewApps: [{ pr: 7 }, { pr: 8, manual: false }],
    });
    const api = await apiClient(fake);
    const before = await api<{ review_apps: ReviewApp[] }>('GET', '/v1/apps/my-app/scm_repo_link/review_apps');
    expect(before.json.review_apps.map((ra) => ra.app_name)).toEqual(['my-app-pr7', 'my-app-pr8']);
    for (const ra of before.json.review_apps) {
      // Open: "never" is a far-future date (the docs' example: 2135), closed_at is Go's zero time, and the stale date
      // is the last deployment's time plus the parent link's hours.
      expect(new Date(ra.on_close_deletion_date!).getUTCFullYear()).toBeGreaterThan(2130);
      expect(ra.pull_request.closed_at).toBe('0001-01-01T00:00:00Z');
      expect(Date.parse(ra.stale_deletion_date!) - Date.parse(ra.last_deployment!.created_at)).toBe(48 * 3_600_000);
    }
    fake.closePull(7);
    fake.closePull(8);
    expect((await api('GET', '/v1/apps/my-app-pr7')).json).toEqual({ resource: 'app', error: 'not found' });
    const after = await api<{ review_apps: ReviewApp[] }>('GET', '/v1/apps/my-app/scm_repo_link/review_apps');
    expect(after.json.review_apps).toEqual([
      expect.objectContaining({ app_name: 'my-app-pr8', on_close_deletion_date: expect.any(String) }),
    ]);
    const closedAt = Date.parse(String(after.json.review_apps[0]?.pull_request.closed_at));
    expect(Date.parse(String(after.json.review_apps[0]?.on_close_deletion_date)) - closedAt).toBe(2 * 3_600_000);
  });

  it('supports seeded review apps, body variants and a first deployment that starts by itself', async () => {
    const fake = await scalingo({
      reviewApps: [{ pr: 7, head_branch: 'feature-x' }],
      reviewAppResponse: 'no-body',
      reviewAppExists: 'ok',
      reviewAppChecks: 'passed',
      reviewAppDeploymentDelay: 1,
    });
    const api = await apiClient(fake);
    const seeded = await api('GET', '/v1/apps/my-app/scm_repo_link/review_apps');
    expect(seeded.json).toMatchObject({
      review_apps: [{ app_name: 'my-app-pr7', last_deployment: { status: 'success' } }],
    });

    const existing = await api('POST', '/v1/apps/my-app/scm_repo_link/manual_review_app', { pull_request_id: 7 });
    expect(existing).toMatchObject({ status: 200, text: '' });

    await api('POST', '/v1/apps/my-app/scm_repo_link/manual_review_app', { pull_request_id: 8 });
    const listDeployments = () => api<{ deployments: Deployment[] }>('GET', '/v1/apps/my-app-pr8/deployments');
    expect((await listDeployments()).json.deployments).toEqual([]);
    expect((await listDeployments()).json.deployments).toHaveLength(1);
    expect(fake.deploymentsCreated()).toEqual([expect.objectContaining({ app: 'my-app-pr8', trigger: 'review_app' })]);
  });
});

describe('fake Scalingo: faults', () => {
  it('answers a status fault once without processing, then works again', async () => {
    const fake = await scalingo();
    const api = await apiClient(fake);
    fake.fault({
      kind: 'status',
      status: 503,
      service: 'api',
      method: 'POST',
      path: /manual_deploy$/,
      headers: { 'retry-after': '1' },
    });
    const failed = await deploy(api);
    expect(failed.status).toBe(503);
    expect(failed.json).toEqual({ error: expect.any(String) });
    expect(fake.requests.at(-1)).toMatchObject({ fault: 'status', processed: false });
    expect(fake.deploymentsCreated()).toHaveLength(0);
    expect((await deploy(api)).status).toBe(200);
    expect(fake.deploymentsCreated()).toHaveLength(1);
  });

  it('drops the connection before or after processing', async () => {
    const fake = await scalingo();
    const api = await apiClient(fake);

    fake.fault({ kind: 'reset-before', path: '/v1/apps/my-app/scm_repo_link/manual_deploy' });
    await expect(deploy(api)).rejects.toThrow();
    expect(fake.requests.at(-1)).toMatchObject({ fault: 'reset-before', processed: false });
    expect(fake.deploymentsCreated()).toHaveLength(0);

    fake.fault({ kind: 'reset-after', path: '/v1/apps/my-app/scm_repo_link/manual_deploy' });
    await expect(deploy(api)).rejects.toThrow();
    expect(fake.requests.at(-1)).toMatchObject({ fault: 'reset-after', processed: true });
    expect(fake.deploymentsCreated()).toHaveLength(1);
    expect(fake.mutating().map((r) => r.path)).toEqual(Array(2).fill('/v1/apps/my-app/scm_repo_link/manual_deploy'));
  });

  it('rate-limits with a plain-text body', async () => {
    const fake = await scalingo({ rateLimitPerMinute: 2 });
    const api = await apiClient(fake);
    expect((await api('GET', '/v1/apps/my-app')).status).toBe(200);
    expect((await api('GET', '/v1/apps/my-app')).status).toBe(200);
    const limited = await api('GET', '/v1/apps/my-app');
    expect(limited).toMatchObject({ status: 429, text: 'Retry later' });
    expect(limited.contentType).toMatch(/^text\/plain/);

    fake.setScenario({ rateLimitPerMinute: undefined });
    fake.fault({ kind: 'rate-limit', retryAfter: 2 });
    expect((await api('GET', '/v1/apps/my-app')).text).toBe('Retry later');
  });

  it('serves HTML, malformed JSON, unknown statuses and delays', async () => {
    const fake = await scalingo();
    const api = await apiClient(fake);
    const { id } = (await deploy(api)).json.deployment;
    const path = `/v1/apps/my-app/deployments/${id}`;

    fake.fault({ kind: 'html', path });
    expect(await api('GET', path)).toMatchObject({ status: 502, contentType: 'text/html; charset=utf-8' });
    fake.fault({ kind: 'malformed-json', path });
    const malformed = await api('GET', path);
    expect(malformed.status).toBe(200);
    expect(malformed.json).toBeUndefined();
    fake.fault({ kind: 'unknown-status', value: 'exploded', path });
    expect((await api('GET', path)).json).toMatchObject({ deployment: { status: 'exploded' } });
    // Only processed reads advance the script: html and malformed-json did not.
    fake.fault({ kind: 'delay', ms: 100, path, after: 1 });
    expect((await api('GET', path)).json).toMatchObject({ deployment: { status: 'pushing' } });
    const started = Date.now();
    expect((await api('GET', path)).json).toMatchObject({ deployment: { status: 'starting' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  });

  it('leaves a request hanging after processing it, without blocking close()', async () => {
    const fake = await scalingo();
    const api = await apiClient(fake);
    fake.fault({ kind: 'hang-after', path: '/v1/apps/my-app/scm_repo_link/manual_deploy' });
    const hanging = deploy(api);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fake.deploymentsCreated()).toHaveLength(1);
    await fake.close();
    await expect(hanging).rejects.toThrow();
  });
});

describe('fake GitHub', () => {
  it('creates, updates and lists issue comments across pages', async () => {
    const fake = await github({
      existingComments: { 5: ['first', 'second', { body: 'third', login: 'someone-else' }] },
    });
    const authorization = 'token ghs_test';
    const comments = `${fake.url}/repos/octo-org/octo-repo/issues/5/comments`;

    const created = await call<Comment>(comments, {
      method: 'POST',
      authorization,
      body: { body: '<!-- marker --> hello' },
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      body: '<!-- marker --> hello',
      user: { login: 'github-actions[bot]', type: 'Bot' },
    });

    const updated = await call(created.json.url, {
      method: 'PATCH',
      authorization,
      body: { body: '<!-- marker --> bye' },
    });
    expect(updated.status).toBe(200);
    expect(fake.state.comments.at(-1)?.body).toBe('<!-- marker --> bye');

    const response = await fetch(`${comments}?per_page=2`, { headers: { authorization } });
    expect(response.headers.get('link')).toContain('rel="next"');
    const second = await call<Comment[]>(`${comments}?per_page=2&page=2`, { authorization });
    expect(second.json.map((c) => c.body)).toEqual(['third', '<!-- marker --> bye']);

    expect((await call(comments)).status).toBe(401);
    expect((await call(`${fake.url}/repos/octo-org/octo-repo/pulls/5`, { authorization })).json).toMatchObject({
      message: 'Not Found',
    });
  });

  it('records deployments and statuses, and injects status faults', async () => {
    const fake = await github({ tokens: ['good'] });
    const authorization = 'Bearer good';
    const base = `${fake.url}/repos/octo-org/octo-repo/deployments`;
    expect((await call(base, { method: 'POST', authorization: 'Bearer bad', body: { ref: 'main' } })).json).toEqual({
      message: 'Bad credentials',
    });

    const deployment = await call<{ id: number }>(base, {
      method: 'POST',
      authorization,
      body: { ref: 'main', environment: 'review-pr42', transient_environment: true },
    });
    expect(deployment.status).toBe(201);
    fake.fault({ kind: 'status', status: 502 });
    expect(
      (
        await call(`${base}/${deployment.json.id}/statuses`, {
          method: 'POST',
          authorization,
          body: { state: 'success' },
        })
      ).status,
    ).toBe(502);
    const status = await call(`${base}/${deployment.json.id}/statuses`, {
      method: 'POST',
      authorization,
      body: { state: 'success', environment_url: 'https://my-app-pr42.osc-fr1.scalingo.io' },
    });
    expect(status.status).toBe(201);
    const listed = await call(`${base}/${deployment.json.id}/statuses`, { authorization });
    expect(listed.json).toEqual([expect.objectContaining({ state: 'success', environment: 'review-pr42' })]);
    expect(fake.state.statuses).toHaveLength(1);
  });
});
