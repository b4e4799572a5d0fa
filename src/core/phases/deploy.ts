/** A deploy of a branch through the link (manual_deploy), never sent twice, never mistaken for another deployment. */
import { notFound, ScalingoApiError } from '../../scalingo/errors.js';
import type { App, Deployment, ScmRepoLink } from '../../scalingo/types.js';
import type { AppRun } from '../app-context.js';
import { UserError } from '../errors.js';
import { expectedCommit, newDeployment } from '../plan.js';

/** What a deploy reads before it triggers: the app, and its newest deployment (none when it never deployed). */
export interface DeployReads {
  app: App;
  newest: Deployment | undefined;
}

/**
 * Reads the app and its newest deployment at once. The newest, not `app.last_deployment_id`: that one is the last
 * SUCCESSFUL deployment, and a deploy's trigger must only ever adopt a deployment newer than the newest.
 */
export async function readForDeploy(job: AppRun, app = job.app): Promise<DeployReads> {
  const known = job.knownApp(app);
  const [a, n] = await Promise.allSettled([
    known ? Promise.resolve(known) : job.client.getApp(app),
    newestDeployment(job, app),
  ]);
  // An unknown app explains the other failure: it is reported first.
  if (a.status === 'rejected') throw a.reason;
  if (n.status === 'rejected') throw n.reason;
  return { app: a.value, newest: n.value };
}

/** The app's newest deployment (`GET …/deployments?per_page=1`), or undefined when it has none. */
export async function newestDeployment(job: AppRun, app: string): Promise<Deployment | undefined> {
  const [newest] = await job.client.listDeployments(app, 1);
  return newest;
}

/** What the deploy phase decided: the branch, the app's URL, and the deployment it started (none in a dry run). */
export type DeployDecision =
  | { kind: 'dry-run'; branch: string; appUrl: string | undefined; message: string }
  | { kind: 'started'; branch: string; appUrl: string | undefined; deployment: Deployment };

export async function deploy(
  job: AppRun,
  branch: string,
  link: ScmRepoLink | null,
  reads: DeployReads,
): Promise<DeployDecision> {
  const s = job.settings;
  const appUrl = reads.app.url || reads.app.base_url;
  // Scalingo's auto-deploy reacts to pushes only: a manual or scheduled run is deployed once.
  if (link?.auto_deploy_enabled && link.branch === branch && job.ctx.event.kind === 'push') {
    job.warn(
      `The link's auto-deploy is on for ${branch}: Scalingo deploys this push by itself too, so it is deployed twice. Set ${job.setting('auto-deploy', 'false')} to let this step deploy alone.`,
      'Double deploy',
    );
  }
  if (s.dryRun) {
    job.log.info(`Would deploy branch ${branch} of ${job.app}${s.wait ? ' and follow it' : ''}`);
    return { kind: 'dry-run', branch, appUrl, message: `dry run: would deploy branch ${branch} of ${job.app}` };
  }
  const commit = expectedCommit(job.ctx, branch);
  const deployment = await job.log.group(`Deploy branch ${branch} of ${job.app}`, async () => {
    try {
      return await trigger(job, job.app, branch, reads.newest, commit);
    } catch (err) {
      const refused = branchRefused(err, branch, job.app);
      if (refused)
        throw new UserError(
          `${refused}: check that branch ${branch} exists in the repository (${job.input('branch')}, ${job.input('deploy-branch')}).`,
        );
      throw err;
    }
  });
  return { kind: 'started', branch, appUrl, deployment };
}

/**
 * manual_deploy, never twice: after an ambiguous failure (5xx, reset, timeout, an answer cut short), adopt a
 * deployment only if it is newer than `before` (the app's newest deployment read before the trigger; an id alone is
 * accepted, then only a deployment listed above it counts) and created at or after the trigger, preferring the one
 * that built `commit`. See plan.ts `newDeployment`.
 */
export async function trigger(
  job: AppRun,
  app: string,
  branch: string,
  before: Deployment | string | undefined,
  commit?: string,
): Promise<Deployment> {
  const client = job.client;
  const prior: Deployment | undefined = typeof before === 'string' ? { id: before, status: '' } : before;
  await job.startingDeployment();
  // Compared with Scalingo's `created_at`: the wall clock, whatever clock the run waits on.
  const since = Date.now();
  const deployment = await job.once(
    `deploy of branch ${branch} of ${app}`,
    () => client.manualDeploy(app, branch),
    async () => newDeployment(await client.listDeployments(app, 10), prior, since, commit),
    // An earlier send whose answer was lost may have been processed late: then Scalingo runs both, the first first.
    async (resent) => {
      let first: Deployment | undefined;
      try {
        first = newDeployment(await client.listDeployments(app, 10), prior, since, commit);
      } catch (err) {
        job.log.debug(`deployments of ${app} not read after the resend: ${String(err)}`);
        return resent;
      }
      if (!first || first.id === resent.id || !olderThan(first, resent)) return resent;
      job.warn(
        `Scalingo processed the deploy of branch ${branch} twice (the first answer was lost and its effect showed late): deployments ${first.id} and ${resent.id}, which it runs one after the other; following ${first.id}, the first.`,
        'Second deployment',
      );
      return first;
    },
  );
  job.log.info(`Deployment ${deployment.id} started (${deployment.status})`);
  return deployment;
}

/**
 * A 404 naming nothing on manual_deploy, right after the link was read: Scalingo refused the branch sent. The start
 * of the one line that says so, with Scalingo's answer; undefined for any other failure.
 */
export function branchRefused(err: unknown, branch: string, app: string): string | undefined {
  if (!(err instanceof ScalingoApiError && err.path.endsWith('/manual_deploy') && notFound(err) === 'unnamed'))
    return undefined;
  return `Scalingo answered 404 to the deploy of branch ${branch} to ${app}${err.apiMessage ? ` (Scalingo said: ${err.apiMessage})` : ''}`;
}

/** `a` was created before `b` (both dated). */
function olderThan(a: Deployment, b: Deployment): boolean {
  const [x, y] = [Date.parse(a.created_at ?? ''), Date.parse(b.created_at ?? '')];
  return Number.isFinite(x) && Number.isFinite(y) && x <= y;
}
