/**
 * What every step of a run shares: the settings, the CI context and its words, the API client, the log, the clock
 * and deadline, the cancellation signal, the platform's hooks, and the report builder (the report's only writer).
 */
import type { Dispatcher } from 'undici';
import { ScalingoClient } from '../scalingo/client.js';
import type { App } from '../scalingo/types.js';
import { dashboardUrl } from '../scalingo/dashboard.js';
import { CancelledError } from '../scalingo/errors.js';
import { sleep as realSleep, type RetryTuning } from '../scalingo/http.js';
import { RateLimiter, SCALINGO_RATE_LIMIT, type RateLimit } from '../scalingo/limiter.js';
import type { CiContext, PullRequestInfo, Terms } from './event.js';
import { formatDuration, type Logger, type Secrets } from './log.js';
import type { ReportBuilder } from './report.js';
import type { Settings } from './settings.js';
import type { FollowTimings } from './steps/live-output.js';
import { writeOnce } from './write-once.js';

export interface DeploymentEvent {
  /** The app deployed: the parent app, or the review app. */
  app: string;
  parentApp: string;
  deploymentId: string;
  /** Its status when triggered. */
  status: string;
  reviewApp?: string;
  pullRequest?: PullRequestInfo;
  appUrl?: string;
  dashboardUrl: string;
}

/** Platform features the core calls when they exist; their failures are the platform's to report. */
export interface RunHooks {
  deploymentStarted?(event: DeploymentEvent): Promise<void>;
}

export interface RunDeps {
  log: Logger;
  userAgent: string;
  /** Told every credential so the platform can mask it too. */
  onSecret?: (secret: string) => void;
  hooks?: RunHooks;
  signal?: AbortSignal;
  dispatcher?: Dispatcher;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** The request budget of the step (tests scale it down); Scalingo's 60 a minute by default. */
  rateLimit?: RateLimit;
  /** The backoff of the API client's retries (tests scale it down); the product's own by default. */
  retry?: Partial<RetryTuning>;
  /** Set by the step that runs several apps (many.ts): what its apps' runs share. */
  shared?: SharedSession;
  /** Timings of the following (tests and the bench scale them down); the product's own by default. */
  followTimings?: FollowTimings;
}

/** What the runs of one step's apps share: one bearer, one request budget, one deadline, one set of secrets. */
export interface SharedSession {
  /** The step's client; each app's run derives its own from it. */
  client: ScalingoClient;
  secrets: Secrets;
  /** Epoch ms: the end of `timeout-minutes`, counted from the step's start. */
  deadline: number;
  /** Apps the step has read already (discovery reads each chosen app for its name), by name: not read again. */
  apps?: ReadonlyMap<string, App>;
}

/**
 * The client of a step: its token, its request budget (60 a minute for the whole step), retries waiting on the
 * step's clock, the one its deadline is counted on. A single app's run makes one; several apps share one.
 */
export function stepClient(
  settings: Settings,
  deps: RunDeps,
  o: { deadline: number; now: () => number; sleep: (ms: number, signal?: AbortSignal) => Promise<void>; debug: (m: string) => void; onSecret: (s: string) => void },
): ScalingoClient {
  return new ScalingoClient({
    apiUrl: settings.apiUrl, authUrl: settings.authUrl, apiToken: settings.apiToken, requestTimeoutMs: settings.requestTimeoutMs,
    deadline: o.deadline, userAgent: deps.userAgent, debug: o.debug, now: o.now, sleep: o.sleep,
    limiter: new RateLimiter(deps.rateLimit ?? SCALINGO_RATE_LIMIT, { now: o.now, sleep: o.sleep }),
    onSecret: o.onSecret,
    ...(deps.retry ? { retry: deps.retry } : {}),
    ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}),
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
}

export class Job {
  /** An app the step has read already, if any (see SharedSession.apps). */
  knownApp(name: string): App | undefined {
    return this.deps.shared?.apps?.get(name);
  }

  readonly now: () => number;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly start: number;
  /** Epoch ms: the end of `timeout-minutes`. */
  readonly deadline: number;
  readonly terms: Terms;
  readonly signal: AbortSignal | undefined;
  readonly hooks: RunHooks;
  readonly followTimings: FollowTimings | undefined;
  /** The last request sent that changes something (the link, a deploy, a review app), for a cancelled run's report. */
  lastWrite?: string;
  private api?: ScalingoClient;

  constructor(
    readonly settings: Settings,
    readonly ctx: CiContext,
    /** Already redacting: no line it prints carries a secret. */
    readonly log: Logger,
    readonly report: ReportBuilder,
    private readonly deps: RunDeps & { onSecret: (secret: string) => void },
  ) {
    this.now = deps.now ?? Date.now;
    this.sleep = deps.sleep ?? realSleep;
    this.start = this.now();
    this.deadline = deps.shared?.deadline ?? this.start + settings.timeoutMs;
    this.terms = ctx.terms;
    this.signal = deps.signal;
    this.hooks = deps.hooks ?? {};
    this.followTimings = deps.followTimings;
  }

  /** The API client, made on first use: a run that stops before any request masks no derived credential. */
  get client(): ScalingoClient {
    if (!this.api && this.deps.shared) {
      this.api = this.deps.shared.client.derive({ debug: (m) => this.log.debug(m), deadline: this.deadline });
    }
    if (!this.api) {
      this.api = stepClient(this.settings, this.deps, { deadline: this.deadline, now: this.now, sleep: this.sleep, debug: (m) => this.log.debug(m), onSecret: this.deps.onSecret });
    }
    return this.api;
  }

  requests(): number {
    return this.api?.http.count ?? 0;
  }

  elapsed(): number {
    return this.now() - this.start;
  }

  /** A warning that both the log and the report show. */
  warn(message: string, title?: string): void {
    this.report.warning(message);
    this.log.warning(message, title);
  }

  /** An input in the user's own words, in backticks: `branch`, `--branch`. */
  input(name: string): string {
    return `\`${this.terms.name(name)}\``;
  }

  /** An input set to a value, in backticks: `auto-deploy: false`, `--auto-deploy=false`. */
  setting(name: string, value: string): string {
    return `\`${this.terms.setting(name, value)}\``;
  }

  /** "(15 min 00 s, timeout-minutes)": the deadline, named as the user set it. */
  deadlineNote(): string {
    return `${formatDuration(this.settings.timeoutMs)}, ${this.terms.name('timeout-minutes')}`;
  }

  /** The dashboard page of the app this run deploys, or of the parent app until that is known. */
  appPage(): string {
    return dashboardUrl(this.settings.region, this.report.view.app ?? this.settings.app);
  }

  throwIfCancelled(): void {
    if (this.signal?.aborted) throw new CancelledError('a signal');
  }

  /** Records a write about to be sent, for the report of a run cancelled after it. */
  writing(what: string): void {
    this.lastWrite = what;
  }

  /** Sends a write that must not be done twice (see write-once.ts). */
  once<T>(what: string, send: () => Promise<T>, check: () => Promise<T | undefined>, afterResend?: (value: T) => Promise<T>): Promise<T> {
    this.writing(what);
    return writeOnce({
      what, send, check,
      ...(afterResend ? { afterResend } : {}),
      log: this.log, now: this.now, sleep: this.sleep, deadline: this.deadline, lookAgainMs: this.settings.requestTimeoutMs,
      retryEveryMs: this.settings.pollIntervalMs,
      ...(this.signal ? { signal: this.signal } : {}),
      tooLate: (reason) => `The ${what} got no clear answer (${reason}) and showed no effect before the deadline (${this.deadlineNote()}): not sent again, so that it is not done twice; check ${this.appPage()} before running this again.`,
    });
  }
}
