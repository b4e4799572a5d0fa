/** The pure decisions about review apps: on-demand gates, a run that cannot know its pull request, the branch to deploy. */
import { describe, expect, it } from 'vitest';
import { CLOCK_SKEW_MS, decideAction, missingPullRequest, newDeployment, reviewAppBranch, reviewAppGate } from '../../src/core/plan.js';
import { parseSettings } from '../../src/core/settings.js';
import type { CiContext, CiEvent, PullRequestInfo } from '../../src/core/event.js';
import { GITHUB_TERMS } from '../../src/platform/github/terms.js';
import { GITLAB_TERMS } from '../../src/platform/gitlab/terms.js';

const settings = (inputs: Record<string, string> = {}) =>
  parseSettings((n) => ({ app: 'my-app', source: 'https://github.com/octo-org/octo-repo', ...inputs })[n]);
const ctx = (event: CiEvent, eventName = 'pull_request'): CiContext => ({ platform: 'github', terms: GITHUB_TERMS, eventName, event });
const PR: PullRequestInfo = { number: 7, headBranch: 'feature', fork: false, labels: ['bug'], draft: false };
const prEvent = (pr: PullRequestInfo, rawAction = 'synchronize', label?: string): CiEvent =>
  ({ kind: 'pull-request', action: 'update', rawAction, pr, ...(label !== undefined ? { label } : {}) });

describe('reviewAppGate (review apps on demand)', () => {
  it('lets every pull request through by default, drafts included', () => {
    expect(reviewAppGate(settings(), { ...PR, draft: true }, GITHUB_TERMS)).toBeUndefined();
  });

  it('holds back a pull request without the label, and says which label to add', () => {
    const s = settings({ 'review-app-label': 'preview' });
    expect(reviewAppGate(s, PR, GITHUB_TERMS)).toBe('Pull request #7 has no label preview: no review app (add the label preview to get one; `review-app-label` is set)');
    expect(reviewAppGate(s, { ...PR, labels: ['bug', 'preview'] }, GITHUB_TERMS)).toBeUndefined();
    // Labels the CI does not give hold nothing back (a pull request number given by hand).
    expect(reviewAppGate(s, { number: 7, fork: false }, GITHUB_TERMS)).toBeUndefined();
  });

  it('with `review-app-drafts: false`, holds back drafts only', () => {
    const s = settings({ 'review-app-drafts': 'false' });
    expect(reviewAppGate(s, { ...PR, draft: true }, GITLAB_TERMS)).toBe('Merge request !7 is a draft: no review app until it is marked ready (`review-app-drafts: false` is set)');
    expect(reviewAppGate(s, PR, GITHUB_TERMS)).toBeUndefined();
  });
});

describe('decideAction with on-demand review apps', () => {
  const s = settings({ 'review-app-label': 'preview' });

  it('makes the review app when the label is added, and on later pushes while it stays', () => {
    expect(decideAction(s, ctx(prEvent({ ...PR, labels: ['bug', 'preview'] }, 'labeled', 'preview')), 'main')).toMatchObject({ kind: 'review-app', reason: 'pull request #7 labeled preview' });
    expect(decideAction(s, ctx(prEvent({ ...PR, labels: ['preview'] })), 'main')).toMatchObject({ kind: 'review-app' });
  });

  it('does nothing for another label added, or without the label', () => {
    expect(decideAction(s, ctx(prEvent({ ...PR, labels: ['bug', 'preview'] }, 'labeled', 'bug')), 'main')).toEqual({ kind: 'none', reason: 'pull request #7 labeled bug: nothing to deploy' });
    expect(decideAction(settings(), ctx(prEvent(PR, 'labeled', 'bug')), 'main')).toMatchObject({ kind: 'none' });
    expect(decideAction(s, ctx(prEvent(PR)), 'main')).toMatchObject({ kind: 'none', reason: expect.stringContaining('add the label preview') });
  });

  it('holds back `command: review-app` on the event\'s own pull request too', () => {
    expect(decideAction({ ...s, command: 'review-app' }, ctx(prEvent(PR)), 'main')).toMatchObject({ kind: 'none', reason: expect.stringContaining('no label preview') });
    expect(decideAction({ ...s, command: 'review-app', pullRequest: 9 }, ctx(prEvent(PR)), 'main')).toMatchObject({ kind: 'review-app', pr: { number: 9 } });
  });
});

describe('missingPullRequest (fails before any request)', () => {
  it('`command: review-app` with no number given nor in the event', () => {
    expect(missingPullRequest(settings({ command: 'review-app' }), ctx({ kind: 'push', branch: 'main' }, 'push'))).toBe('`command: review-app` needs a pull request number: set `pull-request`, or run it on a pull request event. Nothing was changed.');
    expect(missingPullRequest(settings({ command: 'review-app', 'pull-request': '3' }), ctx({ kind: 'push', branch: 'main' }, 'push'))).toBeUndefined();
    expect(missingPullRequest(settings({ command: 'review-app' }), ctx(prEvent(PR)))).toBeUndefined();
  });

  it('a pull request event that names no pull request, unless the command does not need one', () => {
    const event: CiEvent = { kind: 'other', name: 'pull_request', noPullRequestNumber: true };
    expect(missingPullRequest(settings(), ctx(event))).toMatch(/^The pull_request event names no pull request number \(its payload has none\): nothing was changed\./);
    expect(missingPullRequest(settings({ command: 'link' }), ctx(event))).toBeUndefined();
    expect(missingPullRequest(settings({ 'pull-request': '3' }), ctx(event))).toBeUndefined();
    expect(missingPullRequest(settings(), ctx({ kind: 'other', name: 'release' }, 'release'))).toBeUndefined();
  });
});

describe('reviewAppBranch', () => {
  it('is the branch the review app\'s own link follows, else the head branch, else the listed one', () => {
    expect(reviewAppBranch({ branch: 'patch-1' }, PR, undefined)).toBe('patch-1');
    expect(reviewAppBranch(null, PR, undefined)).toBe('feature');
    expect(reviewAppBranch({}, { number: 7, fork: false }, { pull_request: { branch_name: 'someone:fix' } })).toBe('fix');
    expect(reviewAppBranch(null, { number: 7, fork: false }, undefined)).toBeUndefined();
  });
});

describe('newDeployment as the look for a deployment a new review app started by itself (no deployment read before)', () => {
  // `since`: when the run asked for the review app; nothing was read before it (the review app did not exist, or
  // Scalingo answered that it did, 422, and this run knew none of its deployments).
  const since = Date.parse('2026-01-01T12:00:00Z');
  const at = (offsetS: number): string => new Date(since + offsetS * 1000).toISOString();
  const d = (id: string, offsetS?: number, git_ref?: string) => ({ id, status: 'queued', ...(offsetS !== undefined ? { created_at: at(offsetS) } : {}), ...(git_ref ? { git_ref } : {}) });
  const HEAD = 'ec26c3e57ca3a959ca5aad62de7213c562f8c821';

  it('requires created_at: an undated deployment is never adopted', () => {
    expect(newDeployment([d('undated')], undefined, since, HEAD)).toBeUndefined();
    expect(newDeployment([{ ...d('undated'), git_ref: HEAD }], undefined, since, HEAD)).toBeUndefined();
  });

  it('requires created_at at or after the creation, give or take the deploy\'s own clock skew (not more)', () => {
    const skewS = CLOCK_SKEW_MS / 1000;
    expect(newDeployment([d('skewed', -skewS + 1)], undefined, since)?.id).toBe('skewed');
    expect(newDeployment([d('old', -skewS - 1, HEAD)], undefined, since, HEAD)).toBeUndefined();
    // An existing review app's (422) deployment of a minute ago: not this run's.
    expect(newDeployment([d('a-minute-ago', -60, HEAD)], undefined, since, HEAD)).toBeUndefined();
  });

  it('prefers the one that built the pull request\'s head, else the oldest of those dated since the creation', () => {
    const recent = [d('head', 4, HEAD), d('other', 2, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'), d('old', -600, HEAD)];
    expect(newDeployment(recent, undefined, since, HEAD)?.id).toBe('head');
    expect(newDeployment(recent, undefined, since)?.id).toBe('other');
  });
});
