/**
 * The CI step: the core's only entry, for one app or many. It builds the step's session, checks what needs no
 * request, finds the apps when none is given, and runs every app (app-run.ts) as Scalingo allows: each started as
 * soon as the request budget has room for its first requests, at most SCALINGO_RUNNING_DEPLOYMENTS of them
 * deploying at once. One app failing stops no other; the step fails when any does.
 */
import { BudgetDeadlineError } from '../scalingo/errors.js';
import type { Reservation } from '../scalingo/limiter.js';
import { runApp } from './app-run.js';
import { describeEvent, type CiContext } from './event.js';
import { explain } from './explain.js';
import type { Logger } from './log.js';
import { missingPullRequest, tokenDecision } from './plan.js';
import {
  ReportBuilder,
  stepVerdict,
  type AppReport,
  type DiscoveryReport,
  type Outcome,
  type StepReport,
} from './report.js';
import { Session, type StepDeps } from './session.js';
import type { Settings } from './settings.js';
import { discover } from './phases/discover.js';

/**
 * The requests set aside for an app when it starts, in a step of several: what a deploy sends up to its trigger
 * (the app, its newest deployment, manual_deploy), so that an app once started reaches its trigger at once.
 */
export const REQUESTS_RESERVED_PER_APP = 3;

export async function runStep(settings: Settings, ctx: CiContext, deps: StepDeps): Promise<StepReport> {
  const session = new Session(settings, ctx, deps);
  const base = {
    event: describeEvent(ctx),
    region: settings.region,
    dryRun: settings.dryRun,
    warnings: [] as string[],
  };
  const seal = (step: Omit<StepReport, 'requests' | 'durationMs'>): StepReport => ({
    ...step,
    message: session.secrets.redact(step.message),
    requests: session.requests() + step.runs.reduce((n, r) => n + r.requests, 0),
    durationMs: session.elapsed(),
  });

  // Checks that need no request: a run that stops here says why once, for every app.
  const stopped = preflight(session);
  if (stopped) {
    const runs = settings.apps.length === 1 ? [stoppedApp(session, settings.apps[0] ?? '', stopped)] : [];
    return seal({ ...base, ok: stopped.ok, outcome: stopped.outcome, message: stopped.message, runs });
  }

  let apps = settings.apps;
  let discovery: DiscoveryReport | undefined;
  if (apps.length === 0) {
    try {
      const found = await discover(session);
      discovery = found.discovery;
      if (found.stop) return seal({ ...base, ...found.stop, runs: [], discovery });
      apps = found.apps;
    } catch (err) {
      session.log.debug(`error detail: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      return seal({
        ...base,
        ok: false,
        outcome: 'error',
        message: `Finding the apps linked to ${settings.source ?? 'the repository'} failed: ${explain(err, { ...settings, app: '' }, ctx.terms)}`,
        runs: [],
      });
    }
  }

  const several = apps.length > 1 || discovery !== undefined;
  if (several)
    session.log.info(
      `Scalingo apps ${apps.join(', ')} (${settings.region}), ${base.event}${settings.dryRun ? ', dry run: nothing will be changed' : ''}: each started as the request budget allows`,
    );
  const runs = several ? await runSeveral(session, apps) : [await runApp(session, apps[0] ?? '')];
  if (several) {
    session.log.info(`Scalingo: ${runs.length} app(s)`);
    for (const r of runs)
      session.log.info(
        `  ${r.ok ? 'ok    ' : 'FAILED'} ${r.parentApp}: ${r.outcome}${r.message ? `, ${r.message}` : ''}`,
      );
  }
  return seal({ ...base, ...stepVerdict(runs, discovery !== undefined), runs, ...(discovery ? { discovery } : {}) });
}

interface Stop {
  ok: boolean;
  outcome: Outcome;
  message: string;
  /** Said as a warning too. */
  warning?: { message: string; title: string };
}

/** What stops the step before any request: no token (a fork's pull request is skipped), no pull request to work on. */
function preflight(session: Session): Stop | undefined {
  const { settings: s, ctx, terms: t } = session;
  const fail = (message: string): Stop => ({ ok: false, outcome: 'error', message });
  const noPullRequest = missingPullRequest(s, ctx);
  if (noPullRequest) return fail(noPullRequest);
  const decision = tokenDecision(s, ctx.event);
  switch (decision) {
    case 'use':
      return undefined;
    case 'skip': {
      const pr = ctx.event.kind === 'pull-request' ? t.pr(ctx.event.pr.number) : t.pr();
      const message = `No Scalingo API token: ${pr} comes from a fork, and ${t.platformName} gives no secrets to pipelines of forks. Skipped (set \`${t.setting('fail-without-token', 'true')}\` to fail instead).`;
      session.log.warning(message, 'Scalingo deploy skipped');
      return { ok: true, outcome: 'skipped', message, warning: { message, title: 'Scalingo deploy skipped' } };
    }
    case 'missing':
      return fail(`No Scalingo API token: set ${t.secretsHint}`);
    case 'malformed':
      return fail(
        `${t.subject('api-token')} is malformed (${s.apiToken.length} characters, with spaces or control characters): paste the token alone, e.g. tk-us-...`,
      );
  }
}

/** The report of a step's one app that stopped before any request. */
function stoppedApp(session: Session, app: string, stop: Stop): AppReport {
  const report = new ReportBuilder(
    app,
    session.settings.region,
    describeEvent(session.ctx),
    session.settings.source,
    session.ctx.sha,
  );
  if (stop.warning) report.warning(stop.warning.message);
  report.finish(stop.ok, stop.outcome, stop.message);
  return report.seal(session.secrets, 0, session.elapsed());
}

/**
 * Several apps: each started as soon as the step's request budget has room for its first requests (they are set
 * aside for it), in the order given; an app the budget cannot start before the deadline is not started, and says so.
 * Each app's lines are marked with its name.
 */
async function runSeveral(session: Session, apps: readonly string[]): Promise<AppReport[]> {
  const runs: Promise<AppReport>[] = [];
  for (const app of apps) {
    const log = prefixed(session.log, app);
    let reservation: Reservation;
    try {
      await session.limiter.whenFree(REQUESTS_RESERVED_PER_APP, session.signal);
      reservation = session.limiter.reserve(REQUESTS_RESERVED_PER_APP);
    } catch (err) {
      if (!(err instanceof BudgetDeadlineError)) throw err;
      runs.push(Promise.resolve(notStarted(session, app, log, err)));
      continue;
    }
    runs.push(runApp(session, app, log, reservation));
  }
  return Promise.all(runs);
}

/** An app the request budget could not start before the deadline. */
function notStarted(session: Session, app: string, log: Logger, err: BudgetDeadlineError): AppReport {
  const message = explain(err, { ...session.settings, app }, session.terms);
  log.info(message);
  return stoppedApp(session, app, { ok: false, outcome: 'timed-out', message });
}

/**
 * An app's log inside a step of several: every line starts with `[app]`, and its sections are headed lines rather
 * than collapsible groups, which cannot interleave.
 */
export function prefixed(log: Logger, app: string): Logger {
  const p = `[${app}]`;
  return {
    info: (line) => log.info(`${p} ${line}`),
    warning: (line, title) => log.warning(`${p} ${line}`, title ? `${title} (${app})` : app),
    debug: (line) => log.debug(`${p} ${line}`),
    group: (title, fn) => {
      log.info(`${p} ▸ ${title}`);
      return fn();
    },
  };
}
