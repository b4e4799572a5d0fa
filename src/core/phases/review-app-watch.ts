/**
 * Watching a review app while Scalingo makes it: the reads of the review app flow ride an outage out; while a new
 * review app is being created (its own link not readable yet) its link and deployments are looked at together, for a
 * deployment Scalingo starts by itself; once the step's own deployment was followed, one more look tells whether
 * Scalingo started one too, late.
 */
import { describeFailure, notFound, ScalingoApiError } from '../../scalingo/errors.js';
import type { Deployment, ScmRepoLink } from '../../scalingo/types.js';
import { UserError } from '../errors.js';
import type { AppRun } from '../app-context.js';
import { formatDuration } from '../log.js';
import { CLOCK_SKEW_MS, newDeployment } from '../plan.js';
import { retryUntilDeadline } from '../retry-until-deadline.js';

/** How many of a new review app's newest deployments a look reads: enough to prefer the one that built the commit. */
const SELF_START_PAGE = 10;
/** The longest a new review app's creation is waited for (its own link to show), within the deadline. */
export const CREATION_WAIT_MS = 5 * 60_000;
/** While a creation is waited for, a line this often. */
const CREATION_NOTE_MS = 30_000;

/**
 * A read of the review app step after the review app is known: an outage (5xx, reset, 429...) is ridden out to the
 * deadline, a poll interval apart, as the status poll does, so that a review app created by this run is not left
 * undeployed by a passing failure; anything else stands at once.
 */
export function lookup<T>(job: AppRun, what: string, read: () => Promise<T>): Promise<T> {
  return retryUntilDeadline(read, {
    now: job.now,
    sleep: job.sleep,
    deadline: job.deadline,
    retryEveryMs: job.settings.pollIntervalMs,
    ...(job.signal ? { signal: job.signal } : {}),
    onRetry: (err) => job.log.info(`${capital(what)} not read (${describeFailure(err)}): trying again`),
    atDeadline: (err) =>
      new UserError(
        `The ${what} could not be read before the deadline (${job.deadlineNote()}): Scalingo's API still failed (${describeFailure(err)}). Nothing was deployed by this run: see ${job.appPage()}, and run this again to deploy it.`,
      ),
  });
}

/**
 * While a new review app is being created (its own link cannot be read yet: 404, or the app itself is not visible
 * yet), its link and its newest deployments are read together, a poll interval apart, until the link shows or a
 * deployment it started by itself does; for at most CREATION_WAIT_MS, within the deadline. An outage is ridden out.
 */
export async function whileCreated(
  job: AppRun,
  name: string,
  since: number,
  commit: string | undefined,
): Promise<{ ownLink: ScmRepoLink | null; started?: Deployment }> {
  const start = job.now();
  const until = Math.min(job.deadline, start + CREATION_WAIT_MS);
  let noted: number | undefined;
  for (;;) {
    const [linkRead, lookRead] = await Promise.allSettled([
      readOwnLink(job, name),
      lookForSelfStarted(job, name, since, commit),
    ]);
    if (linkRead.status === 'rejected') throw linkRead.reason;
    if (lookRead.status === 'rejected') throw lookRead.reason;
    const ownLink = linkRead.value;
    if (lookRead.value) return { ownLink, started: lookRead.value };
    if (ownLink) return { ownLink };
    const now = job.now();
    if (now >= until) {
      job.log.info(
        `Review app ${name} shows no link of its own after ${formatDuration(now - start)}: its auto-deploy is left as it is`,
      );
      return { ownLink: null };
    }
    if (noted === undefined || now - noted >= CREATION_NOTE_MS) {
      job.log.info(
        noted === undefined
          ? `Review app ${name} is being created (no link of its own yet): waiting for it, and for a deployment it may start by itself`
          : `Review app ${name} is still being created (${formatDuration(now - start)}): waiting`,
      );
      noted = now;
    }
    job.throwIfCancelled();
    // Two reads a round, slowing down as the request budget fills (a creation may take minutes).
    await job.sleep(
      Math.min(Math.max(job.settings.pollIntervalMs, 2 * job.session.limiter.paceMs()), until - now),
      job.signal,
    );
    job.throwIfCancelled();
  }
}

/** The review app's own link; null while it has none, or while the review app itself is not visible yet. */
function readOwnLink(job: AppRun, name: string): Promise<ScmRepoLink | null> {
  return lookup(job, `link of review app ${name}`, async () => {
    try {
      return await job.client.getLink(name);
    } catch (err) {
      if (notFound(err) === 'app') return null;
      throw err;
    }
  });
}

/**
 * One look for a deployment the new review app started by itself, adopted only as a deploy's trigger adopts one
 * (plan.ts `newDeployment`): dated (`created_at`) at or after `since`, the moment the creation was asked, give or
 * take the clock skew, and, among those, the one that built `commit` (the pull request's head) when known. No
 * deployment was read before: the review app did not exist, or (422) was not known to this run. An outage is
 * ridden out to the deadline: deploying without knowing could start a second deployment.
 */
function lookForSelfStarted(
  job: AppRun,
  name: string,
  since: number,
  commit: string | undefined,
): Promise<Deployment | undefined> {
  return lookup(job, `deployments of ${name}`, async () => {
    try {
      return newDeployment(await job.client.listDeployments(name, SELF_START_PAGE), undefined, since, commit);
    } catch (err) {
      // The review app may not be visible yet right after its creation.
      if (err instanceof ScalingoApiError && err.status === 404) return undefined;
      throw err;
    }
  });
}

/**
 * After following the deployment of a review app this run created: a deployment Scalingo started by itself as well
 * (its first deployment, decided before the step turned the auto-deploy off, showing up late) is said in one line.
 * One read; a failure says nothing.
 */
export async function secondDeployment(
  job: AppRun,
  name: string,
  followed: Deployment,
  since: number,
): Promise<string | undefined> {
  let recent: Deployment[];
  try {
    recent = await job.client.listDeployments(name, SELF_START_PAGE);
  } catch (err) {
    job.log.debug(`deployments of ${name} not read: ${String(err)}`);
    return undefined;
  }
  const other = recent.find(
    (d) => d.id !== followed.id && d.created_at !== undefined && Date.parse(d.created_at) >= since - CLOCK_SKEW_MS,
  );
  if (!other) return undefined;
  return `Scalingo started deployment ${other.id} of ${name} by itself too (${other.status}), the review app's first deployment, decided before its auto-deploy was turned off: two deployments of one commit, which Scalingo runs one after the other; this step followed ${followed.id}.`;
}

function capital(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
