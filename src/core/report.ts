/** What a run found and did: the report every output, summary, dotenv file and comment is made from. */
import type { PullRequestInfo } from './event.js';
import type { OutputName } from './inputs.js';
import type { Secrets } from './log.js';
import type { Action, FieldChange } from './plan.js';
import type { Settings } from './settings.js';

export type LinkResult = 'created' | 'updated' | 'unchanged' | 'deleted' | 'would-create' | 'would-update' | 'would-delete';

export type Outcome = 'success' | 'failed' | 'timed-out' | 'cancelled' | 'skipped' | 'nothing-to-deploy' | 'dry-run' | 'error';

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

export interface RunReport {
  ok: boolean;
  outcome: Outcome;
  /** One line: why the run failed, skipped or deployed nothing. */
  message: string;
  settingsApp: string;
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

/** The outputs of one app's report, by name; every output is set (empty when unknown). `apps` is the step's (many.ts). */
export function reportOutputs(report: RunReport): Record<Exclude<OutputName, 'apps'>, string> {
  return {
    app: report.app ?? '',
    'app-url': report.appUrl ?? '',
    'deployment-id': report.deployment?.id ?? '',
    'deployment-status': report.deployment?.status ?? '',
    'review-app': report.reviewApp ?? '',
    link: report.link?.result ?? '',
    'timed-out': String(report.timedOut),
    'dashboard-url': report.dashboardUrl ?? '',
    'git-ref': report.deployment?.gitRef ?? '',
  };
}

/** The only writer of a run's report: each step says what it learnt, in these words, and reads it back from `view`. */
export class ReportBuilder {
  private readonly r: RunReport;

  constructor(settings: Settings, event: string, sha: string | undefined) {
    this.r = {
      ok: false, outcome: 'error', message: '', settingsApp: settings.app, region: settings.region, event,
      timedOut: false, notes: [], warnings: [], requests: 0, durationMs: 0,
    };
    if (settings.source) this.r.source = settings.source;
    if (sha) this.r.sha = sha;
  }

  get view(): Readonly<RunReport> {
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

  timedOut(): void {
    this.r.timedOut = true;
    this.r.outcome = 'timed-out';
  }

  finish(ok: boolean, outcome: Outcome, message: string): void {
    this.r.ok = ok;
    this.r.outcome = outcome;
    this.r.message = message;
    if (outcome === 'timed-out') this.r.timedOut = true;
  }

  /** The finished report: every text that leaves the run goes through the secrets' redaction. */
  seal(secrets: Secrets, requests: number, durationMs: number): RunReport {
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
