/**
 * The product's one job, the same on every platform: reconcile the link, trigger the deploy or the review app,
 * follow it to the end. Platforms give it settings, a CI context, a logger and hooks; it returns a report.
 * This file only orchestrates: each phase is a step of its own (steps/), each decision a pure function (plan.ts).
 */
import { dashboardUrl } from '../scalingo/dashboard.js';
import { CancelledError, isUnknownApp } from '../scalingo/errors.js';
import { describeEvent, type CiContext } from './event.js';
import { assertNever, UserError } from './errors.js';
import { explain } from './explain.js';
import { Job, type RunDeps } from './job.js';
import { redacting, Secrets } from './log.js';
import { decideAction, missingPullRequest, readAhead, tokenDecision } from './plan.js';
import { ReportBuilder, type RunReport } from './report.js';
import type { Settings } from './settings.js';
import { deploy, readForDeploy } from './steps/deploy.js';
import { reconcileLink, unlink } from './steps/link.js';
import { reviewApp, reviewAppsOf } from './steps/review-app.js';
import { closed } from './steps/review-app-closed.js';

export type { DeploymentEvent, RunDeps, RunHooks, SharedSession } from './job.js';
export { reportOutputs, type DeploymentInfo, type LinkResult, type Outcome, type RunReport } from './report.js';

export async function run(settings: Settings, ctx: CiContext, deps: RunDeps): Promise<RunReport> {
  const secrets = deps.shared?.secrets ?? new Secrets();
  const onSecret = (s: string): void => {
    secrets.add(s);
    deps.onSecret?.(s);
  };
  onSecret(settings.apiToken);
  const report = new ReportBuilder(settings, describeEvent(ctx), ctx.sha);
  const job = new Job(settings, ctx, redacting(deps.log, secrets), report, { ...deps, onSecret });
  try {
    await execute(job);
  } catch (err) {
    verdict(job, err);
  }
  return report.seal(secrets, job.requests(), job.elapsed());
}

async function execute(job: Job): Promise<void> {
  const { settings: s, client, log } = job;
  if (!preflight(job)) return;
  log.info(`Scalingo app ${s.app} (${s.region}), ${job.report.view.event}${s.dryRun ? ', dry run: nothing will be changed' : ''}`);

  const ahead = readAhead(s.command, job.ctx.event);
  const { link, app } = await log.group(`Link ${s.app} to ${s.source ?? 'its repository'}`, async () => {
    await client.exchange();
    const [link, app] = await allOf(
      s.command === 'unlink' ? client.getLink(s.app) : reconcileLink(job),
      ahead.app ? readForDeploy(job) : Promise.resolve(undefined),
    );
    return { link, app };
  });

  const action = decideAction(s, job.ctx, s.link.branch ?? link?.branch);
  job.report.action(action);
  switch (action.kind) {
    case 'none':
      log.info(action.reason);
      job.report.finish(true, 'nothing-to-deploy', action.reason);
      return;
    case 'unlink':
      return unlink(job, link);
    case 'review-app-closed':
      return closed(job, action.pr, link, await reviewAppsOf(job, link));
    case 'deploy':
      return deploy(job, action.branch, link, app ?? (await readForDeploy(job)));
    case 'review-app':
      return reviewApp(job, action.pr, link, await reviewAppsOf(job, link));
    default:
      return assertNever(action);
  }
}

/** Checks that need no request: a token to use, or a reason not to go on. False when the run ends here. */
function preflight(job: Job): boolean {
  const { settings: s, terms: t } = job;
  const noPullRequest = missingPullRequest(s, job.ctx);
  if (noPullRequest) throw new UserError(noPullRequest);
  const decision = tokenDecision(s, job.ctx.event);
  switch (decision) {
    case 'use':
      return true;
    case 'skip': {
      const event = job.ctx.event;
      const pr = event.kind === 'pull-request' ? t.pr(event.pr.number) : t.pr();
      const msg = `No Scalingo API token: ${pr} comes from a fork, and ${t.platformName} gives no secrets to pipelines of forks. Skipped (set ${job.setting('fail-without-token', 'true')} to fail instead).`;
      job.warn(msg, 'Scalingo deploy skipped');
      job.report.finish(true, 'skipped', msg);
      return false;
    }
    case 'missing':
      throw new UserError(`No Scalingo API token: set ${t.secretsHint}`);
    case 'malformed':
      throw new UserError(`${t.subject('api-token')} is malformed (${s.apiToken.length} characters, with spaces or control characters): paste the token alone, e.g. tk-us-...`);
    default:
      return assertNever(decision);
  }
}

/** What stopped the run: a cancellation, the deadline, or an error, each told in one line. */
function verdict(job: Job, err: unknown): void {
  const { settings: s, report } = job;
  if (err instanceof CancelledError || job.signal?.aborted) {
    const where = dashboardUrl(s.region, report.view.app ?? s.app);
    const write = job.lastWrite;
    report.finish(false, 'cancelled', !write
      ? 'Cancelled before anything was changed or started on Scalingo.'
      : write.startsWith('link ')
        ? `Cancelled after the ${write} was requested, before anything was deployed: it may have taken effect, check the link of the app in ${where}.`
        : `Cancelled after the ${write} was requested, before a deployment was followed: see ${where} for what runs.`);
  } else if (report.view.outcome === 'timed-out' || job.now() >= job.deadline) {
    // The deadline, not the error, is what stopped the run.
    const message = explain(err, s, job.terms);
    report.finish(false, 'timed-out', err instanceof UserError ? message : `Stopped at the deadline (${job.deadlineNote()}): ${message}`);
  } else {
    report.finish(false, 'error', explain(err, s, job.terms));
  }
  job.log.debug(`error detail: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
}

/**
 * Like Promise.all, but settles every request before failing, so that none is left running behind the report.
 * An unknown app is the failure reported first: it explains the others.
 */
async function allOf<T extends unknown[]>(...promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const results = await Promise.allSettled(promises);
  const reasons = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (reasons.length) throw reasons.find(isUnknownApp) ?? reasons[0];
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as T;
}
