/**
 * Review apps: created or redeployed for an open pull request, and what happens to them once it is closed.
 *
 * How Scalingo behaves, and why the step does what it does:
 * - a new review app's first deployment waits for the commit's CI checks, this job among them: the step deploys it
 *   itself (manual_deploy on the review app) unless a deployment already started by itself, and follows that one;
 * - a review app has its own link, which auto-deploys the pull request's branch: the step sets its auto-deploy to
 *   `review-app-auto-deploy` (off by default, so that each push is deployed once, by the step);
 * - a manually created review app is deleted as soon as its pull request closes.
 */
import { dashboardUrl } from '../../scalingo/dashboard.js';
import { describeFailure, notFound, ScalingoApiError } from '../../scalingo/errors.js';
import type { Deployment, ReviewApp, ScmRepoLink } from '../../scalingo/types.js';
import { UserError } from '../errors.js';
import type { PullRequestInfo } from '../event.js';
import type { Job } from '../job.js';
import { findReviewApp, newDeployment, reviewAppBranch } from '../plan.js';
import { retryUntilDeadline, type RetryUntilDeadline } from '../retry-until-deadline.js';
import { newestDeployment, trigger } from './deploy.js';
import { followAndReport } from './follow.js';

/** How long a new review app is watched for a deployment it started by itself, at most, before deploying it. */
const SELF_START_LOOK_MS = 2000;
/** How many of a new review app's newest deployments the look reads: enough to prefer the one that built the commit. */
const SELF_START_PAGE = 10;
/** Reads of a new review app's own link, a poll interval apart, while it answers 404 right after the creation. */
const NEW_LINK_READS = 4;

/**
 * The parent's review apps. The list needs the link: an app with no link yet (or, in a dry run, a link only
 * planned) has none, and is not asked (Scalingo would answer 404).
 */
export async function reviewAppsOf(job: Job, link: ScmRepoLink | null): Promise<ReviewApp[]> {
  if (!link || job.report.view.link?.result === 'would-create') return [];
  return job.client.listReviewApps(job.settings.app);
}

export async function reviewApp(job: Job, pr: PullRequestInfo, link: ScmRepoLink | null, reviewApps: ReviewApp[]): Promise<void> {
  const s = job.settings;
  const t = job.terms;
  job.report.pullRequest(pr);
  if (link?.deploy_review_apps_enabled) {
    job.warn(`The link's automatic review apps are on: Scalingo creates and deploys review apps for ${t.pr()}s by itself too, so they are deployed twice. Set ${job.setting('review-apps', 'false')} to let this step manage them alone.`, 'Double deploy');
  }
  if (pr.fork) {
    job.log.info(`${capital(t.pr(pr.number))} comes from a fork: its code will run on Scalingo in the review app.`);
  }
  const existing = findReviewApp(reviewApps, pr.number);

  if (s.dryRun) return dryRun(job, pr, existing);

  const { name, deployment } = await job.log.group(`Review app of ${t.pr(pr.number)}`, () =>
    existing?.app_name ? redeploy(job, pr, existing, existing.app_name) : create(job, pr));
  job.report.reviewApp(name);
  await followAndReport(job, name, deployment, pr);
}

/** The review app's name, dashboard page and target: known from here on, even if the run stops before a deployment. */
function known(job: Job, name: string): void {
  job.report.reviewApp(name);
  job.report.target(name, dashboardUrl(job.settings.region, name));
}

async function redeploy(job: Job, pr: PullRequestInfo, existing: ReviewApp, name: string): Promise<{ name: string; deployment: Deployment }> {
  known(job, name);
  // Its link, and its newest deployment: the trigger adopts none older after an unclear answer.
  const [linkRead, newestRead] = await Promise.allSettled([
    settleAutoDeploy(job, name, false),
    lookup(job, `newest deployment of ${name}`, () => newestDeployment(job, name)),
  ]);
  if (linkRead.status === 'rejected') throw linkRead.reason;
  if (newestRead.status === 'rejected') throw newestRead.reason;
  const ownLink = linkRead.value;
  const branch = deployBranch(job, name, ownLink, pr, existing);
  job.log.info(`Review app ${name} exists: redeploying branch ${branch}${ownLink?.branch ? ' (the branch its link follows)' : ''}`);
  // The list names the deployment by its platform id (upstream_deployment_id) and an id of its own.
  const before = newestRead.value ?? existing.last_deployment?.upstream_deployment_id ?? existing.last_deployment?.id;
  return { name, deployment: await trigger(job, name, branch, before, headCommit(pr, branch)) };
}

async function create(job: Job, pr: PullRequestInfo): Promise<{ name: string; deployment: Deployment }> {
  const s = job.settings;
  const client = job.client;
  job.log.info(`Creating the review app of ${job.terms.pr(pr.number)}`);
  // Compared with Scalingo's `created_at`: the wall clock.
  const since = Date.now();
  let created: ReviewApp | undefined;
  try {
    created = await job.once(
      `review app of ${job.terms.pr(pr.number)}`,
      async () => (await client.manualReviewApp(s.app, pr.number)) ?? {},
      async () => findReviewApp(await client.listReviewApps(s.app), pr.number),
    );
  } catch (err) {
    // Scalingo may have created it meanwhile (its own automatic review apps): use that one.
    if (!(err instanceof ScalingoApiError && err.status === 422)) throw err;
    created = findReviewApp(await reviewAppsAfterCreation(job), pr.number);
    if (!created) throw err;
    job.log.info(`Scalingo already has a review app for ${job.terms.pr(pr.number)}: deploying it`);
  }
  // The answer's body is not documented: the name from it, else from the list, else Scalingo's naming rule.
  const name = created.app_name ?? findReviewApp(await reviewAppsAfterCreation(job), pr.number)?.app_name ?? `${s.app}-pr${pr.number}`;
  job.log.info(`Review app ${name} created`);
  known(job, name);
  const ownLink = await settleAutoDeploy(job, name, true);

  // The rule of a deploy's trigger (plan.ts `newDeployment`): never a deployment the run did not start unless it is
  // dated since the creation was asked, the one that built the pull request's head preferred. This holds too when
  // Scalingo answered that the review app existed already: its older deployments are never adopted.
  const started = await startedByItself(job, name, since, pr.sha);
  if (started) {
    job.log.info(`Deployment ${started.id} of ${name} started by itself (${started.status}): following it, no deploy sent`);
    return { name, deployment: started };
  }
  const branch = deployBranch(job, name, ownLink, pr, undefined);
  job.log.info(`Deploying branch ${branch} to ${name}: Scalingo holds a new review app's first deployment until the commit's checks pass, and this job is one of them`);
  return { name, deployment: await trigger(job, name, branch, undefined, headCommit(pr, branch)) };
}

/** The commit Scalingo should build: the pull request's head, when the branch deployed is its head branch. */
function headCommit(pr: PullRequestInfo, branch: string): string | undefined {
  return pr.headBranch === branch ? pr.sha : undefined;
}

function deployBranch(job: Job, name: string, ownLink: ScmRepoLink | null, pr: PullRequestInfo, listed: ReviewApp | undefined): string {
  const branch = reviewAppBranch(ownLink, pr, listed);
  if (!branch) throw new UserError(`Review app ${name} has no link of its own and the ${job.terms.pr()}'s branch is unknown: run on a ${job.terms.pr()} event.`);
  job.report.branch(branch);
  return branch;
}

/**
 * A read of the review app step after the review app is known: an outage (5xx, reset, 429...) is ridden out to the
 * deadline, a poll interval apart, as the status poll does, so that a review app created by this run is not left
 * undeployed by a passing failure; anything else stands at once.
 */
function lookup<T>(job: Job, what: string, read: () => Promise<T>, more: Pick<RetryUntilDeadline<T>, 'alsoRetry' | 'notYet' | 'onNotYet'> = {}): Promise<T> {
  return retryUntilDeadline(read, {
    now: job.now, sleep: job.sleep, deadline: job.deadline, retryEveryMs: job.settings.pollIntervalMs,
    ...(job.signal ? { signal: job.signal } : {}),
    onRetry: (err) => job.log.info(`${capital(what)} not read (${describeFailure(err)}): trying again`),
    atDeadline: (err) => new UserError(`The ${what} could not be read before the deadline (${job.deadlineNote()}): Scalingo's API still failed (${describeFailure(err)}). Nothing was deployed by this run: see ${job.appPage()}, and run this again to deploy it.`),
    ...more,
  });
}

/** The parent's review apps, read again once this run created one (its name, when the creation's answer has none). */
function reviewAppsAfterCreation(job: Job): Promise<ReviewApp[]> {
  return lookup(job, `review app list of ${job.settings.app}`, () => job.client.listReviewApps(job.settings.app));
}

/**
 * Reads the review app's own link and sets its auto-deploy to `review-app-auto-deploy` when it differs. Returns the
 * link as it is afterwards, or null when the review app has none. A review app just created (`fresh`) may answer 404
 * for a moment, itself or its link: it is read a few more times, a poll interval apart, before that stands.
 */
async function settleAutoDeploy(job: Job, name: string, fresh: boolean): Promise<ScmRepoLink | null> {
  const wanted = job.settings.reviewAppAutoDeploy;
  const ownLink = await lookup(job, `link of review app ${name}`, () => job.client.getLink(name), fresh
    ? {
      alsoRetry: (err, tries) => tries < NEW_LINK_READS && notFound(err) !== undefined,
      notYet: (link, tries) => link === null && tries < NEW_LINK_READS,
      onNotYet: () => job.log.info(`Review app ${name} shows no link of its own yet: reading it again`),
    }
    : {});
  if (!ownLink) {
    job.log.info(`Review app ${name} has no link of its own: its auto-deploy is left as it is`);
    return null;
  }
  if (ownLink.auto_deploy_enabled === wanted) return ownLink;
  job.writing(`link update of ${name}`);
  const updated = await job.client.updateLink(name, { auto_deploy_enabled: wanted });
  job.log.info(wanted
    ? `Review app ${name}: its link's auto-deploy turned on, so Scalingo also deploys each push by itself once the checks pass (${job.setting('review-app-auto-deploy', 'true')})`
    : `Review app ${name}: its link's auto-deploy turned off, so that only this step deploys it (${job.setting('review-app-auto-deploy', 'false')})`);
  return { ...ownLink, ...updated };
}

/**
 * A short look for a deployment the new review app started by itself (when its commit's checks had already passed),
 * so that the step follows it instead of starting a second one. Adopted only as a deploy's trigger adopts one
 * (plan.ts `newDeployment`): dated (`created_at`) at or after `since`, the moment the creation was asked, give or
 * take the same clock skew, and, among those, the one that built `commit` (the pull request's head) when known. No
 * deployment was read before: the review app did not exist, or (422) was not known to this run.
 */
async function startedByItself(job: Job, name: string, since: number, commit: string | undefined): Promise<Deployment | undefined> {
  // An outage is ridden out to the deadline: deploying without knowing could start a second deployment.
  const look = (): Promise<Deployment | undefined> => lookup(job, `deployments of ${name}`, async () => {
    try {
      return newDeployment(await job.client.listDeployments(name, SELF_START_PAGE), undefined, since, commit);
    } catch (err) {
      // The review app may not be visible yet right after its creation.
      if (err instanceof ScalingoApiError && err.status === 404) return undefined;
      throw err;
    }
  });
  const first = await look();
  if (first) return first;
  const wait = Math.min(job.settings.pollIntervalMs, SELF_START_LOOK_MS, job.deadline - job.now());
  if (wait <= 0) return undefined;
  job.throwIfCancelled();
  await job.sleep(wait, job.signal);
  job.throwIfCancelled();
  return look();
}

async function dryRun(job: Job, pr: PullRequestInfo, existing: ReviewApp | undefined): Promise<void> {
  const s = job.settings;
  const autoDeploy = `auto-deploy ${s.reviewAppAutoDeploy ? 'on' : 'off'}`;
  let what: string;
  if (existing?.app_name) {
    const name = existing.app_name;
    job.report.reviewApp(name);
    const ownLink = await job.client.getLink(name);
    const branch = reviewAppBranch(ownLink, pr, existing);
    if (branch) job.report.branch(branch);
    const change = ownLink && ownLink.auto_deploy_enabled !== s.reviewAppAutoDeploy ? `, set its link's ${autoDeploy}` : '';
    what = `redeploy review app ${name} (branch ${branch ?? '?'})${change}`;
  } else {
    const branch = pr.headBranch;
    if (branch) job.report.branch(branch);
    what = `create the review app of ${job.terms.pr(pr.number)}, set its link's ${autoDeploy}, and deploy branch ${branch ?? '(the one its link follows)'} to it`;
  }
  job.log.info(`Would ${what}`);
  job.report.finish(true, 'dry-run', `dry run: would ${what}`);
}

/** A closed pull request: nothing to deploy; say what becomes of its review app. */
export function closed(job: Job, pr: PullRequestInfo, link: ScmRepoLink | null, reviewApps: ReviewApp[]): void {
  const s = job.settings;
  const t = job.terms;
  const that = capital(t.pr(pr.number));
  job.report.pullRequest(pr);
  const existing = findReviewApp(reviewApps, pr.number);
  const onDemand = `Scalingo deletes a review app created on demand, as this step creates them, as soon as its ${t.pr()} closes`;
  let note: string;
  if (!existing) {
    note = `${that} is closed and has no review app on ${s.app}: nothing to do (${onDemand}).`;
  } else {
    const name = existing.app_name ?? `${s.app}-pr${pr.number}`;
    job.report.reviewApp(name);
    const onClose = formatDate(existing.on_close_deletion_date);
    const stale = formatDate(existing.stale_deletion_date);
    const staleNote = stale ? ` (stale deletion date: ${stale})` : '';
    if (onClose) {
      note = `${that} is closed: Scalingo deletes review app ${name} on ${onClose}${staleNote}.`;
    } else if (!link?.deploy_review_apps_enabled) {
      // Scalingo's automatic review apps are off: this one was created on demand.
      note = `${that} is closed: Scalingo deletes review app ${name} as soon as the ${t.pr()} closes, as it does every review app created on demand${staleNote}.`;
    } else if (link.delete_on_close_enabled) {
      const hours = link.hours_before_delete_on_close ?? 0;
      note = `${that} is closed: Scalingo deletes review app ${name} ${hours > 0 ? `in ${hours} hour(s)` : 'now'} (delete-on-close is on).`;
    } else {
      const until = link.delete_stale_enabled
        ? `Scalingo deletes it as stale ${stale ? `on ${stale}` : `${link.hours_before_delete_stale ?? 0} hour(s) after its last deploy`}`
        : `you delete it in the dashboard (delete-on-close and delete-stale are off; set ${job.setting('delete-on-close', 'true')} to delete it on close)`;
      note = `${that} is closed: if Scalingo created review app ${name} by itself, it stays until ${until}; ${onDemand}.`;
    }
  }
  job.report.note(note);
  job.log.info(note);
  job.report.finish(true, 'nothing-to-deploy', note);
}

/** An API date as `2026-01-31 12:00 UTC`; undefined when none is given. */
function formatDate(value: string | null | undefined): string | undefined {
  if (!value) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC` : value;
}

function capital(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
