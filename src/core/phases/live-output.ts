/**
 * The build output of the followed deployment, live, from the app's deployments stream (`logs: true`): each line
 * printed once as it arrives, the end of the deployment noticed at once, and the lines the stream missed read from
 * the output once the deployment is over. The stream only speeds things up: the status requests of follow.ts stay
 * the source of truth, and a stream that cannot be used leaves the following to them (one info line, no failure).
 */
import {
  followStream,
  missingLines,
  outputLines,
  type StreamHandle,
  type StreamOutcome,
  type StreamState,
} from '../../scalingo/stream.js';
import { isFinished, type App, type Deployment } from '../../scalingo/types.js';
import type { AppRun } from '../app-context.js';
import type { FollowTimings } from '../session.js';
import { isLoopback } from '../settings.js';
import { formatDuration } from '../log.js';

/** While the stream is live, one status request every this long, in case it missed the end. */
export const SAFETY_READ_MS = 30_000;

/** What the report keeps of a failed deployment's output: its last lines, within a size the summary and comment take. */
export const TAIL_LINES = 40;
export const TAIL_BYTES = 64 * 1024;

/** What the follow loop needs from a live stream of the deployment. */
export interface LiveSource {
  /** The stream is live: status requests are only a safety net. */
  healthy(): boolean;
  /** The stream saw the deployment end: a status request confirms it at once. */
  sawEnd(): boolean;
  /** The final status the stream gave, once it saw the end. */
  finalStatus(): string | undefined;
  /** The last status the stream gave, if any. */
  lastStatus(): string | undefined;
  /**
   * The stream is live again after an interruption, during which the deployment may have ended unseen: one status
   * request at once. `caughtUp()` is called when it is sent.
   */
  catchUp(): boolean;
  caughtUp(): void;
  /** Aborted at the next change of either: the wait for the next status request is cut short. */
  changes(): AbortSignal;
}

/** What the live output did, for the verdict. */
export interface LiveSummary {
  /** Lines printed, the gap filled after the end included. */
  printed: number;
  /** The last lines printed (at most TAIL_LINES), when lines were printed. */
  tail: string[];
}

/**
 * The stream URLs the bearer may be sent to: `wss:` anywhere, `ws:` only on the loopback address (local test
 * servers), as the API URL. Undefined otherwise.
 */
export function usableStreamUrl(link: string | undefined): string | undefined {
  if (!link) return undefined;
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    return undefined;
  }
  if (url.username || url.password) return undefined;
  if (url.protocol === 'wss:' || (url.protocol === 'ws:' && isLoopback(url.hostname))) return url.href;
  return undefined;
}

/**
 * A line of build output made harmless for the CI's log: a GitHub workflow command (`::name::`) or a GitLab section
 * marker in the output of a build (a pull request's code) must not act on the job. Other lines are kept as they are.
 */
export function harmless(line: string): string {
  let out = line.replace(/^(\s*):(:)/, '$1:\u200b$2');
  out = out.replace(/section_(start|end):/g, 'section_\u200b$1:');
  return out;
}

/**
 * The end of an output, bounded: at most `lines` lines and `bytes` bytes (UTF-8); a single longer line keeps its end.
 */
export function boundedTail(all: readonly string[], lines = TAIL_LINES, bytes = TAIL_BYTES): string {
  const tail = all.slice(-lines);
  let size = tail.reduce((sum, line) => sum + Buffer.byteLength(line) + 1, 0);
  while (tail.length > 1 && size > bytes) size -= Buffer.byteLength(tail.shift() ?? '') + 1;
  if (tail.length === 1 && size > bytes) {
    const only = tail[0] ?? '';
    let cut = only.slice(-bytes);
    while (Buffer.byteLength(cut) + 2 > bytes)
      cut = cut.slice(Math.ceil((Buffer.byteLength(cut) + 2 - bytes) / 4) || 1);
    tail[0] = `\u2026${cut}`;
  }
  return tail.join('\n');
}

/** The live output of one deployment: the follow loop's LiveSource, and what is left to print at the end. */
export class LiveOutput implements LiveSource {
  private handle: StreamHandle | undefined;
  private outcome: StreamOutcome | undefined;
  private change = new AbortController();
  private endSeen = false;
  private wasLive = false;
  private interrupted = false;
  private resumed = false;
  private failedBeforeLive = false;
  private stopped = false;
  /** The last status the stream gave for the deployment. */
  private last: string | undefined;
  private printed = 0;
  private readonly tail: string[] = [];

  constructor(
    private readonly job: AppRun,
    private readonly app: string,
    private readonly deploymentId: string,
    /** Shows a status the stream gave (in progress ones only: the end is the status requests' to tell). */
    private readonly showStatus: (status: string) => void,
    private readonly timings: FollowTimings = {},
  ) {}

  /** Opens the stream once the app is read (its `links.deployments_stream`); until then, and without one, follow.ts polls. */
  start(appRead: Promise<App | undefined>): void {
    void appRead.then(
      (app) => this.open(app),
      () => undefined,
    );
  }

  /**
   * Live, or connecting for the first time with no attempt failed yet (the stream sends nothing while a deployment
   * is queued, so its first frame may come late): status requests are then only a safety net.
   */
  healthy(): boolean {
    if (this.stopped || !this.handle) return false;
    const state = this.handle.state;
    return state === 'live' || (state === 'down' && !this.wasLive && !this.failedBeforeLive);
  }

  sawEnd(): boolean {
    return this.endSeen;
  }

  finalStatus(): string | undefined {
    return this.endSeen && this.last !== undefined && isFinished(this.last) ? this.last : undefined;
  }

  lastStatus(): string | undefined {
    return this.last;
  }

  catchUp(): boolean {
    return this.resumed;
  }

  caughtUp(): void {
    this.resumed = false;
  }

  changes(): AbortSignal {
    return this.change.signal;
  }

  private changed(): void {
    const previous = this.change;
    this.change = new AbortController();
    previous.abort();
  }

  private open(app: App | undefined): void {
    if (this.stopped) return;
    const link = app?.links?.deployments_stream;
    if (!link) {
      this.job.log.debug(`no deployments stream for ${this.app}: following by status requests`);
      return;
    }
    const url = usableStreamUrl(link);
    if (!url) {
      this.unavailable("the app's stream URL is not a wss: URL");
      return;
    }
    const job = this.job;
    this.handle = followStream({
      url,
      deploymentId: this.deploymentId,
      getToken: () => job.client.bearer(),
      onLine: (line) => this.print(line),
      onStatus: (status) => {
        this.last = status;
        // The end is known from here, before the stream's state changes wake the follow loop.
        if (isFinished(status)) this.endSeen = true;
        else this.showStatus(status);
      },
      onAttemptFailed: () => {
        if (this.wasLive || this.failedBeforeLive) return;
        this.failedBeforeLive = true;
        this.changed();
      },
      onState: (state: StreamState) => {
        if (state === 'gave-up') this.unavailable('it could not be reached or closed at once');
        if (state === 'down' && this.wasLive) this.interrupted = true;
        if (state === 'live') {
          if (this.interrupted) this.resumed = true;
          this.wasLive = true;
        }
        this.changed();
      },
      debug: (message) => job.log.debug(message),
      ...(job.signal ? { signal: job.signal } : {}),
      ...(this.timings.stream ? { timings: this.timings.stream } : {}),
    });
    this.handle.done.then(
      (outcome) => {
        this.outcome = outcome;
        if (outcome.end === 'finished' && !this.stopped) {
          this.endSeen = true;
          this.changed();
        }
      },
      (err: unknown) => {
        job.log.debug(`live output stopped: ${String(err)}`);
        this.changed();
      },
    );
  }

  private unavailable(why: string): void {
    if (this.stopped) return;
    const every = formatDuration(this.job.settings.pollIntervalMs);
    this.job.log.info(
      `Live build output unavailable (${why}): following by status requests every ${every}, the build output follows at the end`,
    );
  }

  private print(line: string): void {
    if (this.stopped) return;
    this.printed += 1;
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    this.job.log.info(harmless(line));
  }

  /**
   * Stops the stream. When the deployment is over and the stream may have missed lines, reads the output once and
   * prints them: no line is lost, none printed twice.
   */
  async finish(deployment: Deployment): Promise<LiveSummary> {
    const handle = this.handle;
    if (handle) {
      handle.close();
      this.outcome ??= await handle.done.catch(() => undefined);
    }
    this.stopped = true;
    const gap = this.outcome?.gapPossible ?? false;
    if (this.printed > 0 && gap && isFinished(deployment.status) && !this.job.signal?.aborted) {
      try {
        const output = await this.job.client.deploymentOutput(this.app, deployment);
        const missing = missingLines(output ?? '', this.printed);
        if (missing.length > 0)
          this.job.log.info(`(${missing.length} line(s) of build output the live stream missed, read back)`);
        for (const line of missing) {
          this.printed += 1;
          this.tail.push(line);
          this.job.log.info(harmless(line));
        }
        if (output !== undefined) {
          const all = outputLines(output);
          this.tail.splice(0, this.tail.length, ...all.slice(-TAIL_LINES));
        }
      } catch (err) {
        this.job.log.debug(`build output not read: ${String(err)}`);
      }
    }
    return { printed: this.printed, tail: this.tail.slice(-TAIL_LINES) };
  }
}
