/**
 * What every app of one CI step shares: the settings and the CI context, one API client (one bearer, one request
 * budget: Scalingo's 60 requests a minute are the user's, not an app's), the clock and the deadline of the whole
 * step, the secrets and the redacting log, the cancellation signal, the platform's hooks, and the apps already read.
 * runStep (step.ts) builds one per step; each app's run (app-run.ts) works inside it.
 */
import { setMaxListeners } from 'node:events';
import type { Dispatcher } from 'undici';
import { ScalingoClient } from '../scalingo/client.js';
import { sleep as realSleep, type RetryTuning } from '../scalingo/http.js';
import { RateLimiter, SCALINGO_RATE_LIMIT, type BudgetWait, type RateLimit } from '../scalingo/limiter.js';
import type { App, ScmRepoLink } from '../scalingo/types.js';
import { CancelledError, UserError } from './errors.js';
import type { CiContext, PullRequestInfo, Terms } from './event.js';
import { formatDuration, redacting, Secrets, type Logger } from './log.js';
import type { Settings } from './settings.js';
import type { StreamTimings } from '../scalingo/stream.js';

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
export interface StepHooks {
  deploymentStarted?(event: DeploymentEvent): Promise<void>;
}

/** Timings of the following: the defaults are the product's. */
export interface FollowTimings {
  /** While the stream is live, one status request every this long, in case it missed the end. */
  safetyReadMs?: number;
  stream?: Partial<StreamTimings>;
}

/** The timings and limits of a step, for tests and the benchmark (scaled down, or on a virtual clock). */
export interface Tuning {
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** The request budget of the step; Scalingo's 60 a minute by default. */
  rateLimit?: RateLimit;
  /** The backoff of the API client's retries. */
  retry?: Partial<RetryTuning>;
  /** Timings of the following. */
  followTimings?: FollowTimings;
  /** The dispatcher the API requests go through. */
  dispatcher?: Dispatcher;
}

/** What a platform gives the core to run a step. */
export interface StepDeps {
  log: Logger;
  userAgent: string;
  /** Told every credential so the platform can mask it too. */
  onSecret?: (secret: string) => void;
  hooks?: StepHooks;
  signal?: AbortSignal;
  tuning?: Tuning;
}

/** A wait for the request budget longer than this is said in one line. */
export const BUDGET_WAIT_NOTE_MS = 3000;

/**
 * Deployments of one owner Scalingo runs at once; the others wait, queued (doc.scalingo.com, "Limits": "10 concurrent
 * deployments"). A step of several apps starts no more of its own at once.
 */
export const SCALINGO_RUNNING_DEPLOYMENTS = 10;

/** At most `size` holders at once; the others wait their turn, in order, until the deadline. */
export class Slots {
  private used = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly size: number) {}

  /** Resolves with the slot's release once one is free; UserError when none frees before the deadline. */
  async take(o: {
    now: () => number;
    deadline: number;
    signal?: AbortSignal;
    tooLate: () => string;
  }): Promise<() => void> {
    while (this.used >= this.size) {
      const left = o.deadline - o.now();
      if (left <= 0) throw new UserError(o.tooLate());
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.waiting.push(done);
        o.signal?.addEventListener('abort', done, { once: true });
      });
      if (o.signal?.aborted) throw new CancelledError('a signal');
    }
    this.used += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= 1;
      this.waiting.shift()?.();
    };
  }
}

export class Session {
  readonly now: () => number;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly start: number;
  /** Epoch ms: the end of `timeout-minutes`, counted from the step's start, for every app. */
  readonly deadline: number;
  readonly terms: Terms;
  readonly signal: AbortSignal | undefined;
  readonly hooks: StepHooks;
  readonly tuning: Tuning;
  readonly secrets = new Secrets();
  /** Already redacting: no line it prints carries a secret. */
  readonly log: Logger;
  /** Apps read already (discovery reads each chosen app for its name), by name: not read again. */
  readonly knownApps = new Map<string, App>();
  /** The step's request budget, shared by every app's client. */
  readonly limiter: RateLimiter;
  /** The step's own deployments running at once. */
  readonly deployments = new Slots(SCALINGO_RUNNING_DEPLOYMENTS);
  private api?: ScalingoClient;
  private links?: Promise<ReadonlyMap<string, ScmRepoLink> | undefined>;

  constructor(
    readonly settings: Settings,
    readonly ctx: CiContext,
    private readonly deps: StepDeps,
  ) {
    this.tuning = deps.tuning ?? {};
    this.now = this.tuning.now ?? Date.now;
    this.sleep = this.tuning.sleep ?? realSleep;
    this.start = this.now();
    this.deadline = this.start + settings.timeoutMs;
    this.terms = ctx.terms;
    this.signal = deps.signal;
    // Every app waiting for a slot, the budget or a stream listens to the step's one signal: more than Node's default
    // of 10 is expected with many apps, not a leak, and its warning would land in the user's log.
    if (deps.signal) setMaxListeners(0, deps.signal);
    this.hooks = deps.hooks ?? {};
    this.onSecret(settings.apiToken);
    this.log = redacting(deps.log, this.secrets);
    this.limiter = new RateLimiter(this.tuning.rateLimit ?? SCALINGO_RATE_LIMIT, {
      now: this.now,
      sleep: this.sleep,
      deadline: this.deadline,
      noteAfterMs: BUDGET_WAIT_NOTE_MS,
      onWait: (wait) => this.log.info(budgetLine(wait, this.settings.apps.length)),
    });
  }

  /** Every credential: masked by the platform, redacted from every text that leaves the core. */
  readonly onSecret = (secret: string): void => {
    this.secrets.add(secret);
    this.deps.onSecret?.(secret);
  };

  /**
   * The step's client, made on first use (a step that stops before any request masks no derived credential): its
   * token, the step's request budget, retries on the step's clock, the step's deadline.
   */
  get client(): ScalingoClient {
    this.api ??= new ScalingoClient({
      apiUrl: this.settings.apiUrl,
      authUrl: this.settings.authUrl,
      apiToken: this.settings.apiToken,
      requestTimeoutMs: this.settings.requestTimeoutMs,
      deadline: this.deadline,
      userAgent: this.deps.userAgent,
      debug: (m) => this.log.debug(m),
      now: this.now,
      sleep: this.sleep,
      limiter: this.limiter,
      onSecret: this.onSecret,
      ...(this.tuning.retry ? { retry: this.tuning.retry } : {}),
      ...(this.tuning.dispatcher ? { dispatcher: this.tuning.dispatcher } : {}),
      ...(this.signal ? { signal: this.signal } : {}),
    });
    return this.api;
  }

  /**
   * The links of the step's apps, by app id, from one read of the list of links instead of one read each: for a
   * step of more than a few apps, when the list is shorter than half as many pages as there are apps (an account
   * with a long list gets a read per app instead). Undefined when the step has no use for it, or the list is long.
   * Discovery gives it the list it read. A link not in it (made by another user) is read on its own.
   */
  linkList(): Promise<ReadonlyMap<string, ScmRepoLink> | undefined> | undefined {
    if (this.links) return this.links;
    const apps = this.settings.apps.length;
    if (apps < LINK_LIST_FROM_APPS) return undefined;
    this.links = this.client.listLinks({ maxPages: Math.floor(apps / 2) }).then(
      ({ links, truncated }) => (truncated ? undefined : byAppId(links)),
      (err: unknown) => {
        this.log.debug(`list of links not read: ${String(err)}`);
        return undefined;
      },
    );
    return this.links;
  }

  /** The list of links discovery read: the chosen apps' links are taken from it. */
  knownLinks(links: readonly ScmRepoLink[]): void {
    this.links = Promise.resolve(byAppId(links));
  }

  /** Requests sent by the step's own client (discovery), not by an app's. */
  requests(): number {
    return this.api?.http.count ?? 0;
  }

  elapsed(): number {
    return this.now() - this.start;
  }

  /** "(30 min 00 s, timeout-minutes)": the deadline, named as the user set it. */
  deadlineNote(): string {
    return `${formatDuration(this.settings.timeoutMs)}, ${this.terms.name('timeout-minutes')}`;
  }

  throwIfCancelled(): void {
    if (this.signal?.aborted) throw new CancelledError('a signal');
  }
}

/** From this many apps named in a step, their links come from one list of links rather than a read each. */
export const LINK_LIST_FROM_APPS = 4;

function byAppId(links: readonly ScmRepoLink[]): ReadonlyMap<string, ScmRepoLink> {
  return new Map(links.flatMap((l) => (l.app_id ? [[l.app_id, l] as const] : [])));
}

/** "Scalingo's request budget (60 a minute, this step's 25 apps together): 12 request(s) wait, about 40 s". */
export function budgetLine(wait: BudgetWait, apps: number): string {
  const whose = apps > 1 ? `this step's ${apps} apps together` : 'for this step';
  return `Scalingo's request budget (${wait.limit} requests a minute, ${whose}): ${wait.waiting} request(s) wait, about ${formatDuration(wait.waitMs)} for the next`;
}
