import { describe, expect, it } from 'vitest';
import { branchName, decideAction, findReviewApp, linkSource, matchIntegrations, newDeployment, planLink, readAhead, sameRepository, tokenDecision } from '../../src/core/plan.js';
import { parseSettings } from '../../src/core/settings.js';
import type { CiContext, CiEvent } from '../../src/core/event.js';
import { GITHUB_TERMS } from '../../src/platform/github/terms.js';
import { GITLAB_TERMS } from '../../src/platform/gitlab/terms.js';
import type { ScmRepoLink } from '../../src/scalingo/types.js';

const settings = (inputs: Record<string, string> = {}) =>
  parseSettings((n) => ({ app: 'my-app', source: 'https://github.com/octo-org/octo-repo', ...inputs })[n]);

const LINK: ScmRepoLink = {
  url: 'https://github.com', owner: 'octo-org', repo: 'octo-repo', branch: 'main',
  auto_deploy_enabled: true, deploy_review_apps_enabled: false, automatic_creation_from_forks_allowed: false,
  delete_on_close_enabled: true, hours_before_delete_on_close: 0, delete_stale_enabled: false, hours_before_delete_stale: 0,
};

const ctx = (event: CiEvent, eventName = 'push'): CiContext => ({ platform: 'github', terms: GITHUB_TERMS, eventName, event });

describe('planLink', () => {
  it('creates a missing link with every given setting and the pushed branch', () => {
    const plan = planLink(null, settings({ 'auto-deploy': 'false', 'hours-before-delete-stale': '0' }), 'feature');
    expect(plan).toEqual({
      kind: 'create',
      settings: { branch: 'feature', auto_deploy_enabled: false, hours_before_delete_stale: 0 },
      changes: [
        { field: 'branch', input: 'branch', from: undefined, to: 'feature' },
        { field: 'auto_deploy_enabled', input: 'auto-deploy', from: undefined, to: false },
        { field: 'hours_before_delete_stale', input: 'hours-before-delete-stale', from: undefined, to: 0 },
      ],
    });
  });

  it('prefers the branch input over the event branch for a new link', () => {
    const plan = planLink(null, settings({ branch: 'production' }), 'feature');
    expect(plan.kind === 'create' && plan.settings.branch).toBe('production');
  });

  it('changes nothing when every given setting already matches', () => {
    expect(planLink(LINK, settings({ branch: 'main', 'auto-deploy': 'true', 'delete-on-close': 'true' }), 'main')).toEqual({ kind: 'unchanged' });
    expect(planLink(LINK, settings(), 'other')).toEqual({ kind: 'unchanged' });
  });

  it('updates only the given settings that differ', () => {
    const plan = planLink(LINK, settings({ branch: 'main', 'auto-deploy': 'false', 'review-apps': 'true', 'delete-on-close': 'true' }), 'main');
    expect(plan).toEqual({
      kind: 'update',
      settings: { auto_deploy_enabled: false, deploy_review_apps_enabled: true },
      changes: [
        { field: 'auto_deploy_enabled', input: 'auto-deploy', from: true, to: false },
        { field: 'deploy_review_apps_enabled', input: 'review-apps', from: false, to: true },
      ],
    });
  });

  it('refuses a link to another repository', () => {
    expect(planLink({ ...LINK, repo: 'other' }, settings(), 'main')).toEqual({ kind: 'conflict', linkedTo: 'https://github.com/octo-org/other' });
  });

  it('compares repositories without case, scheme, .git or trailing slash', () => {
    expect(sameRepository('https://github.com/Octo-Org/Octo-Repo.git', 'http://github.com/octo-org/octo-repo/')).toBe(true);
    expect(sameRepository('https://github.com/a/b', 'https://gitlab.com/a/b')).toBe(false);
    expect(linkSource({ url: 'https://github.com/', owner: 'a', repo: 'b' })).toBe('https://github.com/a/b');
    expect(linkSource(null)).toBeUndefined();
  });

  it('matches a link that does not give its SCM URL by owner/repo, and still sees a different repository', () => {
    const { url: _url, ...noUrl } = LINK;
    expect(linkSource(noUrl)).toBe('octo-org/octo-repo');
    expect(planLink({ ...noUrl, branch: 'main' }, settings({ branch: 'main' }), 'main')).toEqual({ kind: 'unchanged' });
    expect(planLink({ ...noUrl, repo: 'other' }, settings(), 'main')).toEqual({ kind: 'conflict', linkedTo: 'octo-org/other' });
    expect(sameRepository('Octo-Org/Octo-Repo', 'https://gitlab.example.com/octo-org/octo-repo.git')).toBe(true);
    expect(sameRepository('https://github.com/group/sub/repo', 'group/sub/repo')).toBe(true);
  });
});

describe('decideAction', () => {
  it('deploys a push to the followed branch, and nothing for another branch or a tag', () => {
    expect(decideAction(settings(), ctx({ kind: 'push', branch: 'main' }), 'main')).toMatchObject({ kind: 'deploy', branch: 'main' });
    expect(decideAction(settings(), ctx({ kind: 'push', branch: 'feature' }), 'main')).toMatchObject({ kind: 'none', reason: expect.stringContaining('follows main') });
    expect(decideAction(settings(), ctx({ kind: 'tag', tag: 'v1.0.0' }), 'main')).toMatchObject({ kind: 'none', reason: expect.stringContaining('tag v1.0.0') });
    expect(decideAction(settings(), ctx({ kind: 'push', branch: 'main', deleted: true }), 'main')).toMatchObject({ kind: 'none' });
  });

  it('makes review apps on opened/synchronize, and reports on closed', () => {
    const pr = { number: 42, headBranch: 'feature', fork: false };
    expect(decideAction(settings(), ctx({ kind: 'pull-request', action: 'open', rawAction: 'opened', pr }, 'pull_request'), 'main')).toMatchObject({ kind: 'review-app', pr });
    expect(decideAction(settings(), ctx({ kind: 'pull-request', action: 'update', rawAction: 'synchronize', pr }, 'pull_request'), 'main')).toMatchObject({ kind: 'review-app' });
    expect(decideAction(settings(), ctx({ kind: 'pull-request', action: 'close', rawAction: 'closed', pr }, 'pull_request'), 'main')).toMatchObject({ kind: 'review-app-closed' });
    expect(decideAction(settings(), ctx({ kind: 'pull-request', action: 'other', rawAction: 'labeled', pr }, 'pull_request'), 'main')).toMatchObject({ kind: 'none' });
  });

  it('deploys `branch`, else the ref branch, on manual and scheduled runs', () => {
    expect(decideAction(settings({ branch: 'prod' }), ctx({ kind: 'manual', trigger: 'workflow_dispatch', branch: 'dev' }), 'prod')).toMatchObject({ kind: 'deploy', branch: 'prod' });
    expect(decideAction(settings(), ctx({ kind: 'manual', trigger: 'schedule', branch: 'dev' }), 'main')).toMatchObject({ kind: 'deploy', branch: 'dev' });
    expect(decideAction(settings(), ctx({ kind: 'manual', trigger: 'workflow_dispatch', tag: 'v1' }), undefined)).toMatchObject({ kind: 'none' });
    // On a tag, not even the followed branch: the user picked the tag's code, which a branch deploy would not be.
    expect(decideAction(settings(), ctx({ kind: 'manual', trigger: 'workflow_dispatch', tag: 'v1' }), 'main')).toEqual({ kind: 'none', reason: 'workflow_dispatch run on tag v1: set `branch` to deploy' });
    expect(decideAction(settings({ branch: 'prod' }), ctx({ kind: 'manual', trigger: 'workflow_dispatch', tag: 'v1' }), 'prod')).toMatchObject({ kind: 'deploy', branch: 'prod' });
  });

  it('only reconciles the link on other events', () => {
    expect(decideAction(settings(), ctx({ kind: 'other', name: 'release' }), 'main')).toMatchObject({ kind: 'none', reason: expect.stringContaining('release') });
  });

  it('follows explicit commands', () => {
    const push = ctx({ kind: 'push', branch: 'feature' });
    expect(decideAction(settings({ command: 'deploy' }), push, 'main')).toMatchObject({ kind: 'deploy', branch: 'feature' });
    expect(decideAction(settings({ command: 'deploy', branch: 'main' }), push, 'main')).toMatchObject({ kind: 'deploy', branch: 'main' });
    expect(decideAction(settings({ command: 'link' }), push, 'main')).toMatchObject({ kind: 'none' });
    expect(decideAction(settings({ command: 'unlink' }), push, 'main')).toMatchObject({ kind: 'unlink' });
    expect(decideAction(settings({ command: 'review-app', 'pull-request': '7' }), push, 'main')).toMatchObject({ kind: 'review-app', pr: { number: 7 } });
    expect(decideAction(settings({ command: 'review-app' }), push, 'main')).toMatchObject({ kind: 'none', reason: expect.stringContaining('pull-request') });
    expect(decideAction(settings({ command: 'deploy' }), ctx({ kind: 'none' }), undefined)).toMatchObject({ kind: 'none', reason: expect.stringContaining('branch') });
  });
});

describe('the decisions the run makes before acting', () => {
  const pr = { number: 7, fork: true, headBranch: 'feature' };
  const prEvent: CiEvent = { kind: 'pull-request', action: 'open', rawAction: 'opened', pr };

  it('reads ahead the app for a deploy, the review apps for a pull request, nothing for the rest', () => {
    expect(readAhead('auto', { kind: 'push', branch: 'main' })).toEqual({ app: true, reviewApps: false });
    expect(readAhead('auto', { kind: 'manual', trigger: 'schedule' })).toEqual({ app: true, reviewApps: false });
    expect(readAhead('auto', prEvent)).toEqual({ app: false, reviewApps: true });
    expect(readAhead('deploy', prEvent)).toEqual({ app: true, reviewApps: false });
    expect(readAhead('review-app', { kind: 'none' })).toEqual({ app: false, reviewApps: true });
    expect(readAhead('link', { kind: 'push', branch: 'main' })).toEqual({ app: false, reviewApps: false });
    expect(readAhead('unlink', prEvent)).toEqual({ app: false, reviewApps: false });
  });

  it('skips a fork\'s pull request without a token, unless told to fail; fails any other run without one', () => {
    const withToken = (token: string, inputs: Record<string, string> = {}) => ({ ...settings(inputs), apiToken: token });
    expect(tokenDecision(withToken(''), prEvent)).toBe('skip');
    expect(tokenDecision(withToken('', { 'fail-without-token': 'true' }), prEvent)).toBe('missing');
    expect(tokenDecision(withToken(''), { ...prEvent, pr: { ...pr, fork: false } } as CiEvent)).toBe('missing');
    expect(tokenDecision(withToken(''), { kind: 'push', branch: 'main' })).toBe('missing');
    expect(tokenDecision(withToken('tk-us-0123456789 abcdef'), prEvent)).toBe('malformed');
    expect(tokenDecision(withToken('tk-us-0123456789\n'), prEvent)).toBe('malformed');
    expect(tokenDecision(withToken('tk-us-0123456789abcdef'), prEvent)).toBe('use');
  });

  it('matches the SCM integration by the repository\'s host, or the CI server it lives under', () => {
    const integrations = [
      { id: 'gh', url: 'https://github.com' }, { id: 'gl', url: 'https://gitlab.example.com/' }, { id: 'sub', url: 'https://example.com/gitlab' }, { id: 'none' },
    ];
    expect(matchIntegrations(integrations, 'https://GitHub.com/o/r', undefined)).toEqual({ origin: 'https://github.com', matches: [integrations[0]] });
    expect(matchIntegrations(integrations, 'https://gitlab.example.com/g/r', undefined).matches.map((i) => i.id)).toEqual(['gl']);
    expect(matchIntegrations(integrations, 'https://example.com/gitlab/g/r', 'https://example.com/gitlab/').matches.map((i) => i.id)).toEqual(['sub']);
    expect(matchIntegrations(integrations, 'https://example.com/gitlab/g/r', undefined).matches).toEqual([]);
  });

  it('finds the deployment a trigger started: the oldest one newer than the previous latest', () => {
    const d = (id: string, created_at?: string) => ({ id, status: 'queued', ...(created_at ? { created_at } : {}) });
    expect(newDeployment([d('d4'), d('d3'), d('d2'), d('d1')], 'd2', 0)?.id).toBe('d3');
    expect(newDeployment([d('d2'), d('d1')], 'd2', 0)).toBeUndefined();
  });

  it('without a known previous one, the oldest created since the trigger, give or take two minutes of clock skew', () => {
    const since = Date.parse('2026-01-01T12:00:00Z');
    const recent = [
      { id: 'later', status: 'queued', created_at: '2026-01-01T12:00:30Z' },
      { id: 'ours', status: 'queued', created_at: '2026-01-01T11:59:00Z' },
      { id: 'old', status: 'success', created_at: '2026-01-01T11:50:00Z' },
      { id: 'undated', status: 'success' },
    ];
    expect(newDeployment(recent, undefined, since)?.id).toBe('ours');
    expect(newDeployment(recent, 'gone-from-the-page', since)?.id).toBe('ours');
    expect(newDeployment(recent.slice(2), undefined, since)).toBeUndefined();
  });

  it('finds a review app by its pull request number, and reads its branch without an owner prefix', () => {
    const list = [{ app_name: 'my-app-pr7', pull_request: { number: '7', branch_name: 'octocat:feature' } }, { app_name: 'x', pull_request: null }];
    expect(findReviewApp(list, 7)?.app_name).toBe('my-app-pr7');
    expect(findReviewApp(list, 8)).toBeUndefined();
    expect(branchName('octocat:feature')).toBe('feature');
    expect(branchName('feature')).toBe('feature');
    expect(branchName(undefined)).toBeUndefined();
  });

  it('says pull requests and inputs in the words of the context', () => {
    const gitlab: CiContext = { platform: 'gitlab', terms: { ...GITLAB_TERMS, name: (i) => `--${i}`, setting: (i, v) => `--${i}=${v}` }, eventName: 'merge_request_event', event: { ...prEvent, action: 'close', rawAction: 'closed' } as CiEvent };
    expect(decideAction(settings(), gitlab, 'main').reason).toBe('merge request !7 closed');
    expect(decideAction(settings(), { ...gitlab, event: { kind: 'tag', tag: 'v1' } }, 'main').reason).toBe('push of tag v1: tags are not deployed (use `--command=deploy` with `--branch` to deploy a given ref)');
    expect(decideAction(settings(), ctx({ kind: 'tag', tag: 'v1' }), 'main').reason).toBe('push of tag v1: tags are not deployed (use `command: deploy` with `branch` to deploy a given ref)');
    expect(decideAction(settings(), ctx(prEvent, 'pull_request'), 'main').reason).toBe('pull request #7 opened');
  });
});
