/**
 * The pure decisions about review apps: on-demand gates, a run that cannot know its pull request, the branch to deploy
 * (bare, as Scalingo stores it as a head label), the links that are review apps' own, and Scalingo's dates.
 */
import { describe, expect, it } from 'vitest';
import { CLOCK_SKEW_MS, decideAction, missingPullRequest, newDeployment } from '../../src/core/plan.js';
import {
  bareBranch,
  findReviewApp,
  headLabel,
  isReviewAppLink,
  meaningfulDate,
  reviewAppBranch,
  reviewAppCommit,
  reviewAppGate,
  staleDeletion,
} from '../../src/core/review-app-plan.js';
import { parseSettings } from '../../src/core/settings.js';
import type { CiContext, CiEvent, PullRequestInfo } from '../../src/core/event.js';
import { GITHUB_TERMS } from '../../src/platform/github/terms.js';
import { GITLAB_TERMS } from '../../src/platform/gitlab/terms.js';

const settings = (inputs: Record<string, string> = {}) =>
  parseSettings((n) => ({ app: 'my-app', source: 'https://github.com/octo-org/octo-repo', ...inputs })[n]);
const ctx = (event: CiEvent, eventName = 'pull_request'): CiContext => ({
  platform: 'github',
  terms: GITHUB_TERMS,
  eventName,
  event,
});
const PR: PullRequestInfo = { number: 7, headBranch: 'feature', fork: false, labels: ['bug'], draft: false };
const prEvent = (pr: PullRequestInfo, rawAction = 'synchronize', label?: string): CiEvent => ({
  kind: 'pull-request',
  action: 'update',
  rawAction,
  pr,
  ...(label !== undefined ? { label } : {}),
});

describe('reviewAppGate (review apps on demand)', () => {
  it('lets every pull request through by default, drafts included', () => {
    expect(reviewAppGate(settings(), { ...PR, draft: true }, GITHUB_TERMS)).toBeUndefined();
  });

  it('holds back a pull request without the label, and says which label to add', () => {
    const s = settings({ 'review-app-label': 'preview' });
    expect(reviewAppGate(s, PR, GITHUB_TERMS)).toBe(
      'Pull request #7 has no label preview: no review app (add the label preview to get one; `review-app-label` is set)',
    );
    expect(reviewAppGate(s, { ...PR, labels: ['bug', 'preview'] }, GITHUB_TERMS)).toBeUndefined();
    // Labels the CI does not give hold nothing back (a pull request number given by hand).
    expect(reviewAppGate(s, { number: 7, fork: false }, GITHUB_TERMS)).toBeUndefined();
  });

  it('with `review-app-drafts: false`, holds back drafts only', () => {
    const s = settings({ 'review-app-drafts': 'false' });
    expect(reviewAppGate(s, { ...PR, draft: true }, GITLAB_TERMS)).toBe(
      'Merge request !7 is a draft: no review app until it is marked ready (`review-app-drafts: false` is set)',
    );
    expect(reviewAppGate(s, PR, GITHUB_TERMS)).toBeUndefined();
  });
});

describe('decideAction with on-demand review apps', () => {
  const s = settings({ 'review-app-label': 'preview' });

  it('makes the review app when the label is added, and on later pushes while it stays', () => {
    expect(
      decideAction(s, ctx(prEvent({ ...PR, labels: ['bug', 'preview'] }, 'labeled', 'preview')), 'main'),
    ).toMatchObject({ kind: 'review-app', reason: 'pull request #7 labeled preview' });
    expect(decideAction(s, ctx(prEvent({ ...PR, labels: ['preview'] })), 'main')).toMatchObject({ kind: 'review-app' });
  });

  it('does nothing for another label added, or without the label', () => {
    expect(decideAction(s, ctx(prEvent({ ...PR, labels: ['bug', 'preview'] }, 'labeled', 'bug')), 'main')).toEqual({
      kind: 'none',
      reason: 'pull request #7 labeled bug: nothing to deploy',
    });
    expect(decideAction(settings(), ctx(prEvent(PR, 'labeled', 'bug')), 'main')).toMatchObject({ kind: 'none' });
    expect(decideAction(s, ctx(prEvent(PR)), 'main')).toMatchObject({
      kind: 'none',
      reason: expect.stringContaining('add the label preview'),
    });
  });

  it("holds back `command: review-app` on the event's own pull request too", () => {
    expect(decideAction({ ...s, command: 'review-app' }, ctx(prEvent(PR)), 'main')).toMatchObject({
      kind: 'none',
      reason: expect.stringContaining('no label preview'),
    });
    expect(decideAction({ ...s, command: 'review-app', pullRequest: 9 }, ctx(prEvent(PR)), 'main')).toMatchObject({
      kind: 'review-app',
      pr: { number: 9 },
    });
  });
});

describe('missingPullRequest (fails before any request)', () => {
  it('`command: review-app` with no number given nor in the event', () => {
    expect(missingPullRequest(settings({ command: 'review-app' }), ctx({ kind: 'push', branch: 'main' }, 'push'))).toBe(
      '`command: review-app` needs a pull request number: set `pull-request`, or run it on a pull request event. Nothing was changed.',
    );
    expect(
      missingPullRequest(
        settings({ command: 'review-app', 'pull-request': '3' }),
        ctx({ kind: 'push', branch: 'main' }, 'push'),
      ),
    ).toBeUndefined();
    expect(missingPullRequest(settings({ command: 'review-app' }), ctx(prEvent(PR)))).toBeUndefined();
  });

  it('a pull request event that names no pull request, unless the command does not need one', () => {
    const event: CiEvent = { kind: 'other', name: 'pull_request', noPullRequestNumber: true };
    expect(missingPullRequest(settings(), ctx(event))).toMatch(
      /^The pull_request event names no pull request number \(its payload has none\): nothing was changed\./,
    );
    expect(missingPullRequest(settings({ command: 'link' }), ctx(event))).toBeUndefined();
    expect(missingPullRequest(settings({ 'pull-request': '3' }), ctx(event))).toBeUndefined();
    expect(missingPullRequest(settings(), ctx({ kind: 'other', name: 'release' }, 'release'))).toBeUndefined();
  });
});

describe("the branch a review app deploys: the pull request's head branch, bare", () => {
  const LABEL_LINK = { branch: 'Codertocat:changes' };

  it("reads GitHub's head label `owner:branch` (git branch names never hold a colon)", () => {
    expect(headLabel('Codertocat:changes')).toEqual({ owner: 'Codertocat', branch: 'changes' });
    expect(headLabel('gip-inclusion:chore/x')).toEqual({ owner: 'gip-inclusion', branch: 'chore/x' });
    expect(headLabel('changes')).toBeUndefined();
    expect(headLabel(':changes')).toBeUndefined();
    expect(headLabel('owner:')).toBeUndefined();
    expect(headLabel(undefined)).toBeUndefined();
    expect(bareBranch('Codertocat:changes')).toBe('changes');
    expect(bareBranch('feature/x')).toBe('feature/x');
    expect(bareBranch(null)).toBeUndefined();
    expect(isReviewAppLink(LABEL_LINK)).toBe(true);
    expect(isReviewAppLink({ branch: 'main' })).toBe(false);
    expect(isReviewAppLink(null)).toBe(false);
  });

  it("takes the CI event's head branch first, never Scalingo's label", () => {
    expect(reviewAppBranch(PR, LABEL_LINK, undefined, 'Codertocat')).toEqual({
      branch: 'feature',
      from: 'event',
      fork: false,
    });
    expect(reviewAppBranch({ ...PR, fork: true }, LABEL_LINK, undefined, 'Codertocat')).toEqual({
      branch: 'feature',
      from: 'event',
      fork: true,
    });
  });

  it("without it, turns Scalingo's copy back into the bare branch: the review app's own link, then the list", () => {
    const byHand: PullRequestInfo = { number: 7, fork: false };
    expect(reviewAppBranch(byHand, LABEL_LINK, undefined, 'Codertocat')).toEqual({
      branch: 'changes',
      from: 'own link',
      fork: false,
    });
    expect(reviewAppBranch(byHand, null, { pull_request: { branch_name: 'Codertocat:fix' } }, 'codertocat')).toEqual({
      branch: 'fix',
      from: 'review app list',
      fork: false,
    });
    expect(reviewAppBranch(byHand, { branch: 'patch-1' }, undefined, 'Codertocat')).toEqual({
      branch: 'patch-1',
      from: 'own link',
      fork: false,
    });
    expect(reviewAppBranch(byHand, null, undefined, 'Codertocat')).toBeUndefined();
  });

  it("knows a fork's branch by a label of another owner than the repository's", () => {
    const byHand: PullRequestInfo = { number: 7, fork: false };
    expect(reviewAppBranch(byHand, { branch: 'someone:patch-1' }, undefined, 'Codertocat')).toEqual({
      branch: 'patch-1',
      from: 'own link',
      fork: true,
    });
    expect(
      reviewAppBranch(byHand, null, { pull_request: { branch_name: 'someone:patch-1' } }, 'Codertocat')?.fork,
    ).toBe(true);
    // The repository's owner unknown: nothing says it is a fork.
    expect(reviewAppBranch(byHand, { branch: 'someone:patch-1' }, undefined, undefined)?.fork).toBe(false);
  });

  it("keeps the pull request's head commit as the one to prefer, wherever the branch comes from", () => {
    expect(reviewAppCommit({ ...PR, sha: 'ec26c3e57ca3a959ca5aad62de7213c562f8c821' })).toBe(
      'ec26c3e57ca3a959ca5aad62de7213c562f8c821',
    );
    expect(reviewAppCommit({ number: 7, fork: false })).toBeUndefined();
  });

  it('finds a review app by its pull request number', () => {
    const list = [
      { app_name: 'my-app-pr7', pull_request: { number: '7', branch_name: 'octocat:feature' } },
      { app_name: 'x', pull_request: null },
    ];
    expect(findReviewApp(list, 7)?.app_name).toBe('my-app-pr7');
    expect(findReviewApp(list, 8)).toBeUndefined();
  });
});

describe("Scalingo's dates that mean nothing", () => {
  it('are no dates: the "never" sentinel, Go\'s zero time, nothing or garbage', () => {
    expect(meaningfulDate('2135-01-17T08:41:44Z')).toBeUndefined();
    expect(meaningfulDate('0001-01-01T00:00:00Z')).toBeUndefined();
    expect(meaningfulDate(null)).toBeUndefined();
    expect(meaningfulDate('')).toBeUndefined();
    expect(meaningfulDate('soon')).toBeUndefined();
    expect(meaningfulDate('2026-12-03T10:00:00.000+01:00')).toBe(Date.parse('2026-12-03T09:00:00Z'));
  });

  it("the stale date is the last deployment's: the deletion comes hours after it, and only when the link deletes stale review apps", () => {
    const listed = { stale_deletion_date: '2026-12-03T09:00:00Z' };
    expect(staleDeletion(listed, { delete_stale_enabled: false, hours_before_delete_stale: 72 })).toBeUndefined();
    expect(staleDeletion(listed, null)).toBeUndefined();
    expect(staleDeletion(listed, { delete_stale_enabled: true, hours_before_delete_stale: 72 })).toBe(
      'on 2026-12-06 09:00 UTC (72 hour(s) after its last deployment)',
    );
    expect(
      staleDeletion(
        { stale_deletion_date: '0001-01-01T00:00:00Z' },
        { delete_stale_enabled: true, hours_before_delete_stale: 24 },
      ),
    ).toBe('24 hour(s) after its last deployment');
  });
});

describe('newDeployment as the look for a deployment a new review app started by itself (no deployment read before)', () => {
  // `since`: when the run asked for the review app; nothing was read before it (the review app did not exist, or
  // Scalingo answered that it did, 422, and this run knew none of its deployments).
  const since = Date.parse('2026-01-01T12:00:00Z');
  const at = (offsetS: number): string => new Date(since + offsetS * 1000).toISOString();
  const d = (id: string, offsetS?: number, git_ref?: string) => ({
    id,
    status: 'queued',
    ...(offsetS !== undefined ? { created_at: at(offsetS) } : {}),
    ...(git_ref ? { git_ref } : {}),
  });
  const HEAD = 'ec26c3e57ca3a959ca5aad62de7213c562f8c821';

  it('requires created_at: an undated deployment is never adopted', () => {
    expect(newDeployment([d('undated')], undefined, since, HEAD)).toBeUndefined();
    expect(newDeployment([{ ...d('undated'), git_ref: HEAD }], undefined, since, HEAD)).toBeUndefined();
  });

  it("requires created_at at or after the creation, give or take the deploy's own clock skew (not more)", () => {
    const skewS = CLOCK_SKEW_MS / 1000;
    expect(newDeployment([d('skewed', -skewS + 1)], undefined, since)?.id).toBe('skewed');
    expect(newDeployment([d('old', -skewS - 1, HEAD)], undefined, since, HEAD)).toBeUndefined();
    // An existing review app's (422) deployment of a minute ago: not this run's.
    expect(newDeployment([d('a-minute-ago', -60, HEAD)], undefined, since, HEAD)).toBeUndefined();
  });

  it("prefers the one that built the pull request's head, else the oldest of those dated since the creation", () => {
    const recent = [
      d('head', 4, HEAD),
      d('other', 2, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'),
      d('old', -600, HEAD),
    ];
    expect(newDeployment(recent, undefined, since, HEAD)?.id).toBe('head');
    expect(newDeployment(recent, undefined, since)?.id).toBe('other');
  });
});
