/**
 * A closed pull request: nothing is deployed; the step says what becomes of its review app. Scalingo deletes a
 * review app created on demand (as this step creates them) as soon as its pull request closes; one it created by
 * itself follows the parent link's deletion settings. Scalingo's dates that mean nothing are never shown.
 */
import type { ReviewApp, ScmRepoLink } from '../../scalingo/types.js';
import type { PullRequestInfo } from '../event.js';
import type { AppRun } from '../app-context.js';
import { findReviewApp, formatDate, meaningfulDate, staleDeletion } from '../review-app-plan.js';

/** What becomes of a closed pull request's review app: its name when it is still listed, and one note. */
export function closed(
  job: AppRun,
  pr: PullRequestInfo,
  link: ScmRepoLink | null,
  reviewApps: ReviewApp[],
): { reviewApp?: string; note: string } {
  const t = job.terms;
  const that = capital(t.pr(pr.number));
  const existing = findReviewApp(reviewApps, pr.number);
  const onDemand = `Scalingo deletes a review app created on demand, as this step creates them, as soon as its ${t.pr()} closes`;
  if (!existing)
    return told(job, { note: `${that} is closed and has no review app on ${job.app}: nothing to do (${onDemand}).` });
  const name = existing.app_name ?? `${job.app}-pr${pr.number}`;
  // Scalingo's dates that mean nothing (a "never", Go's zero time) are not shown; the stale one only when it applies.
  const onCloseAt = meaningfulDate(existing.on_close_deletion_date);
  const stale = staleDeletion(existing, link);
  const staleNote = stale ? ` (if not before, it is deleted as stale ${stale})` : '';
  let note: string;
  if (onCloseAt !== undefined) {
    note = `${that} is closed: Scalingo deletes review app ${name} on ${formatDate(onCloseAt)}${staleNote}.`;
  } else if (!link?.deploy_review_apps_enabled) {
    // Scalingo's automatic review apps are off: this one was created on demand.
    note = `${that} is closed: Scalingo deletes review app ${name} as soon as the ${t.pr()} closes, as it does every review app created on demand${staleNote}.`;
  } else if (link.delete_on_close_enabled) {
    const hours = link.hours_before_delete_on_close ?? 0;
    note = `${that} is closed: Scalingo deletes review app ${name} ${hours > 0 ? `in ${hours} hour(s)` : 'now'} (delete-on-close is on).`;
  } else {
    const until = stale
      ? `Scalingo deletes it as stale ${stale}`
      : `you delete it in the dashboard (delete-on-close and delete-stale are off; set ${job.setting('delete-on-close', 'true')} to delete it on close)`;
    note = `${that} is closed: if Scalingo created review app ${name} by itself, it stays until ${until}; ${onDemand}.`;
  }
  return told(job, { reviewApp: name, note });
}

function told<T extends { note: string }>(job: AppRun, what: T): T {
  job.log.info(what.note);
  return what;
}

function capital(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
