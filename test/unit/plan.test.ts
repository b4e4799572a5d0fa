import { describe, expect, it } from 'vitest';
import { decideAction, linkSource, planLink, sameRepository } from '../../src/core/plan.js';
import { parseSettings } from '../../src/core/settings.js';
import type { CiContext, CiEvent } from '../../src/core/event.js';
import type { ScmRepoLink } from '../../src/scalingo/types.js';

const settings = (inputs: Record<string, string> = {}) =>
  parseSettings((n) => ({ app: 'my-app', source: 'https://github.com/octo-org/octo-repo', ...inputs })[n]);

const LINK: ScmRepoLink = {
  url: 'https://github.com', owner: 'octo-org', repo: 'octo-repo', branch: 'main',
  auto_deploy_enabled: true, deploy_review_apps_enabled: false, automatic_creation_from_forks_allowed: false,
  delete_on_close_enabled: true, hours_before_delete_on_close: 0, delete_stale_enabled: false, hours_before_delete_stale: 0,
};

const ctx = (event: CiEvent, eventName = 'push'): CiContext => ({ platform: 'github', eventName, event });

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
