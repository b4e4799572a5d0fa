/** Review apps: created or redeployed for an open pull request, and what happens to them once it is closed. */
import { dashboardUrl } from '../../scalingo/dashboard.js';
import { ScalingoApiError } from '../../scalingo/errors.js';
import type { Deployment, ReviewApp, ScmRepoLink } from '../../scalingo/types.js';
import { UserError } from '../errors.js';
import type { PullRequestInfo } from '../event.js';
import type { Job } from '../job.js';
import { formatDuration } from '../log.js';
import { branchName, findReviewApp } from '../plan.js';
import { trigger } from './deploy.js';
import { followAndReport } from './follow.js';

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
  const headBranch = pr.headBranch ?? branchName(existing?.pull_request?.branch_name);
  if (headBranch) job.report.branch(headBranch);

  if (s.dryRun) {
    const what = existing?.app_name ? `redeploy review app ${existing.app_name} (branch ${headBranch ?? '?'})` : `create the review app of ${t.pr(pr.number)}`;
    if (existing?.app_name) job.report.reviewApp(existing.app_name);
    job.log.info(`Would ${what}`);
    job.report.finish(true, 'dry-run', `dry run: would ${what}`);
    return;
  }

  const { name, deployment } = await job.log.group(`Review app of ${t.pr(pr.number)}`, async () => {
    if (existing?.app_name) {
      if (!headBranch) throw new UserError(`Review app ${existing.app_name} exists but the ${t.pr()}'s branch is unknown: run on a ${t.pr()} event.`);
      job.log.info(`Review app ${existing.app_name} exists: redeploying branch ${headBranch}`);
      known(job, existing.app_name);
      // The list names the deployment by its platform id (upstream_deployment_id) and an id of its own.
      const previous = existing.last_deployment?.upstream_deployment_id ?? existing.last_deployment?.id;
      return { name: existing.app_name, deployment: await trigger(job, existing.app_name, headBranch, previous) };
    }
    return create(job, pr);
  });
  job.report.reviewApp(name);
  await followAndReport(job, name, deployment, pr);
}

/** The review app's name, dashboard page and target: known from here on, even if the run stops before a deployment. */
function known(job: Job, name: string): void {
  job.report.reviewApp(name);
  job.report.target(name, dashboardUrl(job.settings.region, name));
}

async function create(job: Job, pr: PullRequestInfo): Promise<{ name: string; deployment: Deployment }> {
  const s = job.settings;
  const client = job.client;
  job.log.info(`Creating the review app of ${job.terms.pr(pr.number)}`);
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
    created = findReviewApp(await client.listReviewApps(s.app), pr.number);
    if (!created) throw err;
    job.log.info(`Scalingo already has a review app for ${job.terms.pr(pr.number)}: following it`);
  }
  const name = created.app_name ?? findReviewApp(await client.listReviewApps(s.app), pr.number)?.app_name ?? `${s.app}-pr${pr.number}`;
  job.log.info(`Review app ${name} created`);
  known(job, name);
  const deployment = await firstDeployment(job, name);
  job.log.info(`Deployment ${deployment.id} started (${deployment.status})`);
  return { name, deployment };
}

/** A new review app deploys on its own once provisioned: wait for that deployment to appear. */
async function firstDeployment(job: Job, app: string): Promise<Deployment> {
  const s = job.settings;
  for (;;) {
    try {
      const [newest] = await job.client.listDeployments(app, 1);
      if (newest) return newest;
    } catch (err) {
      // The review app may not be visible yet right after its creation.
      if (!(err instanceof ScalingoApiError && err.status === 404)) throw err;
    }
    if (job.now() + s.pollIntervalMs > job.deadline) {
      job.report.timedOut();
      throw new UserError(`Review app ${app} was created but no deployment started before the deadline (${formatDuration(s.timeoutMs)}): see ${dashboardUrl(s.region, app)}.`);
    }
    job.throwIfCancelled();
    await job.sleep(s.pollIntervalMs, job.signal);
  }
}

/** A closed pull request: nothing to deploy; say what becomes of its review app. */
export function closed(job: Job, pr: PullRequestInfo, link: ScmRepoLink | null, reviewApps: ReviewApp[]): void {
  const s = job.settings;
  const that = capital(job.terms.pr(pr.number));
  job.report.pullRequest(pr);
  const existing = findReviewApp(reviewApps, pr.number);
  let note: string;
  if (!existing) {
    note = `${that} is closed and has no review app on ${s.app}: nothing to do.`;
  } else {
    const name = existing.app_name ?? `${s.app}-pr${pr.number}`;
    job.report.reviewApp(name);
    const onClose = job.setting('delete-on-close', 'true');
    if (link?.delete_on_close_enabled) {
      const hours = link.hours_before_delete_on_close ?? 0;
      note = `${that} is closed: Scalingo deletes review app ${name} ${hours > 0 ? `in ${hours} hour(s)` : 'now'} (delete-on-close is on).`;
    } else if (link?.delete_stale_enabled) {
      note = `${that} is closed: review app ${name} stays until Scalingo deletes it as stale, ${link.hours_before_delete_stale ?? 0} hour(s) after its last deploy (set ${onClose} to delete it on close).`;
    } else {
      note = `${that} is closed: review app ${name} stays, since delete-on-close and delete-stale are off. Delete it in the dashboard, or set ${onClose}.`;
    }
  }
  job.report.note(note);
  job.log.info(note);
  job.report.finish(true, 'nothing-to-deploy', note);
}

function capital(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
