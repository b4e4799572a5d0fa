/**
 * Following a deployment to its end, within the deadline, and the verdict on it. The one home of everything that
 * watches a running deployment (the build output included).
 */
import { dashboardUrl } from '../../scalingo/dashboard.js';
import { describeFailure, isTransient } from '../../scalingo/errors.js';
import { isFinished, KNOWN_TERMINAL_STATUSES, type Deployment } from '../../scalingo/types.js';
import type { PullRequestInfo } from '../event.js';
import { assertNever } from '../errors.js';
import type { DeploymentEvent, Job } from '../job.js';
import { formatDuration } from '../log.js';

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
}

/** Lines of build output shown when a deployment fails. */
const OUTPUT_TAIL_LINES = 40;

/**
 * Polls at a steady interval, measured from the start of one poll to the next so that slow answers do not stretch
 * it. Transient failures (network, 5xx, 429, garbled bodies) are retried until the deadline; anything else throws.
 */
export async function follow(opts: FollowOptions): Promise<FollowResult> {
  const start = opts.now();
  let deployment = opts.initial;
  let polls = 0;
  const end = (outcome: FollowOutcome): FollowResult => ({ outcome, deployment, polls, endedAt: opts.now() });
  opts.onStatus(deployment.status, 0);
  let lastPoll = start;
  while (!isFinished(deployment.status)) {
    if (opts.signal?.aborted) return end('cancelled');
    const remaining = opts.deadline - opts.now();
    if (remaining <= 0) return end('timed-out');
    await opts.sleep(Math.max(0, Math.min(lastPoll + opts.intervalMs - opts.now(), remaining)), opts.signal);
    if (opts.signal?.aborted) return end('cancelled');
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

/** Tells the platform the deployment started, follows it (unless `wait: false`) and gives the run its verdict. */
export async function followAndReport(job: Job, app: string, initial: Deployment, pr: PullRequestInfo | undefined): Promise<void> {
  const s = job.settings;
  const report = job.report;
  report.target(app, dashboardUrl(s.region, app, initial.id));
  report.deployment({ app, id: initial.id, status: initial.status, startedAt: job.now() });

  // The review app's URL is read while the deployment runs.
  const urlRead = report.view.appUrl && app === s.app
    ? Promise.resolve()
    : job.client.getApp(app).then((a) => report.appUrl(a.url || a.base_url), (err: unknown) => job.log.debug(`app URL not read: ${String(err)}`));

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
    job.log.info(`Not following (${job.terms.setting('wait', 'false')}): deployment ${initial.id} is ${initial.status}; see ${dashboard}`);
    report.finish(true, 'success', `deployment ${initial.id} triggered (not followed)`);
    return;
  }

  const result = await job.log.group(`Follow deployment ${initial.id} of ${app}`, async () => {
    try {
      return await followOnly(job, app, initial);
    } finally {
      await announced;
    }
  });
  await conclude(job, app, result.outcome, result.deployment);
}

async function followOnly(job: Job, app: string, initial: Deployment): Promise<FollowResult> {
  const r = await follow({
    initial,
    getDeployment: () => job.client.getDeployment(app, initial.id),
    intervalMs: job.settings.pollIntervalMs,
    deadline: job.deadline,
    now: job.now,
    sleep: job.sleep,
    ...(job.signal ? { signal: job.signal } : {}),
    onStatus: (status, elapsed) => {
      job.report.deploymentStatus(status);
      job.log.info(`${status} (${formatDuration(elapsed)})`);
    },
    onRetry: (err) => job.log.info(`status not read (${describeFailure(err)}): trying again`),
  });
  job.report.deploymentStatus(r.deployment.status, r.outcome === 'success' || r.outcome === 'failed' ? r.endedAt : undefined);
  return r;
}

async function conclude(job: Job, app: string, outcome: FollowOutcome, deployment: Deployment): Promise<void> {
  const where = job.report.view.dashboardUrl ?? dashboardUrl(job.settings.region, app);
  const { id, status } = deployment;
  switch (outcome) {
    case 'success':
      job.log.info(`Deployed ${app}${job.report.view.appUrl ? `: ${job.report.view.appUrl}` : ''}`);
      job.report.finish(true, 'success', `deployment ${id} of ${app} succeeded`);
      return;
    case 'failed': {
      const known = (KNOWN_TERMINAL_STATUSES as readonly string[]).includes(status);
      await showOutput(job, app, deployment);
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

/** The end of a failed deployment's build output, in the log and the report. */
async function showOutput(job: Job, app: string, deployment: Deployment): Promise<void> {
  try {
    const output = await job.client.deploymentOutput(app, deployment);
    if (!output) return;
    const lines = output.replace(/\s+$/, '').split('\n');
    const tail = lines.slice(-OUTPUT_TAIL_LINES).join('\n');
    job.report.outputTail(tail);
    await job.log.group(`Build output of ${deployment.id} (last ${Math.min(lines.length, OUTPUT_TAIL_LINES)} lines)`, async () => {
      for (const line of tail.split('\n')) job.log.info(line);
    });
  } catch (err) {
    job.log.debug(`build output not read: ${String(err)}`);
  }
}
