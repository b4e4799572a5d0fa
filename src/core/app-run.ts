/**
 * One app of a step, from its link to the end of its deployment: reconcile the link, trigger the deploy or the
 * review app, follow it. `runApp(session, app)` orchestrates the phases (phases/), each of which returns what it
 * decided; this file records it in the app's report, whose only writer it is.
 */
import { dashboardUrl } from '../scalingo/dashboard.js';
import { BudgetDeadlineError, isUnknownApp } from '../scalingo/errors.js';
import type { Reservation } from '../scalingo/limiter.js';
import type { App, Deployment, ScmRepoLink } from '../scalingo/types.js';
import { AppRun } from './app-context.js';
import { assertNever, CancelledError, UserError } from './errors.js';
import type { PullRequestInfo } from './event.js';
import { explain } from './explain.js';
import type { Logger } from './log.js';
import { commitMismatch, decideAction, expectedCommit, readAhead } from './plan.js';
import type { AppReport } from './report.js';
import type { Session } from './session.js';
import { deploy, readForDeploy, type DeployReads } from './phases/deploy.js';
import { followDeployment } from './phases/follow.js';
import { reconcileLink, unlink } from './phases/link.js';
import { closed } from './phases/review-app-closed.js';
import { reviewApp, reviewAppsOf } from './phases/review-app.js';

/**
 * One app's run, inside the step's session: its report, sealed (every text redacted). `log` is the app's (its lines
 * marked with its name in a step of several); `reservation`, budget slots set aside for its first requests.
 */
export async function runApp(
  session: Session,
  app: string,
  log: Logger = session.log,
  reservation?: Reservation,
): Promise<AppReport> {
  const run = new AppRun(session, app, log, reservation);
  try {
    await execute(run);
  } catch (err) {
    verdict(run, err);
  } finally {
    reservation?.release();
    run.done();
  }
  return run.report.seal(session.secrets, run.requests(), run.elapsed());
}

async function execute(run: AppRun): Promise<void> {
  const { settings: s, log, report } = run;
  log.info(
    `Scalingo app ${run.app} (${s.region}), ${report.view.event}${s.dryRun ? ', dry run: nothing will be changed' : ''}`,
  );

  const ahead = readAhead(s.command, run.ctx.event);
  const { link, app } = await log.group(`Link ${run.app} to ${s.source ?? 'its repository'}`, async () => {
    await run.client.exchange();
    const reads = ahead.app ? readForDeploy(run) : undefined;
    const [link, app] = await allOf(
      s.command === 'unlink' ? run.client.getLink(run.app) : reconcileAndRecord(run, reads),
      reads ?? Promise.resolve(undefined),
    );
    return { link, app };
  });

  const action = decideAction(s, run.ctx, s.link.branch ?? link?.branch);
  report.action(action);
  switch (action.kind) {
    case 'none':
      log.info(action.reason);
      report.finish(true, 'nothing-to-deploy', action.reason);
      return;
    case 'unlink': {
      const done = await unlink(run, link);
      report.link(done.result);
      report.finish(true, done.outcome, done.message);
      return;
    }
    case 'review-app-closed': {
      report.pullRequest(action.pr);
      const told = closed(run, action.pr, link, await reviewAppsOf(run, link));
      if (told.reviewApp) report.reviewApp(told.reviewApp);
      report.note(told.note);
      report.finish(true, 'nothing-to-deploy', told.note);
      return;
    }
    case 'deploy': {
      const reads = app ?? (await readForDeploy(run));
      const d = await deploy(run, action.branch, link, reads);
      report.target(run.app, dashboardUrl(s.region, run.app));
      report.branch(d.branch);
      report.appUrl(d.appUrl);
      if (d.kind === 'dry-run') return report.finish(true, 'dry-run', d.message);
      return follow(run, {
        app: run.app,
        deployment: d.deployment,
        known: reads.app,
        runCommit: expectedCommit(run.ctx, d.branch),
      });
    }
    case 'review-app': {
      const pr = action.pr;
      report.pullRequest(pr);
      const made = await reviewApp(run, pr, link, await reviewAppsOf(run, link), {
        // Known from here on, even if the run stops before a deployment.
        reviewApp: (name) => {
          report.reviewApp(name);
          report.target(name, dashboardUrl(s.region, name));
        },
        branch: (branch) => report.branch(branch),
      });
      if (made.kind === 'dry-run') return report.finish(true, 'dry-run', made.message);
      return follow(run, {
        app: made.name,
        deployment: made.deployment,
        pr,
        runCommit: pr.sha,
        ...(made.afterFollow ? { afterFollow: made.afterFollow } : {}),
      });
    }
    default:
      return assertNever(action);
  }
}

/**
 * The link phase, its decision recorded. In a step of several apps, the link comes from the step's one list of
 * links when it holds it (found by the app's id, once the app is read); else from a read of its own.
 */
async function reconcileAndRecord(run: AppRun, reads: Promise<DeployReads> | undefined): Promise<ScmRepoLink | null> {
  const listed = reads ? run.session.linkList() : undefined;
  const read =
    listed && reads
      ? async (): Promise<ScmRepoLink | null> => {
          const [links, { app }] = await Promise.all([listed, reads]);
          return (app.id ? links?.get(app.id) : undefined) ?? run.client.getLink(run.app);
        }
      : undefined;
  const decided = await reconcileLink(run, read);
  run.report.link(decided.result, decided.changes);
  return decided.link;
}

interface Followed {
  app: string;
  deployment: Deployment;
  pr?: PullRequestInfo;
  known?: App;
  /** The commit the deployment should build: the pushed one, the pull request's head. */
  runCommit?: string | undefined;
  afterFollow?: (deployment: Deployment) => Promise<void>;
}

/** The deployment recorded as started, followed (follow.ts), and its verdict recorded. */
async function follow(run: AppRun, f: Followed): Promise<void> {
  const { report } = run;
  report.target(f.app, dashboardUrl(run.settings.region, f.app, f.deployment.id));
  report.deployment({ app: f.app, id: f.deployment.id, status: f.deployment.status, startedAt: run.now() });
  report.deploymentCommits(f.deployment.git_ref, f.runCommit);
  const v = await followDeployment(run, {
    app: f.app,
    initial: f.deployment,
    ...(f.pr ? { pr: f.pr } : {}),
    ...(f.known ? { known: f.known } : {}),
    ...(f.afterFollow ? { afterFollow: f.afterFollow } : {}),
    appUrl: report.view.appUrl,
    runCommit: f.runCommit,
    onStatus: (status) => report.deploymentStatus(status),
    onAppUrl: (url) => report.appUrl(url),
  });
  if (!v.followed) report.notFollowed();
  report.deploymentStatus(v.deployment.status, v.endedAt);
  report.deploymentCommits(v.deployment.git_ref);
  if (v.tail !== undefined) report.outputTail(v.tail);
  const unreviewed = f.pr && v.ok ? newerCommit(run, f.pr, f.app, v.deployment.git_ref) : undefined;
  if (unreviewed && run.settings.failOnNewerCommit)
    return report.finish(
      false,
      'failed',
      `${unreviewed}: failing, as ${run.setting('fail-on-newer-commit', 'true')} asks.`,
    );
  if (unreviewed && f.pr?.fork && run.settings.reviewAppLabel !== undefined)
    run.warn(
      `${unreviewed}: review it before trusting the review app (${run.setting('fail-on-newer-commit', 'true')} fails the step instead).`,
      'Unreviewed commit',
    );
  report.finish(v.ok, v.outcome, v.message);
}

/**
 * "Review app X built commit Y, not Z…" when a review app built another commit than the pull request's head the run
 * was started for (a push came after, and Scalingo deploys the branch's head); undefined when it is that commit, or
 * either is unknown.
 */
function newerCommit(run: AppRun, pr: PullRequestInfo, app: string, gitRef: string | undefined): string | undefined {
  if (!gitRef || !pr.sha || !commitMismatch({ gitRef, runCommit: pr.sha })) return undefined;
  const label =
    run.settings.reviewAppLabel !== undefined && pr.fork
      ? ` (after the label ${run.settings.reviewAppLabel} was added)`
      : '';
  return `Review app ${app} built commit ${gitRef.slice(0, 7)}, not ${pr.sha.slice(0, 7)}, the head of ${run.terms.pr(pr.number)} this run was started for: a newer commit was pushed since${label}, and Scalingo deploys the branch's head`;
}

/** What stopped the run: a cancellation, the deadline, or an error, each told in one line. */
function verdict(run: AppRun, err: unknown): void {
  const { settings: s, report } = run;
  if (err instanceof CancelledError || run.signal?.aborted) {
    const where = dashboardUrl(s.region, report.view.app ?? run.app);
    const write = run.lastWrite;
    report.finish(
      false,
      'cancelled',
      !write
        ? 'Cancelled before anything was changed or started on Scalingo.'
        : write.startsWith('link ')
          ? `Cancelled after the ${write} was requested, before anything was deployed: it may have taken effect, check the link of the app in ${where}.`
          : `Cancelled after the ${write} was requested, before a deployment was followed: see ${where} for what runs.`,
    );
  } else if (err instanceof BudgetDeadlineError) {
    // Nothing went wrong on Scalingo: the step's own budget had no slot left before the deadline.
    report.finish(false, 'timed-out', explain(err, { ...s, app: run.app }, run.terms));
  } else if (report.view.outcome === 'timed-out' || run.now() >= run.deadline) {
    // The deadline, not the error, is what stopped the run.
    const message = explain(err, { ...s, app: run.app }, run.terms);
    report.finish(
      false,
      'timed-out',
      err instanceof UserError ? message : `Stopped at the deadline (${run.deadlineNote()}): ${message}`,
    );
  } else {
    report.finish(false, 'error', explain(err, { ...s, app: run.app }, run.terms));
  }
  run.log.debug(`error detail: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
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
