import { describe, expect, it } from 'vitest';
import { linkSource, sameRepository } from '../../src/core/repository.js';
import {
  decideAction,
  expectedCommit,
  matchIntegrations,
  newDeployment,
  CLOCK_SKEW_MS,
  planLink,
  readAhead,
  tokenDecision,
} from '../../src/core/plan.js';
import { parseSettings } from '../../src/core/settings.js';
import type { CiContext, CiEvent } from '../../src/core/event.js';
import { GITHUB_TERMS } from '../../src/platform/github/terms.js';
import { GITLAB_TERMS } from '../../src/platform/gitlab/terms.js';
import type { ScmRepoLink } from '../../src/scalingo/types.js';

const settings = (inputs: Record<string, string> = {}) =>
  parseSettings((n) => ({ app: 'my-app', source: 'https://github.com/octo-org/octo-repo', ...inputs })[n]);

const LINK: ScmRepoLink = {
  url: 'https://github.com',
  owner: 'octo-org',
  repo: 'octo-repo',
  branch: 'main',
  auto_deploy_enabled: true,
  deploy_review_apps_enabled: false,
  automatic_creation_from_forks_allowed: false,
  delete_on_close_enabled: true,
  hours_before_delete_on_close: 0,
  delete_stale_enabled: false,
  hours_before_delete_stale: 0,
};

const ctx = (event: CiEvent, eventName = 'push'): CiContext => ({
  platform: 'github',
  terms: GITHUB_TERMS,
  eventName,
  event,
});

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
    expect(
      planLink(LINK, settings({ branch: 'main', 'auto-deploy': 'true', 'delete-on-close': 'true' }), 'main'),
    ).toEqual({ kind: 'unchanged' });
    expect(planLink(LINK, settings(), 'other')).toEqual({ kind: 'unchanged' });
  });

  it('updates only the given settings that differ', () => {
    const plan = planLink(
      LINK,
      settings({ branch: 'main', 'auto-deploy': 'false', 'review-apps': 'true', 'delete-on-close': 'true' }),
      'main',
    );
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
    expect(planLink({ ...LINK, repo: 'other' }, settings(), 'main')).toEqual({
      kind: 'conflict',
      linkedTo: 'https://github.com/octo-org/other',
    });
  });

  it('compares repositories without case, scheme, .git or trailing slash', () => {
    expect(sameRepository('https://github.com/Octo-Org/Octo-Repo.git', 'http://github.com/octo-org/octo-repo/')).toBe(
      true,
    );
    expect(sameRepository('https://github.com/a/b', 'https://gitlab.com/a/b')).toBe(false);
    // One rule with discovery's: a trailing `.git/` too.
    expect(sameRepository('https://github.com/octo-org/octo-repo.git/', 'https://github.com/octo-org/octo-repo')).toBe(
      true,
    );
    expect(sameRepository('octo-org/octo-repo.git/', 'https://github.com/Octo-Org/octo-repo')).toBe(true);
    expect(linkSource({ url: 'https://github.com/', owner: 'a', repo: 'b' })).toBe('https://github.com/a/b');
    expect(linkSource(null)).toBeUndefined();
  });

  it('matches a link that does not give its SCM URL by owner/repo, and still sees a different repository', () => {
    const { url: _url, ...noUrl } = LINK;
    expect(linkSource(noUrl)).toBe('octo-org/octo-repo');
    expect(planLink({ ...noUrl, branch: 'main' }, settings({ branch: 'main' }), 'main')).toEqual({ kind: 'unchanged' });
    expect(planLink({ ...noUrl, repo: 'other' }, settings(), 'main')).toEqual({
      kind: 'conflict',
      linkedTo: 'octo-org/other',
    });
    expect(sameRepository('Octo-Org/Octo-Repo', 'https://gitlab.example.com/octo-org/octo-repo.git')).toBe(true);
    expect(sameRepository('https://github.com/group/sub/repo', 'group/sub/repo')).toBe(true);
  });
});

describe('decideAction', () => {
  it('deploys a push to the followed branch, and nothing for another branch or a tag', () => {
    expect(decideAction(settings(), ctx({ kind: 'push', branch: 'main' }), 'main')).toMatchObject({
      kind: 'deploy',
      branch: 'main',
    });
    expect(decideAction(settings(), ctx({ kind: 'push', branch: 'feature' }), 'main')).toMatchObject({
      kind: 'none',
      reason: expect.stringContaining('follows main'),
    });
    expect(decideAction(settings(), ctx({ kind: 'tag', tag: 'v1.0.0' }), 'main')).toMatchObject({
      kind: 'none',
      reason: expect.stringContaining('tag v1.0.0'),
    });
    expect(decideAction(settings(), ctx({ kind: 'push', branch: 'main', deleted: true }), 'main')).toMatchObject({
      kind: 'none',
    });
  });

  it('makes review apps on opened/synchronize, and reports on closed', () => {
    const pr = { number: 42, headBranch: 'feature', fork: false };
    expect(
      decideAction(
        settings(),
        ctx({ kind: 'pull-request', action: 'open', rawAction: 'opened', pr }, 'pull_request'),
        'main',
      ),
    ).toMatchObject({ kind: 'review-app', pr });
    expect(
      decideAction(
        settings(),
        ctx({ kind: 'pull-request', action: 'update', rawAction: 'synchronize', pr }, 'pull_request'),
        'main',
      ),
    ).toMatchObject({ kind: 'review-app' });
    expect(
      decideAction(
        settings(),
        ctx({ kind: 'pull-request', action: 'close', rawAction: 'closed', pr }, 'pull_request'),
        'main',
      ),
    ).toMatchObject({ kind: 'review-app-closed' });
    expect(
      decideAction(
        settings(),
        ctx({ kind: 'pull-request', action: 'other', rawAction: 'labeled', pr }, 'pull_request'),
        'main',
      ),
    ).toMatchObject({ kind: 'none' });
  });

  it('deploys `branch`, else the ref branch, on manual and scheduled runs', () => {
    expect(
      decideAction(
        settings({ branch: 'prod' }),
        ctx({ kind: 'manual', trigger: 'workflow_dispatch', branch: 'dev' }),
        'prod',
      ),
    ).toMatchObject({ kind: 'deploy', branch: 'prod' });
    expect(decideAction(settings(), ctx({ kind: 'manual', trigger: 'schedule', branch: 'dev' }), 'main')).toMatchObject(
      { kind: 'deploy', branch: 'dev' },
    );
    expect(
      decideAction(settings(), ctx({ kind: 'manual', trigger: 'workflow_dispatch', tag: 'v1' }), undefined),
    ).toMatchObject({ kind: 'none' });
    // On a tag, not even the followed branch: the user picked the tag's code, which a branch deploy would not be.
    expect(decideAction(settings(), ctx({ kind: 'manual', trigger: 'workflow_dispatch', tag: 'v1' }), 'main')).toEqual({
      kind: 'none',
      reason: 'workflow_dispatch run on tag v1: set `deploy-branch` or `branch` to deploy',
    });
    expect(
      decideAction(
        settings({ branch: 'prod' }),
        ctx({ kind: 'manual', trigger: 'workflow_dispatch', tag: 'v1' }),
        'prod',
      ),
    ).toMatchObject({ kind: 'deploy', branch: 'prod' });
  });

  it('deploy-branch: deployed once by manual and scheduled runs and by command deploy; a push deploys what it pushed', () => {
    const once = settings({ branch: 'main', 'deploy-branch': 'hotfix' });
    expect(decideAction(once, ctx({ kind: 'manual', trigger: 'schedule', branch: 'dev' }), 'main')).toEqual({
      kind: 'deploy',
      branch: 'hotfix',
      reason: 'schedule run: deploying branch hotfix once (the link still follows main)',
    });
    expect(
      decideAction(
        settings({ 'deploy-branch': 'hotfix' }),
        ctx({ kind: 'manual', trigger: 'workflow_dispatch', tag: 'v1' }),
        'main',
      ),
    ).toMatchObject({ kind: 'deploy', branch: 'hotfix' });
    expect(
      decideAction(
        settings({ command: 'deploy', 'deploy-branch': 'hotfix' }),
        ctx({ kind: 'push', branch: 'main' }),
        'main',
      ),
    ).toMatchObject({ kind: 'deploy', branch: 'hotfix' });
    expect(decideAction(once, ctx({ kind: 'push', branch: 'main' }), 'main')).toMatchObject({
      kind: 'deploy',
      branch: 'main',
    });
    // The link's own branch is not changed by it.
    expect(once.link.branch).toBe('main');
  });

  it("expectedCommit: the run's commit when the run is about the branch deployed", () => {
    expect(expectedCommit(ctx({ kind: 'push', branch: 'main', sha: 'abc1234def' }), 'main')).toBe('abc1234def');
    expect(
      expectedCommit({ ...ctx({ kind: 'manual', trigger: 'schedule', branch: 'main' }), sha: 'fedcba98' }, 'main'),
    ).toBe('fedcba98');
    expect(
      expectedCommit({ ...ctx({ kind: 'manual', trigger: 'schedule', branch: 'main' }), sha: 'fedcba98' }, 'hotfix'),
    ).toBeUndefined();
  });

  it('only reconciles the link on other events', () => {
    expect(decideAction(settings(), ctx({ kind: 'other', name: 'release' }), 'main')).toMatchObject({
      kind: 'none',
      reason: expect.stringContaining('release'),
    });
  });

  it('follows explicit commands', () => {
    const push = ctx({ kind: 'push', branch: 'feature' });
    expect(decideAction(settings({ command: 'deploy' }), push, 'main')).toMatchObject({
      kind: 'deploy',
      branch: 'feature',
    });
    expect(decideAction(settings({ command: 'deploy', branch: 'main' }), push, 'main')).toMatchObject({
      kind: 'deploy',
      branch: 'main',
    });
    expect(decideAction(settings({ command: 'link' }), push, 'main')).toMatchObject({ kind: 'none' });
    expect(decideAction(settings({ command: 'unlink' }), push, 'main')).toMatchObject({ kind: 'unlink' });
    expect(decideAction(settings({ command: 'review-app', 'pull-request': '7' }), push, 'main')).toMatchObject({
      kind: 'review-app',
      pr: { number: 7 },
    });
    expect(decideAction(settings({ command: 'review-app' }), push, 'main')).toMatchObject({
      kind: 'none',
      reason: expect.stringContaining('pull-request'),
    });
    expect(decideAction(settings({ command: 'deploy' }), ctx({ kind: 'none' }), undefined)).toMatchObject({
      kind: 'none',
      reason: expect.stringContaining('branch'),
    });
  });
});

describe('the decisions the run makes before acting', () => {
  const pr = { number: 7, fork: true, headBranch: 'feature' };
  const prEvent: CiEvent = { kind: 'pull-request', action: 'open', rawAction: 'opened', pr };

  it('reads ahead the app for a deploy, nothing for the rest', () => {
    expect(readAhead('auto', { kind: 'push', branch: 'main' })).toEqual({ app: true });
    expect(readAhead('auto', { kind: 'manual', trigger: 'schedule' })).toEqual({ app: true });
    // Not the review app list: it needs the link, which the link step may only be creating.
    expect(readAhead('auto', prEvent)).toEqual({ app: false });
    expect(readAhead('deploy', prEvent)).toEqual({ app: true });
    expect(readAhead('review-app', { kind: 'none' })).toEqual({ app: false });
    expect(readAhead('link', { kind: 'push', branch: 'main' })).toEqual({ app: false });
    expect(readAhead('unlink', prEvent)).toEqual({ app: false });
  });

  it("skips a fork's pull request without a token, unless told to fail; fails any other run without one", () => {
    const withToken = (token: string, inputs: Record<string, string> = {}) => ({
      ...settings(inputs),
      apiToken: token,
    });
    expect(tokenDecision(withToken(''), prEvent)).toBe('skip');
    expect(tokenDecision(withToken('', { 'fail-without-token': 'true' }), prEvent)).toBe('missing');
    expect(tokenDecision(withToken(''), { ...prEvent, pr: { ...pr, fork: false } } as CiEvent)).toBe('missing');
    expect(tokenDecision(withToken(''), { kind: 'push', branch: 'main' })).toBe('missing');
    expect(tokenDecision(withToken('tk-us-0123456789 abcdef'), prEvent)).toBe('malformed');
    expect(tokenDecision(withToken('tk-us-0123456789\n'), prEvent)).toBe('malformed');
    expect(tokenDecision(withToken('tk-us-0123456789abcdef'), prEvent)).toBe('use');
  });

  it("matches the SCM integration by the repository's host, or the CI server it lives under", () => {
    const integrations = [
      { id: 'gh', url: 'https://github.com' },
      { id: 'gl', url: 'https://gitlab.example.com/' },
      { id: 'sub', url: 'https://example.com/gitlab' },
      { id: 'none' },
    ];
    expect(matchIntegrations(integrations, 'https://GitHub.com/o/r', undefined)).toEqual({
      origin: 'https://github.com',
      matches: [integrations[0]],
    });
    expect(
      matchIntegrations(integrations, 'https://gitlab.example.com/g/r', undefined).matches.map((i) => i.id),
    ).toEqual(['gl']);
    expect(
      matchIntegrations(integrations, 'https://example.com/gitlab/g/r', 'https://example.com/gitlab/').matches.map(
        (i) => i.id,
      ),
    ).toEqual(['sub']);
    expect(matchIntegrations(integrations, 'https://example.com/gitlab/g/r', undefined).matches).toEqual([]);
  });

  describe('newDeployment: the deployment an unclear trigger may have started', () => {
    const since = Date.parse('2026-01-01T12:00:00Z');
    const at = (offsetS: number): string => new Date(since + offsetS * 1000).toISOString();
    const d = (id: string, offsetS?: number, git_ref?: string) => ({
      id,
      status: 'queued',
      ...(offsetS !== undefined ? { created_at: at(offsetS) } : {}),
      ...(git_ref ? { git_ref } : {}),
    });
    const before = d('before', -600);

    it('the oldest one newer than the newest before the trigger, and created since it', () => {
      expect(newDeployment([d('later', 20), d('ours', 1), before], before, since)?.id).toBe('ours');
      expect(newDeployment([before, d('older', -1200)], before, since)).toBeUndefined();
    });

    it('never an older deployment, failed or successful, even when the newest before is unknown', () => {
      const old = [
        { ...d('old-failed', -300), status: 'build-error' },
        { ...d('old-success', -900), status: 'success' },
      ];
      expect(newDeployment(old, undefined, since)).toBeUndefined();
      expect(newDeployment(old, before, since)).toBeUndefined();
    });

    it('requires created_at at or after the trigger, give or take a small clock skew, in every case', () => {
      // Newer than `before`, but created well before the trigger: someone else's.
      expect(newDeployment([d('theirs', -120), before], before, since)).toBeUndefined();
      expect(newDeployment([d('skewed', -(CLOCK_SKEW_MS / 1000) + 1), before], before, since)?.id).toBe('skewed');
      expect(newDeployment([d('undated'), before], before, since)).toBeUndefined();
    });

    it("prefers the one that built the run's commit", () => {
      const sha = '6113728f27ae82c7b1a177c8d03f9e96e0adf246';
      const recent = [d('ours', 3, sha), d('other', 1, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'), before];
      expect(newDeployment(recent, before, since, sha)?.id).toBe('ours');
      expect(newDeployment(recent, before, since, sha.slice(0, 7))?.id).toBe('ours');
      expect(newDeployment(recent, before, since)?.id).toBe('other');
      expect(newDeployment(recent, before, since, 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb')?.id).toBe('other');
    });

    it('the newest before gone from the page read: compared by date', () => {
      expect(newDeployment([d('ours', 2), d('mid', -30)], { ...before, created_at: at(-10) }, since)?.id).toBe('ours');
    });
  });

  it('says pull requests and inputs in the words of the context', () => {
    const gitlab: CiContext = {
      platform: 'gitlab',
      terms: { ...GITLAB_TERMS, name: (i) => `--${i}`, setting: (i, v) => `--${i}=${v}` },
      eventName: 'merge_request_event',
      event: { ...prEvent, action: 'close', rawAction: 'closed' } as CiEvent,
    };
    expect(decideAction(settings(), gitlab, 'main').reason).toBe('merge request !7 closed');
    expect(decideAction(settings(), { ...gitlab, event: { kind: 'tag', tag: 'v1' } }, 'main').reason).toBe(
      'push of tag v1: tags are not deployed (use `--command=deploy` with `--branch` to deploy a given ref)',
    );
    expect(decideAction(settings(), ctx({ kind: 'tag', tag: 'v1' }), 'main').reason).toBe(
      'push of tag v1: tags are not deployed (use `command: deploy` with `branch` to deploy a given ref)',
    );
    expect(decideAction(settings(), ctx(prEvent, 'pull_request'), 'main').reason).toBe('pull request #7 opened');
  });
});
