/**
 * Review apps: created or redeployed for an open pull request, and what happens to them once it is closed.
 *
 * How Scalingo behaves, and why the step does what it does:
 * - a review app's own link follows GitHub's head label `owner:branch`, and the review app list names the branch the
 *   same way; `manual_deploy` is only known to take the bare branch: the step deploys the pull request's head branch,
 *   bare, from the CI event (Scalingo's label turned back into the branch when the event does not say);
 * - a new review app's first deployment is Scalingo's to decide when the creation ends (add-ons provisioned): held
 *   while the commit's checks are pending (this job is one of them), started at once when they passed. The step
 *   looks for one while the review app is being created, adopts it when it shows up, and deploys the review app
 *   itself otherwise; one that shows up after the step's own deploy is said in one line (Scalingo runs both);
 * - a review app has its own link, which auto-deploys the pull request's branch: the step sets its auto-deploy to
 *   `review-app-auto-deploy` (off by default, so that each push is deployed once, by the step), and never writes
 *   anything else of it;
 * - a manually created review app is deleted as soon as its pull request closes (review-app-closed.ts).
 */
import { notFound, ScalingoApiError } from '../../scalingo/errors.js';
import type { Deployment, ReviewApp, ScmRepoLink } from '../../scalingo/types.js';
import { UserError } from '../errors.js';
import type { PullRequestInfo } from '../event.js';
import type { AppRun } from '../app-context.js';
import { findReviewApp, reviewAppBranch, reviewAppCommit, type ReviewAppBranch } from '../review-app-plan.js';
import { branchRefused, newestDeployment, trigger } from './deploy.js';
import { lookup, secondDeployment, whileCreated } from './review-app-watch.js';

/**
 * The parent's review apps. The list needs the link: an app with no link yet (or, in a dry run, a link only
 * planned) has none, and is not asked (Scalingo would answer 404).
 */
export async function reviewAppsOf(job: AppRun, link: ScmRepoLink | null): Promise<ReviewApp[]> {
  if (!link || job.report.view.link?.result === 'would-create') return [];
  return job.client.listReviewApps(job.app);
}

/** Facts the review app phase learns before it is over, for the run to record at once (a failure may follow). */
export interface ReviewAppProgress {
  reviewApp(name: string): void;
  branch(branch: string): void;
}

/** What the review app phase decided: the review app and the deployment to follow (none in a dry run). */
export type ReviewAppDecision =
  | { kind: 'dry-run'; message: string }
  | { kind: 'started'; name: string; deployment: Deployment; afterFollow?: (followed: Deployment) => Promise<void> };

export async function reviewApp(
  job: AppRun,
  pr: PullRequestInfo,
  link: ScmRepoLink | null,
  reviewApps: ReviewApp[],
  progress: ReviewAppProgress,
): Promise<ReviewAppDecision> {
  const s = job.settings;
  const t = job.terms;
  if (link?.deploy_review_apps_enabled) {
    job.warn(
      `The link's automatic review apps are on: Scalingo creates and deploys review apps for ${t.pr()}s by itself too, so they are deployed twice. Set ${job.setting('review-apps', 'false')} to let this step manage them alone.`,
      'Double deploy',
    );
  }
  if (pr.fork) {
    job.log.info(`${capital(t.pr(pr.number))} comes from a fork: its code will run on Scalingo in the review app.`);
  }
  const existing = findReviewApp(reviewApps, pr.number);

  if (s.dryRun) return dryRun(job, pr, link, existing, progress);

  const made = await job.log.group(`Review app of ${t.pr(pr.number)}`, () =>
    existing?.app_name
      ? redeploy(job, pr, link, existing, existing.app_name, progress)
      : create(job, pr, link, progress),
  );
  const since = made.createdSince;
  return {
    kind: 'started',
    name: made.name,
    deployment: made.deployment,
    ...(since === undefined
      ? {}
      : {
          afterFollow: async (followed: Deployment) => {
            const line = await secondDeployment(job, made.name, followed, since);
            if (line) job.warn(line, 'Second deployment');
          },
        }),
  };
}

interface Made {
  name: string;
  deployment: Deployment;
  /** A review app this run created, asked at this time (wall clock): Scalingo may start its first deployment too. */
  createdSince?: number;
}

async function redeploy(
  job: AppRun,
  pr: PullRequestInfo,
  parentLink: ScmRepoLink | null,
  existing: ReviewApp,
  name: string,
  progress: ReviewAppProgress,
): Promise<Made> {
  progress.reviewApp(name);
  // Its link, and its newest deployment: the trigger adopts none older after an unclear answer.
  const [linkRead, newestRead] = await Promise.allSettled([
    lookup(job, `link of review app ${name}`, () => job.client.getLink(name)),
    lookup(job, `newest deployment of ${name}`, () => newestDeployment(job, name)),
  ]);
  if (linkRead.status === 'rejected') throw linkRead.reason;
  if (newestRead.status === 'rejected') throw newestRead.reason;
  const ownLink = await settleAutoDeploy(job, name, linkRead.value);
  const branch = deployBranch(job, name, pr, ownLink, existing, parentLink, progress);
  job.log.info(
    `Review app ${name} exists: redeploying branch ${branch.branch}${branch.from === 'event' ? '' : ` (from the ${branch.from})`}`,
  );
  // The list names the deployment by its platform id (upstream_deployment_id) and an id of its own.
  const before = newestRead.value ?? existing.last_deployment?.upstream_deployment_id ?? existing.last_deployment?.id;
  return { name, deployment: await deployReviewApp(job, pr, name, branch, before) };
}

async function create(
  job: AppRun,
  pr: PullRequestInfo,
  parentLink: ScmRepoLink | null,
  progress: ReviewAppProgress,
): Promise<Made> {
  const client = job.client;
  job.log.info(`Creating the review app of ${job.terms.pr(pr.number)}`);
  // Compared with Scalingo's `created_at`: the wall clock.
  const since = Date.now();
  let created: ReviewApp | undefined;
  await job.startingDeployment();
  try {
    created = await job.once(
      `review app of ${job.terms.pr(pr.number)}`,
      async () => (await client.manualReviewApp(job.app, pr.number)) ?? {},
      async () => findReviewApp(await client.listReviewApps(job.app), pr.number),
    );
  } catch (err) {
    // Scalingo may have created it meanwhile (its own automatic review apps): use that one.
    if (err instanceof ScalingoApiError && err.status === 404 && notFound(err) !== 'app') {
      throw new UserError(
        `Scalingo answered 404 to the creation of the review app of ${job.terms.pr(pr.number)} (pull_request_id ${pr.number})${said(err)}: check that ${job.terms.pr(pr.number)} is open in the repository linked to ${job.app}.`,
      );
    }
    if (!(err instanceof ScalingoApiError && err.status === 422)) throw err;
    created = findReviewApp(await reviewAppsAfterCreation(job), pr.number);
    if (!created) throw err;
    job.log.info(`Scalingo already has a review app for ${job.terms.pr(pr.number)}: deploying it`);
  }
  // The answer's body is not documented: the name from it, else from the list, else Scalingo's naming rule.
  const name =
    created.app_name ??
    findReviewApp(await reviewAppsAfterCreation(job), pr.number)?.app_name ??
    `${job.app}-pr${pr.number}`;
  job.log.info(`Review app ${name} created`);
  progress.reviewApp(name);

  // The rule of a deploy's trigger (plan.ts `newDeployment`): never a deployment the run did not start unless it is
  // dated since the creation was asked, the one that built the pull request's head preferred. This holds too when
  // Scalingo answered that the review app existed already: its older deployments are never adopted.
  const commit = reviewAppCommit(pr);
  const creation = await whileCreated(job, name, since, commit);
  const ownLink = creation.ownLink ? await settleAutoDeploy(job, name, creation.ownLink) : null;
  // One that Scalingo decided before the auto-deploy was turned off may still show up later: said after following.
  const started = creation.started;
  if (started) {
    job.log.info(
      `Deployment ${started.id} of ${name} started by itself (${started.status}): following it, no deploy sent`,
    );
    return { name, deployment: started, createdSince: since };
  }
  const branch = deployBranch(job, name, pr, ownLink, created.pull_request ? created : undefined, parentLink, progress);
  job.log.info(
    `Deploying branch ${branch.branch} to ${name}: Scalingo holds a new review app's first deployment until the commit's checks pass, and this job is one of them`,
  );
  return { name, deployment: await deployReviewApp(job, pr, name, branch, undefined), createdSince: since };
}

/**
 * The review app's manual_deploy, with the pull request's head commit as the one to prefer. A 404 that names
 * nothing, right after the links were read, is Scalingo refusing the branch: said with its answer and the branch.
 */
async function deployReviewApp(
  job: AppRun,
  pr: PullRequestInfo,
  name: string,
  branch: ReviewAppBranch,
  before: Deployment | string | undefined,
): Promise<Deployment> {
  try {
    return await trigger(job, name, branch.branch, before, reviewAppCommit(pr));
  } catch (err) {
    const refused = branchRefused(err, branch.branch, `review app ${name}`);
    if (!refused) throw err;
    const t = job.terms;
    if (branch.fork) {
      throw new UserError(
        `${refused}: ${t.pr(pr.number)} comes from a fork, and Scalingo may not deploy a fork's branch by name. Let Scalingo make the review apps of forks itself (${job.setting('review-apps', 'true')} with ${job.setting('review-apps-from-forks', 'true')}), or push the branch to this repository.`,
      );
    }
    throw new UserError(
      `${refused}: check that branch ${branch.branch} still exists in the repository (a ${t.pr()} whose branch was deleted cannot be deployed).`,
    );
  }
}

/** The branch to deploy (see review-app-plan.ts `reviewAppBranch`); the repository's owner is the parent link's. */
function deployBranch(
  job: AppRun,
  name: string,
  pr: PullRequestInfo,
  ownLink: ScmRepoLink | null,
  listed: ReviewApp | undefined,
  parentLink: ScmRepoLink | null,
  progress: ReviewAppProgress,
): ReviewAppBranch {
  const branch = reviewAppBranch(pr, ownLink, listed, parentLink?.owner);
  if (!branch)
    throw new UserError(
      `Review app ${name} has no link of its own and the ${job.terms.pr()}'s branch is unknown: run on a ${job.terms.pr()} event.`,
    );
  progress.branch(branch.branch);
  return branch;
}

/** The parent's review apps, read again once this run created one (its name, when the creation's answer has none). */
function reviewAppsAfterCreation(job: AppRun): Promise<ReviewApp[]> {
  return lookup(job, `review app list of ${job.app}`, () => job.client.listReviewApps(job.app));
}

/**
 * Sets the review app's own link's auto-deploy to `review-app-auto-deploy` when it differs: the one write the step
 * makes to a review app's link. Returns the link as it is afterwards.
 */
async function settleAutoDeploy(job: AppRun, name: string, ownLink: ScmRepoLink | null): Promise<ScmRepoLink | null> {
  const wanted = job.settings.reviewAppAutoDeploy;
  if (!ownLink) {
    job.log.info(`Review app ${name} has no link of its own: its auto-deploy is left as it is`);
    return null;
  }
  if (ownLink.auto_deploy_enabled === wanted) return ownLink;
  job.writing(`link update of ${name}`);
  const updated = await job.client.updateLink(name, { auto_deploy_enabled: wanted });
  job.log.info(
    wanted
      ? `Review app ${name}: its link's auto-deploy turned on, so Scalingo also deploys each push by itself once the checks pass (${job.setting('review-app-auto-deploy', 'true')})`
      : `Review app ${name}: its link's auto-deploy turned off, so that only this step deploys it (${job.setting('review-app-auto-deploy', 'false')})`,
  );
  return { ...ownLink, ...updated };
}

async function dryRun(
  job: AppRun,
  pr: PullRequestInfo,
  parentLink: ScmRepoLink | null,
  existing: ReviewApp | undefined,
  progress: ReviewAppProgress,
): Promise<ReviewAppDecision> {
  const s = job.settings;
  const autoDeploy = `auto-deploy ${s.reviewAppAutoDeploy ? 'on' : 'off'}`;
  let what: string;
  if (existing?.app_name) {
    const name = existing.app_name;
    progress.reviewApp(name);
    const ownLink = await job.client.getLink(name);
    const branch = reviewAppBranch(pr, ownLink, existing, parentLink?.owner)?.branch;
    if (branch) progress.branch(branch);
    const change =
      ownLink && ownLink.auto_deploy_enabled !== s.reviewAppAutoDeploy ? `, set its link's ${autoDeploy}` : '';
    what = `redeploy review app ${name} (branch ${branch ?? '?'})${change}`;
  } else {
    const branch = reviewAppBranch(pr, null, undefined, parentLink?.owner)?.branch;
    if (branch) progress.branch(branch);
    what = `create the review app of ${job.terms.pr(pr.number)}, set its link's ${autoDeploy}, and deploy branch ${branch ?? '(the one its link follows)'} to it`;
  }
  job.log.info(`Would ${what}`);
  return { kind: 'dry-run', message: `dry run: would ${what}` };
}

/** ` (Scalingo said: …)`, or nothing when the answer said nothing. */
function said(err: ScalingoApiError): string {
  return err.apiMessage ? ` (Scalingo said: ${err.apiMessage})` : '';
}

function capital(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
