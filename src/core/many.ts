/**
 * A step for several apps: the apps given in `app`, or, when it is empty, those linked to this repository that the
 * event concerns (discovery). Each app gets the single-app run of run.ts, a few at a time, all of them sharing one
 * token exchange, one request budget (Scalingo's 60 requests a minute) and one deadline. One app failing stops no
 * other; the step fails when any does.
 */
import type { ScalingoClient } from '../scalingo/client.js';
import type { App } from '../scalingo/types.js';
import { sleep as realSleep } from '../scalingo/http.js';
import { following, linkedApps, listsApp, noneLinkedMessage, selectApps, suspectedParent, withoutReviewApps, type LinkedApp } from './discovery.js';
import { notFound } from '../scalingo/errors.js';
import { describeEvent, type CiContext } from './event.js';
import { explain } from './explain.js';
import { stepClient, type RunDeps } from './job.js';
import { redacting, Secrets, type Logger } from './log.js';
import { tokenDecision } from './plan.js';
import { reportOutputs, type Outcome, type RunReport } from './report.js';
import { run } from './run.js';
import type { Settings } from './settings.js';

/** Apps run at the same time, at most. */
export const CONCURRENT_APPS = 4;

export interface DiscoveryReport {
  /** The repository whose links were looked for. */
  source: string;
  /** Pages of links read, and links on them (every repository's). */
  pages: number;
  links: number;
  /** The apps linked to the repository, with the branch each follows. */
  linked: { app: string; branch?: string }[];
  /** The branch the apps were chosen by, when they were. */
  branch?: string;
}

/** What a step did, for every app: the report every output, summary, dotenv file and comment of the step is made from. */
export interface StepReport {
  ok: boolean;
  outcome: Outcome;
  /** One line: why the step failed or deployed nothing, or what it did. */
  message: string;
  event: string;
  region: string;
  dryRun: boolean;
  /** One report per app, in the order the apps were given or found. */
  runs: RunReport[];
  /** Set when the apps were found through the list of links. */
  discovery?: DiscoveryReport;
  warnings: string[];
  /** API requests of the whole step. */
  requests: number;
  durationMs: number;
}

/** One entry of the `apps` output. */
export interface AppOutput {
  app: string;
  'review-app': string;
  'app-url': string;
  'deployment-id': string;
  'deployment-status': string;
  link: string;
  'git-ref': string;
  'timed-out': boolean;
}

export function appOutput(r: RunReport): AppOutput {
  const o: Record<string, string> = reportOutputs(r);
  return {
    app: r.settingsApp,
    'review-app': o['review-app'] ?? '',
    'app-url': o['app-url'] ?? '',
    'deployment-id': o['deployment-id'] ?? '',
    'deployment-status': o['deployment-status'] ?? '',
    link: o.link ?? '',
    'git-ref': o['git-ref'] ?? '',
    'timed-out': r.timedOut,
  };
}

/**
 * The step's outputs: with exactly one app, that app's outputs as a single-app step sets them; with several or none,
 * those are empty (`timed-out` says whether any app timed out). `apps` lists every app in any case.
 */
export function stepOutputs(step: StepReport): Record<string, string> {
  const only = step.runs.length === 1 ? step.runs[0] : undefined;
  const single: Record<string, string> = only
    ? reportOutputs(only)
    : Object.fromEntries(Object.keys(reportOutputs(emptyReport(step))).map((k) => [k, '']));
  if (!only) single['timed-out'] = String(step.runs.some((r) => r.timedOut));
  return { ...single, apps: JSON.stringify(step.runs.map(appOutput)) };
}

function emptyReport(step: StepReport): RunReport {
  return { ok: step.ok, outcome: step.outcome, message: '', settingsApp: '', region: step.region, event: step.event, timedOut: false, notes: [], warnings: [], requests: 0, durationMs: 0 };
}

/** A step of one run: what a single app gives. */
export function stepOfRun(r: RunReport, extra: Partial<StepReport> = {}): StepReport {
  return single(r, extra);
}

function single(r: RunReport, extra: Partial<StepReport> = {}): StepReport {
  return {
    ok: r.ok, outcome: r.outcome, message: r.message, event: r.event, region: r.region, dryRun: false,
    runs: r.settingsApp ? [r] : [], warnings: [], requests: r.requests, durationMs: r.durationMs, ...extra,
  };
}

/** The step: one app as it always was, several apps each in its run, or the apps found through the links. */
export async function runAll(settings: Settings, ctx: CiContext, deps: RunDeps): Promise<StepReport> {
  if (settings.apps.length === 1) return single(await run(settings, ctx, deps), { dryRun: settings.dryRun });
  // A run that stops before any request (no token, a fork's pull request) says why once, for every app.
  if (tokenDecision(settings, ctx.event) !== 'use') {
    const r = await run({ ...settings, app: settings.apps[0] ?? '' }, ctx, deps);
    return single({ ...r, settingsApp: '' }, { dryRun: settings.dryRun });
  }
  return new Step(settings, ctx, deps).execute();
}

class Step {
  private readonly now: () => number;
  private readonly start: number;
  private readonly secrets = new Secrets();
  /** Apps read during discovery, by name. */
  private readonly known = new Map<string, App>();
  private readonly log: Logger;
  private readonly client: ScalingoClient;
  private readonly deadline: number;
  private readonly onSecret: (secret: string) => void;

  constructor(private readonly settings: Settings, private readonly ctx: CiContext, private readonly deps: RunDeps) {
    this.now = deps.now ?? Date.now;
    this.start = this.now();
    this.deadline = this.start + settings.timeoutMs;
    this.onSecret = (s: string): void => {
      this.secrets.add(s);
      deps.onSecret?.(s);
    };
    this.onSecret(settings.apiToken);
    this.log = redacting(deps.log, this.secrets);
    const sleep = deps.sleep ?? realSleep;
    this.client = stepClient(settings, deps, { deadline: this.deadline, now: this.now, sleep, debug: (m) => this.log.debug(m), onSecret: this.onSecret });
  }

  async execute(): Promise<StepReport> {
    const s = this.settings;
    const base = { event: describeEvent(this.ctx), region: s.region, dryRun: s.dryRun, warnings: [] as string[] };
    let apps: string[] = s.apps;
    let discovery: DiscoveryReport | undefined;
    if (apps.length === 0) {
      let found: Found;
      try {
        found = await this.discover();
      } catch (err) {
        this.log.debug(`error detail: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        return this.seal({ ...base, ok: false, outcome: 'error', message: `Finding the apps linked to ${s.source ?? 'the repository'} failed: ${explain(err, s, this.ctx.terms)}`, runs: [] });
      }
      discovery = found.discovery;
      if (found.stop) return this.seal({ ...base, ...found.stop, runs: [], discovery });
      apps = found.apps;
    }
    this.log.info(`Scalingo apps ${apps.join(', ')} (${s.region}), ${base.event}${s.dryRun ? ', dry run: nothing will be changed' : ''}: ${Math.min(CONCURRENT_APPS, apps.length)} at a time`);
    const runs = await pool(apps, CONCURRENT_APPS, (app) => this.runApp(app));
    this.log.info(`Scalingo: ${runs.length} app(s)`);
    for (const r of runs) this.log.info(`  ${r.ok ? 'ok    ' : 'FAILED'} ${r.settingsApp}: ${r.outcome}${r.message ? `, ${r.message}` : ''}`);
    const failed = runs.filter((r) => !r.ok);
    const ok = failed.length === 0;
    const outcome: Outcome = ok
      ? (runs.some((r) => r.outcome === 'success') ? 'success' : (runs[0]?.outcome ?? 'nothing-to-deploy'))
      : (failed.find((r) => r.outcome === 'cancelled') ?? failed[0])?.outcome ?? 'error';
    const message = ok
      ? `${runs.length} app(s): ${runs.map((r) => `${r.settingsApp} ${r.outcome}`).join(', ')}`
      : `${failed.length} of ${runs.length} apps failed: ${failed.map((r) => `${r.settingsApp}: ${r.message}`).join(' | ')}`;
    return this.seal({ ...base, ok, outcome, message, runs, ...(discovery ? { discovery } : {}) });
  }

  private seal(step: Omit<StepReport, 'requests' | 'durationMs'>): StepReport {
    return {
      ...step,
      message: this.secrets.redact(step.message),
      requests: this.client.http.count + step.runs.reduce((n, r) => n + r.requests, 0),
      durationMs: this.now() - this.start,
    };
  }

  /** One app's run, its log lines marked with its name, its requests drawn from the step's budget. */
  private runApp(app: string): Promise<RunReport> {
    const shared = { client: this.client, secrets: this.secrets, deadline: this.deadline, apps: this.known };
    return run({ ...this.settings, app, apps: [app] }, this.ctx, { ...this.deps, log: prefixed(this.deps.log, app), onSecret: this.onSecret, shared });
  }

  /** The list of links, this repository's among them, and the apps the event concerns (never a review app). */
  private async discover(): Promise<Found> {
    const s = this.settings;
    const source = s.source ?? '';
    return this.log.group(`Find the apps linked to ${source}`, async () => {
      const { links, pages, truncated } = await this.client.listLinks();
      const { managed: linked, reviewApps } = withoutReviewApps(linkedApps(links, source));
      this.log.info(`${links.length} link(s) on ${pages} page(s), ${linked.length} to ${source}${truncated ? ' (the list was cut short: more pages than expected)' : ''}`);
      if (reviewApps.length) this.log.info(`Left out: ${reviewApps.length} review app(s) linked to it too (${following(reviewApps)}): a step never manages them`);
      const select = (apps: LinkedApp[]) => selectApps(apps, source, s.command, this.ctx.event, s.link.branch, this.ctx.terms);
      // Links name their app by id: only the apps chosen are named (one request each), or every linked app when none
      // is chosen, for the message that says which app follows which branch.
      let selection = select(linked);
      let named = linked;
      if (selection.kind === 'apps') {
        const chosen = await this.name(selection.apps);
        const kept = await this.notReviewApps(chosen);
        const leftOut = chosen.filter((c) => !kept.includes(c));
        named = linked.filter((a) => !leftOut.some((l) => l.link === a.link)).map((a) => kept.find((c) => c.link === a.link) ?? a);
        if (kept.length) {
          selection = { ...selection, apps: kept };
        } else {
          named = await this.name(named);
          selection = select(named);
        }
      } else if (selection.kind === 'none-selected') {
        named = await this.name(linked);
        selection = select(named);
      }
      const discovery: DiscoveryReport = { source, pages, links: links.length, linked: named.map((a) => ({ app: a.app, ...(a.link.branch ? { branch: a.link.branch } : {}) })) };
      if (named.length) this.log.info(`Linked: ${following(named)}`);
      switch (selection.kind) {
        case 'none-linked':
          return { discovery, apps: [], stop: { ok: false, outcome: 'error' as const, message: noneLinkedMessage(source, this.ctx.terms, await this.scope()) } };
        case 'none-selected':
          this.log.info(selection.message);
          return { discovery, apps: [], stop: { ok: true, outcome: 'nothing-to-deploy' as const, message: selection.message } };
        case 'apps':
          if (selection.branch) discovery.branch = selection.branch;
          this.log.info(`Chosen: ${selection.apps.map((a) => a.app).join(', ')}: ${selection.reason}`);
          return { discovery, apps: selection.apps.map((a) => a.app) };
      }
    });
  }

  /**
   * The chosen apps, less the review apps among them: an app named `<parent>-pr<N>` is one when its parent's review
   * app list names it (one read per parent; a parent with no link or none of that name says nothing).
   */
  private async notReviewApps(chosen: LinkedApp[]): Promise<LinkedApp[]> {
    const parents = [...new Set(chosen.map((a) => (a.named ? suspectedParent(a.app) : undefined)).filter((p): p is string => p !== undefined))];
    if (parents.length === 0) return chosen;
    const lists = await pool(parents, CONCURRENT_APPS, async (parent) => {
      try {
        return { parent, list: await this.client.listReviewApps(parent) };
      } catch (err) {
        if (notFound(err) === undefined) throw err;
        return { parent, list: [] };
      }
    });
    const kept: LinkedApp[] = [];
    for (const a of chosen) {
      const of = lists.find((l) => l.list.length && listsApp(l.list, a));
      if (of) this.log.info(`Left out: ${a.app} is a review app of ${of.parent} (its review app list says so): a step never manages it`);
      else kept.push(a);
    }
    return kept;
  }

  /** "the links made by the token's user <name> in <region>": what the list of links covers, for the message. */
  private async scope(): Promise<string> {
    const region = this.settings.region;
    try {
      const user = await this.client.getSelf();
      return `the links made by the token's user${user.username ? ` ${user.username}` : ''} in ${region}`;
    } catch (err) {
      this.log.debug(`token's user not read: ${String(err)}`);
      return `the links made by the token's user in ${region}`;
    }
  }

  /** Links name their app by id: the name of each is read (a few at a time, within the step's budget). */
  private async name(linked: LinkedApp[]): Promise<LinkedApp[]> {
    return pool(linked, CONCURRENT_APPS, async (a) => {
      if (a.named) return a;
      const app = await this.client.getApp(a.app);
      // Read once: the app's run takes it from here instead of reading it again.
      if (app.name) this.known.set(app.name, app);
      return { ...a, app: app.name || a.app, named: Boolean(app.name) };
    });
  }
}

interface Found {
  discovery: DiscoveryReport;
  apps: string[];
  stop?: { ok: boolean; outcome: Outcome; message: string };
}

/** Runs `fn` on every item, at most `limit` at a time; results in the items' order. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
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
