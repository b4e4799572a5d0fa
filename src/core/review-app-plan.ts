/**
 * Pure decisions about review apps, as Scalingo stores them: which pull request gets one, the branch a review app's
 * deploy sends, which links are review apps' own, and which of Scalingo's dates mean something. No request here.
 */
import type { PullRequestInfo, Terms } from './event.js';
import type { Settings } from './settings.js';
import type { ReviewApp, ScmRepoLink } from '../scalingo/types.js';

/**
 * GitHub's head label `owner:branch`, as Scalingo stores the branch of a review app's own link and the review app
 * list's `pull_request.branch_name`. Git branch names never hold a colon (git check-ref-format), so a colon always
 * marks a label. Undefined for a bare branch or nothing.
 */
export function headLabel(value: string | null | undefined): { owner: string; branch: string } | undefined {
  if (!value) return undefined;
  const colon = value.indexOf(':');
  if (colon <= 0 || colon === value.length - 1) return undefined;
  return { owner: value.slice(0, colon), branch: value.slice(colon + 1) };
}

/** A branch as Scalingo gives it, bare: `owner:branch` becomes `branch`; a bare branch stays as it is. */
export function bareBranch(value: string | null | undefined): string | undefined {
  if (!value) return undefined;
  return headLabel(value)?.branch ?? value;
}

/** A link that follows a head label is a review app's own link: no app a step manages follows one. */
export function isReviewAppLink(link: Pick<ScmRepoLink, 'branch'> | null | undefined): boolean {
  return headLabel(link?.branch) !== undefined;
}

export interface ReviewAppBranch {
  /** The pull request's head branch, bare: what `manual_deploy` is sent. */
  branch: string;
  /** Where it was read: the CI event, or Scalingo's copy (the review app's own link, the review app list). */
  from: 'event' | 'own link' | 'review app list';
  /** The pull request comes from a fork: the event says so, or Scalingo's label names another owner than the link's. */
  fork: boolean;
}

/**
 * The branch a review app is deployed with: the pull request's head branch, bare. The CI event's (GitHub `head.ref`,
 * GitLab `CI_MERGE_REQUEST_SOURCE_BRANCH_NAME`) when it gives one; else Scalingo's copy, the review app's own link
 * then the review app list, whose `owner:branch` label is turned back into the branch. `owner` is the repository's
 * owner (the parent link's): a label of another owner is a fork's branch.
 */
export function reviewAppBranch(
  pr: PullRequestInfo,
  ownLink: ScmRepoLink | null,
  listed: ReviewApp | undefined,
  owner: string | undefined,
): ReviewAppBranch | undefined {
  const forkLabel = (value: string | undefined): boolean => {
    const label = headLabel(value);
    return label !== undefined && owner !== undefined && label.owner.toLowerCase() !== owner.toLowerCase();
  };
  if (pr.headBranch) return { branch: bareBranch(pr.headBranch) ?? pr.headBranch, from: 'event', fork: pr.fork };
  const own = bareBranch(ownLink?.branch);
  if (own) return { branch: own, from: 'own link', fork: pr.fork || forkLabel(ownLink?.branch) };
  const listedName = listed?.pull_request?.branch_name;
  const fromList = bareBranch(listedName);
  if (fromList) return { branch: fromList, from: 'review app list', fork: pr.fork || forkLabel(listedName) };
  return undefined;
}

/**
 * The commit a review app's deployment should build: the pull request's head commit from the CI event, whatever
 * the branch was read from. Undefined when the run does not know it (a pull request number given by hand).
 */
export function reviewAppCommit(pr: PullRequestInfo): string | undefined {
  return pr.sha;
}

export function findReviewApp(list: ReviewApp[], pr: number): ReviewApp | undefined {
  return list.find((ra) => Number(ra.pull_request?.number) === pr);
}

/**
 * Why a review app is not made for this pull request yet (on-demand review apps), or undefined when it is. A
 * pull request whose labels or draft state the CI does not give is not held back.
 */
export function reviewAppGate(settings: Settings, pr: PullRequestInfo, t: Terms): string | undefined {
  const label = settings.reviewAppLabel;
  if (label !== undefined && pr.labels !== undefined && !pr.labels.includes(label)) {
    return `${capital(t.pr(pr.number))} has no label ${label}: no review app (add the label ${label} to get one; \`${t.name('review-app-label')}\` is set)`;
  }
  if (!settings.reviewAppDrafts && pr.draft === true) {
    return `${capital(t.pr(pr.number))} is a draft: no review app until it is marked ready (\`${t.setting('review-app-drafts', 'false')}\` is set)`;
  }
  return undefined;
}

/** Years outside which a date of Scalingo's is a placeholder: Go's zero time (year 1), or a "never" (year 2135). */
const FIRST_REAL_YEAR = 2000;
const LAST_REAL_YEAR = 2100;

/**
 * A date of Scalingo's that means a moment, in ms; undefined for nothing, an unreadable value, Go's zero time
 * (`0001-01-01T00:00:00Z`, an unset date) or a far-future "never" sentinel (`2135-…`, the close deletion date of an
 * open pull request).
 */
export function meaningfulDate(value: string | null | undefined): number | undefined {
  if (!value) return undefined;
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) return undefined;
  const year = new Date(ms).getUTCFullYear();
  return year >= FIRST_REAL_YEAR && year <= LAST_REAL_YEAR ? ms : undefined;
}

/** `2026-01-31 12:00 UTC`. */
export function formatDate(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/**
 * When Scalingo deletes a review app as stale, as far as it is known: only when the parent link deletes stale review
 * apps. The list's `stale_deletion_date` is the last deployment's time, not the deletion's: the deletion comes
 * `hours_before_delete_stale` after it. Undefined when the link does not delete stale review apps.
 */
export function staleDeletion(listed: ReviewApp, parentLink: ScmRepoLink | null): string | undefined {
  if (!parentLink?.delete_stale_enabled) return undefined;
  const hours = parentLink.hours_before_delete_stale ?? 0;
  const last = meaningfulDate(listed.stale_deletion_date);
  return last === undefined
    ? `${hours} hour(s) after its last deployment`
    : `on ${formatDate(last + hours * 3_600_000)} (${hours} hour(s) after its last deployment)`;
}

function capital(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
