/**
 * Following a deployment to its end, within the deadline, and the verdict on it. The one home of everything that
 * watches a running deployment (the build output included).
 */
import { dashboardUrl } from '../../scalingo/dashboard.js';
import { describeFailure, isTransient } from '../../scalingo/errors.js';
import { isFinished, KNOWN_TERMINAL_STATUSES, type App, type Deployment } from '../../scalingo/types.js';
import type { PullRequestInfo } from '../event.js';
import { assertNever } from '../errors.js';
import type { DeploymentEvent, Job } from '../job.js';
import { formatDuration } from '../log.js';
import { expectedCommit } from '../plan.js';
import { commitMismatch } from '../render.js';
import { boundedTail, harmless, LiveOutput, SAFETY_READ_MS, TAIL_LINES, type LiveSummary } from './live-output.js';

export type FollowOutcome = 'success' | 'failed' | 'timed-out' | 'cancelled';

export interface FollowResult {
  outcome: FollowOutcome;
  /** The last state seen. */
  deployment: Deployment;
  /** Status requests made. */
  polls: number;
  /** When the final status was seen (epoch ms). */
  endedAt: number;
}

export interface FollowOptions {
  initial: Deployment;
  getDeployment: () => Promise<Deployment>;
  intervalMs: number;
  /** Epoch ms. */
  deadline: number;
  now: () => number;
  /** Resolves after `ms`, or early when the signal aborts. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  signal?: AbortSignal;
  /** Called once per status, not once per poll. */
  onStatus: (status: string, elapsedMs: number) => void;
  /** Called when a status request failed and will be tried again. */
  onRetry: (err: unknown) => void;
  /** The live stream, when one is used: it makes status requests rare while it is live, and immediate at the end. */
  live?: LiveSource;
  /** Between status requests while the stream is live (default SAFETY_READ_MS). */
  safetyReadMs?: number;
}

/** What the follow loop needs from a live stream of the deployment. */
export interface LiveSource {
  /** The stream is live: status requests are only a safety net. */
  healthy(): boolean;
  /** The stream saw the deployment end: a status request confirms it at once. */
  sawEnd(): boolean;
  /**
   * The stream is live again after an interruption, during which the deployment may have ended unseen: one status
   * request at once. `caughtUp()` is called when it is sent.
   */
  catchUp(): boolean;
  caughtUp(): void;
  /** Aborted at the next change of either: the wait for the next status request is cut short. */
  changes(): AbortSignal;
}

/** First delay between the status requests that confirm an end the stream saw, when the API does not show it yet. */
const CONFIRM_FIRST_MS = 250;

/**
 * When to send the next status request, in ms from now. Without a live stream: every `intervalMs`. While the stream is
 * live: every `safetyReadMs`; at once when it comes back after an interruption. Once the stream saw the end: at once, then (if the API does not show it yet) after
 * 0.25 s, 0.5 s, 1 s... never sparser than `intervalMs`. Intervals run from the start of the last request.
 */
export function nextReadIn(p: {
  now: number; lastRead: number; intervalMs: number; safetyReadMs: number; healthy: boolean; endSeen: boolean; confirmations: number;
  catchUp?: boolean;
}): number {
  let every: number;
  if (p.catchUp && !p.endSeen) every = 0;
  else if (p.endSeen) every = p.confirmations === 0 ? 0 : Math.min(CONFIRM_FIRST_MS * 2 ** (p.confirmations - 1), p.intervalMs);
  else every = p.healthy ? Math.max(p.safetyReadMs, p.intervalMs) : p.intervalMs;
  return Math.max(0, p.lastRead + every - p.now);
}

/**
 * Reads the status at a steady interval, measured from the start of one request to the next so that slow answers
 * do not stretch it, or as the live stream allows (see nextReadIn). Transient failures (network, 5xx, 429, garbled
 * bodies) are retried until the deadline; anything else throws.
 */
export async function follow(opts: FollowOptions): Promise<FollowResult> {
  const start = opts.now();
  let deployment = opts.initial;
  let polls = 0;
  let confirmations = 0;
  const end = (outcome: FollowOutcome): FollowResult => ({ outcome, deployment, polls, endedAt: opts.now() });
  opts.onStatus(deployment.status, 0);
  let lastPoll = start;
  while (!isFinished(deployment.status)) {
    if (opts.signal?.aborted) return end('cancelled');
    const remaining = opts.deadline - opts.now();
    if (remaining <= 0) return end('timed-out');
    const live = opts.live;
    const wake = live?.changes();
    const endSeen = live?.sawEnd() ?? false;
    const now = opts.now();
    const wait = nextReadIn({
      now, lastRead: lastPoll, intervalMs: opts.intervalMs, safetyReadMs: opts.safetyReadMs ?? SAFETY_READ_MS,
      healthy: live?.healthy() ?? false, endSeen, confirmations, catchUp: live?.catchUp() ?? false,
    });
    const signals = [opts.signal, wake].filter((x): x is AbortSignal => x !== undefined);
    await opts.sleep(Math.min(wait, remaining), signals.length > 1 ? AbortSignal.any(signals) : signals[0]);
    if (opts.signal?.aborted) return end('cancelled');
    // The stream changed: decide again (an immediate request when its end came, or polling when it went down).
    if (wake?.aborted && opts.now() < now + wait) continue;
    if (endSeen) confirmations += 1;
    live?.caughtUp();
    lastPoll = opts.now();
    let next: Deployment;
    try {
      polls += 1;
      next = await opts.getDeployment();
    } catch (err) {
      if (opts.signal?.aborted) return end('cancelled');
      if (!isTransient(err)) throw err;
      opts.onRetry(err);
      continue;
    }
    if (next.status !== deployment.status) opts.onStatus(next.status, opts.now() - start);
    deployment = next;
  }
  return end(deployment.status === 'success' ? 'success' : 'failed');
}

export interface FollowExtras {
  /** The app as already read by the step, if it was (its URL and deployments stream are not read again). */
  known?: App;
  /** Called once the deployment was followed to its end (not when the run stopped before). */
  afterFollow?: (deployment: Deployment) => Promise<void>;
}

/** Tells the platform the deployment started, follows it (unless `wait: false`) and gives the run its verdict. */
export async function followAndReport(job: Job, app: string, initial: Deployment, pr: PullRequestInfo | undefined, extras: FollowExtras = {}): Promise<void> {
  const known = extras.known;
  const s = job.settings;
  const report = job.report;
  report.target(app, dashboardUrl(s.region, app, initial.id));
  report.deployment({ app, id: initial.id, status: initial.status, startedAt: job.now() });
  // What it builds, and what this run expected it to build (the pull request's head, or the pushed commit).
  const runCommit = pr ? pr.sha : report.view.branch !== undefined ? expectedCommit(job.ctx, report.view.branch) : undefined;
  report.deploymentCommits(initial.git_ref, runCommit);

  // The review app's URL (and the app's deployments stream) is read while the deployment runs.
  const needsRead = !known && !(report.view.appUrl && app === s.app && !(s.wait && s.logs));
  const appRead: Promise<App | undefined> = needsRead
    ? job.client.getApp(app).then((a) => a, (err: unknown) => {
      job.log.debug(`app not read: ${String(err)}`);
      return undefined;
    })
    : Promise.resolve(known);
  const urlRead = report.view.appUrl && app === s.app
    ? Promise.resolve()
    : appRead.then((a) => {
      if (a) report.appUrl(a.url || a.base_url);
    });

  // The platform is told (PR comment, deployment status) while the deployment is followed, not before.
  const hook = job.hooks.deploymentStarted;
  const dashboard = dashboardUrl(s.region, app, initial.id);
  const announced = hook
    ? urlRead.then(() => {
      const event: DeploymentEvent = { app, parentApp: s.app, deploymentId: initial.id, status: initial.status, dashboardUrl: dashboard };
      if (pr) event.pullRequest = pr;
      if (app !== s.app) event.reviewApp = app;
      if (report.view.appUrl) event.appUrl = report.view.appUrl;
      return hook(event);
    }).catch((err: unknown) => job.log.debug(`deployment hook failed: ${String(err)}`))
    : urlRead;

  if (!s.wait) {
    await announced;
    report.notFollowed();
    job.log.info(`Deployment ${initial.id} of ${app} started, ${initial.status} when last seen; not followed (${job.terms.setting('wait', 'false')}), so whether it succeeds is not known here: see ${dashboard}`);
    logCommit(job);
    report.finish(true, 'success', `deployment ${initial.id} of ${app} started (${initial.status}), not followed`);
    return;
  }

  const result = await job.log.group(`Follow deployment ${initial.id} of ${app}`, async () => {
    try {
      return await followOnly(job, app, initial, appRead);
    } finally {
      await announced;
    }
  });
  if (result.outcome === 'success' || result.outcome === 'failed') await extras.afterFollow?.(result.deployment);
  await conclude(job, app, result.outcome, result.deployment, result.live);
}

async function followOnly(job: Job, app: string, initial: Deployment, appRead: Promise<App | undefined>): Promise<FollowResult & { live?: LiveSummary }> {
  const start = job.now();
  let shown: string | undefined;
  const show = (status: string, elapsed: number): void => {
    if (status === shown) return;
    shown = status;
    job.report.deploymentStatus(status);
    job.log.info(`${status} (${formatDuration(elapsed)})`);
  };
  const timings = job.followTimings;
  const live = job.settings.logs ? new LiveOutput(job, app, initial.id, (status) => show(status, job.now() - start), timings) : undefined;
  live?.start(appRead);
  let r: FollowResult | undefined;
  try {
    r = await follow({
      initial,
      getDeployment: () => job.client.getDeployment(app, initial.id),
      intervalMs: job.settings.pollIntervalMs,
      deadline: job.deadline,
      now: job.now,
      sleep: job.sleep,
      ...(job.signal ? { signal: job.signal } : {}),
      ...(live ? { live } : {}),
      ...(timings?.safetyReadMs !== undefined ? { safetyReadMs: timings.safetyReadMs } : {}),
      onStatus: show,
      onRetry: (err) => job.log.info(`status not read (${describeFailure(err)}): trying again`),
    });
  } finally {
    // The stream stops with the following, whatever ends it.
    if (live && r === undefined) await live.finish(initial).catch(() => undefined);
  }
  // Lines the stream missed are printed once the deployment is over.
  const summary = live ? await live.finish(r.deployment) : undefined;
  job.report.deploymentStatus(r.deployment.status, r.outcome === 'success' || r.outcome === 'failed' ? r.endedAt : undefined);
  job.report.deploymentCommits(r.deployment.git_ref);
  logCommit(job);
  return summary ? { ...r, live: summary } : r;
}

async function conclude(job: Job, app: string, outcome: FollowOutcome, deployment: Deployment, live?: LiveSummary): Promise<void> {
  const where = job.report.view.dashboardUrl ?? dashboardUrl(job.settings.region, app);
  const { id, status } = deployment;
  switch (outcome) {
    case 'success':
      job.log.info(`Deployed ${app}${job.report.view.appUrl ? `: ${job.report.view.appUrl}` : ''}`);
      job.report.finish(true, 'success', `deployment ${id} of ${app} succeeded`);
      return;
    case 'failed': {
      const known = (KNOWN_TERMINAL_STATUSES as readonly string[]).includes(status);
      if (live && live.printed > 0) job.report.outputTail(boundedTail(live.tail));
      else await showOutput(job, app, deployment);
      job.report.finish(false, 'failed', `Deployment ${id} of ${app} ended with status ${status}${known ? '' : ' (a status this step does not know: counted as a failure)'}: see the build output above and ${where}`);
      return;
    }
    case 'timed-out':
      job.report.finish(false, 'timed-out', `Deployment ${id} of ${app} was still ${status} after ${formatDuration(job.settings.timeoutMs)} (${job.terms.name('timeout-minutes')}): it goes on on Scalingo, see ${where}; raise ${job.input('timeout-minutes')} if it needs longer.`);
      return;
    case 'cancelled':
      job.report.finish(false, 'cancelled', `Cancelled while following: deployment ${id} of ${app} is still ${status} on Scalingo, see ${where}.`);
      return;
    default:
      assertNever(outcome);
  }
}

/** The commit the deployment builds, and one line when it is not the run's. */
function logCommit(job: Job): void {
  const d = job.report.view.deployment;
  if (!d?.gitRef) return;
  job.log.info(`Commit built: ${d.gitRef}`);
  const note = commitMismatch(d);
  if (note) job.log.info(note);
}

/** The end of a failed deployment's build output, in the log and the report (when it was not shown live). */
async function showOutput(job: Job, app: string, deployment: Deployment): Promise<void> {
  try {
    const output = await job.client.deploymentOutput(app, deployment);
    if (!output) return;
    const tail = boundedTail(output.replace(/\s+$/, '').split('\n'));
    job.report.outputTail(tail);
    const lines = tail.split('\n');
    await job.log.group(`Build output of ${deployment.id} (last ${Math.min(lines.length, TAIL_LINES)} lines)`, async () => {
      for (const line of lines) job.log.info(harmless(line));
    });
  } catch (err) {
    job.log.debug(`build output not read: ${String(err)}`);
  }
}
