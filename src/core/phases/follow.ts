/**
 * Following a deployment to its end, within the deadline, and the verdict on it. The one home of everything that
 * watches a running deployment (the build output included).
 */
import { dashboardUrl } from '../../scalingo/dashboard.js';
import { BudgetDeadlineError, describeFailure, isTransient, UnexpectedResponseError } from '../../scalingo/errors.js';
import { isFinished, KNOWN_TERMINAL_STATUSES, type App, type Deployment } from '../../scalingo/types.js';
import type { AppRun } from '../app-context.js';
import type { PullRequestInfo } from '../event.js';
import { assertNever } from '../errors.js';
import { formatDuration } from '../log.js';
import { commitMismatch } from '../plan.js';
import type { Outcome } from '../report.js';
import type { DeploymentEvent } from '../session.js';
import {
  boundedTail,
  harmless,
  LiveOutput,
  SAFETY_READ_MS,
  TAIL_LINES,
  type LiveSource,
  type LiveSummary,
} from './live-output.js';

export type FollowOutcome = 'success' | 'failed' | 'timed-out' | 'cancelled';

export interface FollowResult {
  outcome: FollowOutcome;
  /** The last state seen. */
  deployment: Deployment;
  /** Status requests made. */
  polls: number;
  /** When the final status was seen (epoch ms). */
  endedAt: number;
  /** Every status request failed since the last one that was read (or since the start): the last failure. */
  unreadable?: unknown;
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
  /** The least time between two status requests the request budget asks for now (see limiter.ts `paceMs`). */
  paceMs?: () => number;
  /**
   * Take the final status the stream gave as the deployment's, without a status request to confirm it (when the
   * rest of what the report needs, the commit built, is known already).
   */
  trustStreamEnd?: boolean;
}

/** First delay between the status requests that confirm an end the stream saw, when the API does not show it yet. */
const CONFIRM_FIRST_MS = 250;

/**
 * When to send the next status request, in ms from now. Without a live stream: every `intervalMs`. While the stream is
 * live: every `safetyReadMs`; at once when it comes back after an interruption. Once the stream saw the end: at once, then (if the API does not show it yet) after
 * 0.25 s, 0.5 s, 1 s... never sparser than `intervalMs`. Intervals run from the start of the last request.
 */
export function nextReadIn(p: {
  now: number;
  lastRead: number;
  intervalMs: number;
  safetyReadMs: number;
  healthy: boolean;
  endSeen: boolean;
  confirmations: number;
  catchUp?: boolean;
}): number {
  let every: number;
  if (p.catchUp && !p.endSeen) every = 0;
  else if (p.endSeen)
    every = p.confirmations === 0 ? 0 : Math.min(CONFIRM_FIRST_MS * 2 ** (p.confirmations - 1), p.intervalMs);
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
  const end = (outcome: FollowOutcome): FollowResult => {
    // Stopped before the end: the last status seen, the live stream's when it gave one (it is ahead of the reads).
    const seen = opts.live?.lastStatus();
    const last =
      seen !== undefined && !isFinished(seen) && !isFinished(deployment.status)
        ? { ...deployment, status: seen }
        : deployment;
    const result: FollowResult = { outcome, deployment: last, polls, endedAt: opts.now() };
    if (failing !== undefined && seen === undefined) result.unreadable = failing;
    return result;
  };
  /** The failure of the last status request, while no request since it was read. */
  let failing: unknown;
  opts.onStatus(deployment.status, 0);
  let lastPoll = start;
  while (!isFinished(deployment.status)) {
    if (opts.signal?.aborted) return end('cancelled');
    const live = opts.live;
    // The stream's own final status, when nothing is missing to report it (the commit built is known): no request.
    const streamEnd = opts.trustStreamEnd ? live?.finalStatus() : undefined;
    if (streamEnd !== undefined && isFinished(streamEnd)) {
      if (streamEnd !== deployment.status) opts.onStatus(streamEnd, opts.now() - start);
      deployment = { ...deployment, status: streamEnd };
      break;
    }
    const remaining = opts.deadline - opts.now();
    if (remaining <= 0) return end('timed-out');
    const wake = live?.changes();
    const endSeen = live?.sawEnd() ?? false;
    const now = opts.now();
    const wait = Math.max(
      nextReadIn({
        now,
        lastRead: lastPoll,
        intervalMs: opts.intervalMs,
        safetyReadMs: opts.safetyReadMs ?? SAFETY_READ_MS,
        healthy: live?.healthy() ?? false,
        endSeen,
        confirmations,
        catchUp: live?.catchUp() ?? false,
      }),
      lastPoll + (opts.paceMs?.() ?? 0) - now,
    );
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
      // The step's request budget has no room for it before the deadline: the deadline is what stops the following.
      if (err instanceof BudgetDeadlineError) return end('timed-out');
      if (!isTransient(err)) throw err;
      failing = err;
      opts.onRetry(err);
      continue;
    }
    failing = undefined;
    if (next.status !== deployment.status) opts.onStatus(next.status, opts.now() - start);
    deployment = next;
  }
  return end(deployment.status === 'success' ? 'success' : 'failed');
}

/** What the follow phase is given: the deployment started, and what is known of it. */
export interface FollowTarget {
  /** The app deployed: the app, or its review app. */
  app: string;
  initial: Deployment;
  pr?: PullRequestInfo;
  /** The app as already read by the step, if it was (its URL and deployments stream are not read again). */
  known?: App;
  /** The app's URL, when known already. */
  appUrl?: string | undefined;
  /** The commit the deployment should build (the pushed one, the pull request's head), when known. */
  runCommit?: string | undefined;
  /** Called once the deployment was followed to its end (not when the run stopped before). */
  afterFollow?: (deployment: Deployment) => Promise<void>;
  /** Each status seen while following, and the app's URL once read: recorded as they come. */
  onStatus: (status: string) => void;
  onAppUrl: (url: string) => void;
}

/** What the follow phase decided: the verdict on the deployment, its last state, the end of a failed build's output. */
export interface FollowVerdict {
  ok: boolean;
  outcome: Outcome;
  message: string;
  deployment: Deployment;
  /** When its final status was seen. */
  endedAt?: number;
  tail?: string;
  /** False when it was started and left running (`wait: false`). */
  followed: boolean;
}

/** Tells the platform the deployment started, follows it (unless `wait: false`) and gives its verdict. */
export async function followDeployment(job: AppRun, t: FollowTarget): Promise<FollowVerdict> {
  const { app, initial, pr, known } = t;
  const s = job.settings;
  let appUrl = t.appUrl;
  const parentApp = job.app;

  // The review app's URL (and the app's deployments stream) is read while the deployment runs.
  const needsRead = !known && !(appUrl && app === parentApp && !(s.wait && s.logs));
  const appRead: Promise<App | undefined> = needsRead
    ? job.client.getApp(app).then(
        (a) => a,
        (err: unknown) => {
          job.log.debug(`app not read: ${String(err)}`);
          return undefined;
        },
      )
    : Promise.resolve(known);
  const urlRead =
    appUrl && app === parentApp
      ? Promise.resolve()
      : appRead.then((a) => {
          const url = a?.url || a?.base_url;
          if (url) {
            appUrl = url;
            t.onAppUrl(url);
          }
        });

  // The platform is told (PR comment, deployment status) while the deployment is followed, not before.
  const hook = job.hooks.deploymentStarted;
  const dashboard = dashboardUrl(s.region, app, initial.id);
  const announced = hook
    ? urlRead
        .then(() => {
          const event: DeploymentEvent = {
            app,
            parentApp,
            deploymentId: initial.id,
            status: initial.status,
            dashboardUrl: dashboard,
          };
          if (pr) event.pullRequest = pr;
          if (app !== parentApp) event.reviewApp = app;
          if (appUrl) event.appUrl = appUrl;
          return hook(event);
        })
        .catch((err: unknown) => job.log.debug(`deployment hook failed: ${String(err)}`))
    : urlRead;

  if (!s.wait) {
    await announced;
    job.log.info(
      `Deployment ${initial.id} of ${app} started, ${initial.status} when last seen; not followed (${job.terms.setting('wait', 'false')}), so whether it succeeds is not known here: see ${dashboard}`,
    );
    logCommit(job, initial.git_ref, t.runCommit);
    return {
      ok: true,
      outcome: 'success',
      message: `deployment ${initial.id} of ${app} started (${initial.status}), not followed`,
      deployment: initial,
      followed: false,
    };
  }

  const result = await job.log.group(`Follow deployment ${initial.id} of ${app}`, async () => {
    try {
      return await followOnly(job, app, initial, appRead, t);
    } finally {
      await announced;
    }
  });
  if (result.outcome === 'success' || result.outcome === 'failed') await t.afterFollow?.(result.deployment);
  const ended = result.outcome === 'success' || result.outcome === 'failed' ? { endedAt: result.endedAt } : {};
  return {
    ...(await conclude(job, app, dashboard, appUrl, result)),
    deployment: result.deployment,
    followed: true,
    ...ended,
  };
}

async function followOnly(
  job: AppRun,
  app: string,
  initial: Deployment,
  appRead: Promise<App | undefined>,
  t: FollowTarget,
): Promise<FollowResult & { live?: LiveSummary }> {
  const start = job.now();
  let shown: string | undefined;
  const show = (status: string, elapsed: number): void => {
    if (status === shown) return;
    shown = status;
    t.onStatus(status);
    job.log.info(`${status} (${formatDuration(elapsed)})`);
  };
  const timings = job.followTimings;
  const live = job.settings.logs
    ? new LiveOutput(job, app, initial.id, (status) => show(status, job.now() - start), timings)
    : undefined;
  live?.start(appRead);
  let r: FollowResult | undefined;
  try {
    r = await follow({
      initial,
      // A status read can wait for a trigger; polls slow down as the step's request budget fills, never emptying it.
      getDeployment: () => job.client.getDeployment(app, initial.id, 'later'),
      intervalMs: job.settings.pollIntervalMs,
      paceMs: () => job.session.limiter.paceMs(),
      deadline: job.deadline,
      now: job.now,
      sleep: job.sleep,
      ...(job.signal ? { signal: job.signal } : {}),
      ...(live ? { live } : {}),
      ...(timings?.safetyReadMs !== undefined ? { safetyReadMs: timings.safetyReadMs } : {}),
      trustStreamEnd: Boolean(initial.git_ref),
      onStatus: show,
      onRetry: (err) => job.log.info(`status not read (${describeFailure(err)}): trying again`),
    });
  } finally {
    // The stream stops with the following, whatever ends it.
    if (live && r === undefined) await live.finish(initial).catch(() => undefined);
  }
  // Lines the stream missed are printed once the deployment is over.
  const summary = live ? await live.finish(r.deployment) : undefined;
  logCommit(job, r.deployment.git_ref ?? initial.git_ref, t.runCommit);
  return summary ? { ...r, live: summary } : r;
}

async function conclude(
  job: AppRun,
  app: string,
  where: string,
  appUrl: string | undefined,
  result: FollowResult & { live?: LiveSummary },
): Promise<{ ok: boolean; outcome: Outcome; message: string; tail?: string }> {
  const { outcome, deployment, live } = result;
  const { id, status } = deployment;
  switch (outcome) {
    case 'success':
      job.log.info(`Deployed ${app}${appUrl ? `: ${appUrl}` : ''}`);
      return { ok: true, outcome: 'success', message: `deployment ${id} of ${app} succeeded` };
    case 'failed': {
      const known = (KNOWN_TERMINAL_STATUSES as readonly string[]).includes(status);
      const tail = live && live.printed > 0 ? boundedTail(live.tail) : await showOutput(job, app, deployment);
      return {
        ok: false,
        outcome: 'failed',
        message: `Deployment ${id} of ${app} ended with status ${status}${known ? '' : ' (a status this step does not know: counted as a failure)'}: see the build output above and ${where}`,
        ...(tail !== undefined ? { tail } : {}),
      };
    }
    case 'timed-out':
      // Not a slow deployment: its status could not be read at all lately. What Scalingo answered is said.
      if (result.unreadable !== undefined) {
        return {
          ok: false,
          outcome: 'timed-out',
          message: `The status of deployment ${id} of ${app} could not be read before the deadline (${job.deadlineNote()}): ${unreadableAnswer(result.unreadable)}; it was ${status} when last read. It goes on on Scalingo, see ${where}.`,
        };
      }
      return {
        ok: false,
        outcome: 'timed-out',
        message: `Deployment ${id} of ${app} was still ${status} after ${formatDuration(job.settings.timeoutMs)} (${job.terms.name('timeout-minutes')}): it goes on on Scalingo, see ${where}; raise ${job.input('timeout-minutes')} if it needs longer.`,
      };
    case 'cancelled':
      return {
        ok: false,
        outcome: 'cancelled',
        message: `Cancelled while following: deployment ${id} of ${app} is still ${status} on Scalingo, see ${where}.`,
      };
    default:
      return assertNever(outcome);
  }
}

/** What Scalingo answered to a status request that could not be read: its start, quoted, or what went wrong. */
function unreadableAnswer(err: unknown): string {
  if (err instanceof UnexpectedResponseError)
    return err.message.replace(/^Scalingo API answered /, 'Scalingo answered ');
  return `the last request failed (${describeFailure(err)})`;
}

/** The commit the deployment builds, and one line when it is not the run's. */
function logCommit(job: AppRun, gitRef: string | undefined, runCommit: string | undefined): void {
  if (!gitRef) return;
  job.log.info(`Commit built: ${gitRef}`);
  const note = commitMismatch({ gitRef, runCommit });
  if (note) job.log.info(note);
}

/** The end of a failed deployment's build output, in the log (when it was not shown live); for the report. */
async function showOutput(job: AppRun, app: string, deployment: Deployment): Promise<string | undefined> {
  try {
    const output = await job.client.deploymentOutput(app, deployment);
    if (!output) return undefined;
    const tail = boundedTail(output.replace(/\s+$/, '').split('\n'));
    const lines = tail.split('\n');
    await job.log.group(
      `Build output of ${deployment.id} (last ${Math.min(lines.length, TAIL_LINES)} lines)`,
      async () => {
        for (const line of lines) job.log.info(harmless(line));
      },
    );
    return tail;
  } catch (err) {
    job.log.debug(`build output not read: ${String(err)}`);
    return undefined;
  }
}
