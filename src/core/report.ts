/**
 * What a CI step found and did: one report for the step, one entry per app. Every output, summary, dotenv file and
 * comment is made from it; a step of one app is its N = 1 case, decided here and in render.ts only.
 */
import type { PullRequestInfo } from './event.js';
import type { OutputName } from './inputs.js';
import type { Secrets } from './log.js';
import type { Action, FieldChange } from './plan.js';

export type LinkResult =
  'created' | 'updated' | 'unchanged' | 'deleted' | 'would-create' | 'would-update' | 'would-delete';

export type Outcome =
  'success' | 'failed' | 'timed-out' | 'cancelled' | 'skipped' | 'nothing-to-deploy' | 'dry-run' | 'error';

export interface DeploymentInfo {
  app: string;
  id: string;
  status: string;
  /** Epoch ms when the run triggered or found it. */
  startedAt: number;
  endedAt?: number;
  /** The end of the build output, when the deployment failed. */
  outputTail?: string;
  /** The commit the deployment built (Scalingo's `git_ref`: the branch's head when it started), once known. */
  gitRef?: string;
  /** The commit this run is about, when the deployment should build it: a push's, a pull request's head. */
  runCommit?: string;
  /** False when the run only started it (`wait: false`). */
  followed?: boolean;
}

/** One app of the step: what was found and done for it. */
export interface AppReport {
  ok: boolean;
  outcome: Outcome;
  /** One line: why the run failed, skipped or deployed nothing. */
  message: string;
  /** The app of the step this report is about (as given, or found through the links). */
  parentApp: string;
  region: string;
  source?: string;
  event: string;
  action?: Action;
  link?: { result: LinkResult; changes: FieldChange[] };
  /** The app deployed: the parent app, or the review app. */
  app?: string;
  appUrl?: string;
  reviewApp?: string;
  pullRequest?: PullRequestInfo;
  branch?: string;
  sha?: string;
  deployment?: DeploymentInfo;
  dashboardUrl?: string;
  timedOut: boolean;
  /** What happens next, for a closed pull request. */
  notes: string[];
  warnings: string[];
  /** API requests sent. */
  requests: number;
  durationMs: number;
}

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

/** What a step did, for every app. */
export interface StepReport {
  ok: boolean;
  outcome: Outcome;
  /** One line: why the step failed or deployed nothing, or what it did. */
  message: string;
  event: string;
  region: string;
  dryRun: boolean;
  /** One report per app, in the order the apps were given or found. */
  runs: AppReport[];
  /** Set when the apps were found through the list of links. */
  discovery?: DiscoveryReport;
  warnings: string[];
  /** API requests of the whole step. */
  requests: number;
  durationMs: number;
}

/** The step's one app when it is a step of one app given by name: the N = 1 case of every layout. */
export function onlyApp(step: Pick<StepReport, 'runs' | 'discovery'>): AppReport | undefined {
  return step.runs.length === 1 && !step.discovery ? step.runs[0] : undefined;
}

/** The verdict of a step from its apps': one app's own; several, the first failure (a cancellation first), else success. */
export function stepVerdict(
  runs: readonly AppReport[],
  discovered: boolean,
): { ok: boolean; outcome: Outcome; message: string } {
  const only = runs.length === 1 && !discovered ? runs[0] : undefined;
  if (only) return { ok: only.ok, outcome: only.outcome, message: only.message };
  const failed = runs.filter((r) => !r.ok);
  if (failed.length === 0) {
    const outcome = runs.some((r) => r.outcome === 'success') ? 'success' : (runs[0]?.outcome ?? 'nothing-to-deploy');
    return {
      ok: true,
      outcome,
      message: `${runs.length} app(s): ${runs.map((r) => `${r.parentApp} ${r.outcome}`).join(', ')}`,
    };
  }
  const outcome = (failed.find((r) => r.outcome === 'cancelled') ?? failed[0])?.outcome ?? 'error';
  return {
    ok: false,
    outcome,
    message: `${failed.length} of ${runs.length} apps failed: ${failed.map((r) => `${r.parentApp}: ${r.message}`).join(' | ')}`,
  };
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

function appOutputs(r: AppReport): Record<Exclude<OutputName, 'apps'>, string> {
  return {
    app: r.app ?? '',
    'app-url': r.appUrl ?? '',
    'deployment-id': r.deployment?.id ?? '',
    'deployment-status': r.deployment?.status ?? '',
    'review-app': r.reviewApp ?? '',
    link: r.link?.result ?? '',
    'timed-out': String(r.timedOut),
    'dashboard-url': r.dashboardUrl ?? '',
    'git-ref': r.deployment?.gitRef ?? '',
  };
}

export function appOutput(r: AppReport): AppOutput {
  const o = appOutputs(r);
  return {
    app: r.parentApp,
    'review-app': o['review-app'],
    'app-url': o['app-url'],
    'deployment-id': o['deployment-id'],
    'deployment-status': o['deployment-status'],
    link: o.link,
    'git-ref': o['git-ref'],
    'timed-out': r.timedOut,
  };
}

/**
 * The step's outputs, every one set: with exactly one app, that app's; with several or none, those are empty
 * (`timed-out` says whether any app timed out). `apps` lists every app in any case.
 */
export function outputs(step: StepReport): Record<OutputName, string> {
  const only = step.runs.length === 1 ? step.runs[0] : undefined;
  const single = only ? appOutputs(only) : emptyOutputs(String(step.runs.some((r) => r.timedOut)));
  return { ...single, apps: JSON.stringify(step.runs.map(appOutput)) };
}

function emptyOutputs(timedOut: string): Record<Exclude<OutputName, 'apps'>, string> {
  return {
    app: '',
    'app-url': '',
    'deployment-id': '',
    'deployment-status': '',
    'review-app': '',
    link: '',
    'timed-out': timedOut,
    'dashboard-url': '',
    'git-ref': '',
  };
}

/** The outputs of a step that stopped before it ran: on bad input, every output set, empty. */
export function noOutputs(): Record<OutputName, string> {
  return { ...emptyOutputs('false'), apps: '[]' };
}

/** The only writer of an app's report: the app's run records in these words what its phases decided. */
export class ReportBuilder {
  private readonly r: AppReport;

  constructor(app: string, region: string, event: string, source: string | undefined, sha: string | undefined) {
    this.r = {
      ok: false,
      outcome: 'error',
      message: '',
      parentApp: app,
      region,
      event,
      timedOut: false,
      notes: [],
      warnings: [],
      requests: 0,
      durationMs: 0,
    };
    if (source) this.r.source = source;
    if (sha) this.r.sha = sha;
  }

  get view(): Readonly<AppReport> {
    return this.r;
  }

  action(action: Action): void {
    this.r.action = action;
  }

  link(result: LinkResult, changes: FieldChange[] = []): void {
    this.r.link = { result, changes };
  }

  /** The app this run deploys (the parent app, or a review app) and its dashboard page. */
  target(app: string, dashboardUrl: string): void {
    this.r.app = app;
    this.r.dashboardUrl = dashboardUrl;
  }

  reviewApp(name: string): void {
    this.r.reviewApp = name;
  }

  pullRequest(pr: PullRequestInfo): void {
    this.r.pullRequest = pr;
  }

  branch(branch: string): void {
    this.r.branch = branch;
  }

  appUrl(url: string | undefined): void {
    if (url) this.r.appUrl = url;
  }

  deployment(info: DeploymentInfo): void {
    this.r.deployment = { ...info };
  }

  /** The commit the deployment builds, as a read of it says, and the one this run expected, when known. */
  deploymentCommits(gitRef: string | null | undefined, runCommit?: string): void {
    if (!this.r.deployment) return;
    if (gitRef) this.r.deployment.gitRef = gitRef;
    if (runCommit) this.r.deployment.runCommit = runCommit;
  }

  /** The deployment was started and left running (`wait: false`). */
  notFollowed(): void {
    if (this.r.deployment) this.r.deployment.followed = false;
  }

  deploymentStatus(status: string, endedAt?: number): void {
    if (!this.r.deployment) return;
    this.r.deployment.status = status;
    if (endedAt !== undefined) this.r.deployment.endedAt = endedAt;
  }

  outputTail(tail: string): void {
    if (this.r.deployment) this.r.deployment.outputTail = tail;
  }

  warning(message: string): void {
    this.r.warnings.push(message);
  }

  note(message: string): void {
    this.r.notes.push(message);
  }

  finish(ok: boolean, outcome: Outcome, message: string): void {
    this.r.ok = ok;
    this.r.outcome = outcome;
    this.r.message = message;
    if (outcome === 'timed-out') this.r.timedOut = true;
  }

  /** The finished report: every text that leaves the run goes through the secrets' redaction. */
  seal(secrets: Secrets, requests: number, durationMs: number): AppReport {
    return {
      ...this.r,
      message: secrets.redact(this.r.message),
      warnings: this.r.warnings.map((w) => secrets.redact(w)),
      notes: this.r.notes.map((n) => secrets.redact(n)),
      requests,
      durationMs,
    };
  }
}
