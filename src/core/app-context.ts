/**
 * What the phases of one app's run work with: the step's session seen from this app (its settings, clock, deadline,
 * signal, hooks), this app's own client and log, and the report the run writes what they decided into.
 */
import type { ScalingoClient } from '../scalingo/client.js';
import { dashboardUrl } from '../scalingo/dashboard.js';
import type { Reservation } from '../scalingo/limiter.js';
import type { App } from '../scalingo/types.js';
import { describeEvent, type CiContext, type Terms } from './event.js';
import type { Logger } from './log.js';
import { ReportBuilder } from './report.js';
import type { FollowTimings, Session, StepHooks } from './session.js';
import type { Settings } from './settings.js';
import { writeOnce } from './write-once.js';

/** What the phases of one app's run work with: the step's session, seen from this app. */
export class AppRun {
  readonly report: ReportBuilder;
  readonly start: number;
  /** The last request sent that changes something (the link, a deploy, a review app), for a cancelled run's report. */
  lastWrite?: string;
  private api?: ScalingoClient;
  /** Gives back this run's place among the step's deployments running at once, once it holds one. */
  private releaseDeployment?: () => void;

  constructor(
    readonly session: Session,
    /** The app of the step this run is for (for review apps: the parent app). */
    readonly app: string,
    /** Already redacting: no line it prints carries a secret. */
    readonly log: Logger,
    private readonly reservation?: Reservation,
  ) {
    this.start = session.now();
    this.report = new ReportBuilder(
      app,
      session.settings.region,
      describeEvent(session.ctx),
      session.settings.source,
      session.ctx.sha,
    );
  }

  get settings(): Settings {
    return this.session.settings;
  }

  get ctx(): CiContext {
    return this.session.ctx;
  }

  get terms(): Terms {
    return this.session.terms;
  }

  get now(): () => number {
    return this.session.now;
  }

  get sleep(): (ms: number, signal?: AbortSignal) => Promise<void> {
    return this.session.sleep;
  }

  /** Epoch ms: the step's deadline. */
  get deadline(): number {
    return this.session.deadline;
  }

  get signal(): AbortSignal | undefined {
    return this.session.signal;
  }

  get hooks(): StepHooks {
    return this.session.hooks;
  }

  get followTimings(): FollowTimings | undefined {
    return this.session.tuning.followTimings;
  }

  /** This app's client: the step's bearer and budget, its own request count and log, the slots set aside for it. */
  get client(): ScalingoClient {
    this.api ??= this.session.client.derive({
      debug: (m) => this.log.debug(m),
      ...(this.reservation ? { reservation: this.reservation } : {}),
    });
    return this.api;
  }

  /** An app the step has read already, if any. */
  knownApp(name: string): App | undefined {
    return this.session.knownApps.get(name);
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

  deadlineNote(): string {
    return this.session.deadlineNote();
  }

  /** The dashboard page of the app this run deploys, or of the parent app until that is known. */
  appPage(): string {
    return dashboardUrl(this.settings.region, this.report.view.app ?? this.app);
  }

  throwIfCancelled(): void {
    this.session.throwIfCancelled();
  }

  /**
   * Waits for a place among the step's own deployments running at once (Scalingo runs 10 of one owner at once),
   * before a write that starts one; held until the run ends.
   */
  async startingDeployment(): Promise<void> {
    if (this.releaseDeployment) return;
    const slots = this.session.deployments;
    this.releaseDeployment = await slots.take({
      now: this.now,
      deadline: this.deadline,
      ...(this.signal ? { signal: this.signal } : {}),
      tooLate: () =>
        `Stopped at the deadline (${this.deadlineNote()}) before deploying: ${slots.size} deployments of this step were running, as many as Scalingo runs at once for one owner.`,
    });
  }

  /** The run is over: its place among the running deployments goes to the next app. */
  done(): void {
    this.releaseDeployment?.();
  }

  /** Records a write about to be sent, for the report of a run cancelled after it. */
  writing(what: string): void {
    this.lastWrite = what;
  }

  /** Sends a write that must not be done twice (see write-once.ts). */
  once<T>(
    what: string,
    send: () => Promise<T>,
    check: () => Promise<T | undefined>,
    afterResend?: (value: T) => Promise<T>,
  ): Promise<T> {
    this.writing(what);
    return writeOnce({
      what,
      send,
      check,
      ...(afterResend ? { afterResend } : {}),
      log: this.log,
      now: this.now,
      sleep: this.sleep,
      deadline: this.deadline,
      lookAgainMs: this.settings.requestTimeoutMs,
      retryEveryMs: this.settings.pollIntervalMs,
      ...(this.signal ? { signal: this.signal } : {}),
      tooLate: (reason) =>
        `The ${what} got no clear answer (${reason}) and showed no effect before the deadline (${this.deadlineNote()}): not sent again, so that it is not done twice; check ${this.appPage()} before running this again.`,
    });
  }
}
