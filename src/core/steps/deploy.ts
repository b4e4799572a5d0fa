/** A deploy of a branch through the link (manual_deploy), never sent twice. */
import { dashboardUrl } from '../../scalingo/dashboard.js';
import type { App, Deployment, ScmRepoLink } from '../../scalingo/types.js';
import type { Job } from '../job.js';
import { newDeployment } from '../plan.js';
import { followAndReport } from './follow.js';

export async function deploy(job: Job, branch: string, link: ScmRepoLink | null, app: App): Promise<void> {
  const s = job.settings;
  job.report.target(s.app, dashboardUrl(s.region, s.app));
  job.report.branch(branch);
  job.report.appUrl(app.url || app.base_url);
  // Scalingo's auto-deploy reacts to pushes only: a manual or scheduled run is deployed once.
  if (link?.auto_deploy_enabled && link.branch === branch && job.ctx.event.kind === 'push') {
    job.warn(`The link's auto-deploy is on for ${branch}: Scalingo deploys this push by itself too, so it is deployed twice. Set ${job.setting('auto-deploy', 'false')} to let this step deploy alone.`, 'Double deploy');
  }
  if (s.dryRun) {
    job.log.info(`Would deploy branch ${branch} of ${s.app}${s.wait ? ' and follow it' : ''}`);
    job.report.finish(true, 'dry-run', `dry run: would deploy branch ${branch} of ${s.app}`);
    return;
  }
  const deployment = await job.log.group(`Deploy branch ${branch} of ${s.app}`, () => trigger(job, s.app, branch, app.last_deployment_id ?? undefined));
  await followAndReport(job, s.app, deployment, undefined);
}

/**
 * manual_deploy, never twice: after an ambiguous failure, look for the deployment it may have started, newer than
 * `previousId` (the app's latest deployment before the trigger).
 */
export async function trigger(job: Job, app: string, branch: string, previousId: string | undefined): Promise<Deployment> {
  const client = job.client;
  const since = job.now();
  const deployment = await job.once(
    `deploy of branch ${branch} of ${app}`,
    () => client.manualDeploy(app, branch),
    async () => newDeployment(await client.listDeployments(app, 10), previousId, since),
  );
  job.log.info(`Deployment ${deployment.id} started (${deployment.status})`);
  return deployment;
}
