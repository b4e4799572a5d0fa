/**
 * Several apps in one step, through the built bundle: the action with two apps (the `apps` output, a summary row
 * per app, log lines marked per app), and the command line in a GitLab pipeline finding its apps through the links.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeGitHub } from '../support/fake-github.js';
import { byAction, byRef, webhook } from '../support/payloads.js';
import { checkEveryRun, IN_STEP_LINK, scanToo, world } from './helpers.js';

checkEveryRun();

const GITHUB_TOKEN = 'ghs_fakeGitHubToken0123456789';
let github: Awaited<ReturnType<typeof startFakeGitHub>> | undefined;
afterEach(async () => {
  await github?.close();
  github = undefined;
});

const push = () => webhook('push', byRef('refs/heads/'));
const GITLAB_PUSH = {
  GITLAB_CI: 'true',
  CI: 'true',
  CI_PIPELINE_SOURCE: 'push',
  CI_COMMIT_BRANCH: 'master',
  CI_COMMIT_SHA: '6113728f27ae82c7b1a177c8d03f9e96e0adf246',
  CI_PROJECT_URL: 'https://github.com/Codertocat/Hello-World',
  CI_SERVER_URL: 'https://github.com',
  SCALINGO_POLL_INTERVAL_SECONDS: '0.05',
  SCALINGO_LOGS: 'false',
};

interface AppOutput {
  app: string;
  'review-app': string;
  'app-url': string;
  'deployment-id': string;
  'deployment-status': string;
  link: string;
  'git-ref': string;
  'timed-out': boolean;
}

describe('several apps', () => {
  it('GitHub: two apps in `app`, an `apps` output with both, a summary row for each, lines marked per app', async () => {
    const w = await world({ apps: { api: {}, web: {} }, links: { api: IN_STEP_LINK, web: IN_STEP_LINK } });
    const r = await w.action({
      event: 'push',
      ref: 'refs/heads/master',
      payload: push(),
      inputs: { app: 'api, web', logs: 'false' },
    });

    expect(r.code).toBe(0);
    const apps = JSON.parse(r.outputs.apps ?? '') as AppOutput[];
    const ids = Object.fromEntries(w.fake.deploymentsCreated().map((d) => [d.app, d.id]));
    expect(apps).toEqual(
      ['api', 'web'].map((app) => ({
        app,
        'review-app': '',
        'app-url': `https://${app}.osc-fr1.scalingo.io`,
        'deployment-id': ids[app],
        'deployment-status': 'success',
        link: 'unchanged',
        'git-ref': expect.any(String),
        'timed-out': false,
      })),
    );
    // Two apps: the single-app outputs are empty.
    expect(r.outputs.app).toBe('');
    expect(r.summary).toMatch(/\| `api` \| ✅ success \|/);
    expect(r.summary).toMatch(/\| `web` \| ✅ success \|/);
    expect(r.stdout).toMatch(/^\[api\] /m);
    expect(r.stdout).toMatch(/^\[web\] /m);
    expect(w.fake.requests.filter((q) => q.path === '/v1/tokens/exchange')).toHaveLength(1);
  });

  it('command line in a GitLab push pipeline with no app: finds the linked apps on the branch, the dotenv carries SCALINGO_APPS', async () => {
    const links: Record<string, object> = { prod: IN_STEP_LINK, staging: { ...IN_STEP_LINK, branch: 'develop' } };
    for (let i = 0; i < 60; i++)
      links[`other-${i}`] = { source: `https://github.com/someone/repo-${i}`, branch: 'master' };
    const w = await world({ apps: Object.fromEntries(Object.keys(links).map((n) => [n, {}])), links });
    const r = await w.cli({ args: [], env: GITLAB_PUSH });

    expect(r.code).toBe(0);
    expect(w.fake.requests.filter((q) => q.path.startsWith('/v1/scm_repo_links')).map((q) => q.path)).toEqual([
      '/v1/scm_repo_links?page=1&per_page=50',
      '/v1/scm_repo_links?page=2&per_page=50',
    ]);
    expect(w.fake.mutating().map((q) => q.path)).toEqual(['/v1/apps/prod/scm_repo_link/manual_deploy']);
    const apps = JSON.parse(r.outputs.SCALINGO_APPS ?? '') as AppOutput[];
    expect(apps.map((a) => [a.app, a['deployment-status']])).toEqual([['prod', 'success']]);
    // Exactly one app: the single-app variables are its own.
    expect(r.outputs.SCALINGO_APP).toBe('prod');
    expect(r.stdout).toContain('Apps linked to https://github.com/Codertocat/Hello-World');
  });

  it('GitHub: a pull request with two apps gets one comment listing both review apps, and a GitHub deployment per app', async () => {
    github = await startFakeGitHub({ repository: 'Codertocat/Hello-World' });
    const gh = github;
    const w = await world({ apps: { front: {}, back: {} }, links: { front: IN_STEP_LINK, back: IN_STEP_LINK } });
    const r = await w.action({
      event: 'pull_request',
      ref: 'refs/pull/2/merge',
      payload: webhook('pull_request', byAction('opened')),
      inputs: {
        app: 'front back',
        logs: 'false',
        comment: 'true',
        'github-deployment': 'true',
        'github-token': GITHUB_TOKEN,
      },
      env: { GITHUB_API_URL: gh.url },
    });
    scanToo(gh.requests.map((q) => JSON.stringify(q.body)).join('\n'));

    expect(r.code).toBe(0);
    expect(gh.state.comments).toHaveLength(1);
    const body = gh.state.comments[0]!.body;
    expect(body).toContain('<!-- scalingo-deploy:back,front -->');
    expect(body).toMatch(/\| `front` \| `front-pr2`.*\| ✅ deployed \|/);
    expect(body).toMatch(/\| `back` \| `back-pr2`.*\| ✅ deployed \|/);
    expect(gh.state.deployments.map((d) => d.environment).sort()).toEqual(['back-pr2', 'front-pr2']);
    const final = gh.state.statuses.filter((st) => st.state === 'success');
    expect(final).toHaveLength(2);
  });
});
