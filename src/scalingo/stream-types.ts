/** The deployments stream follower's options, timings, clock, states and outcome (see stream.ts). */
/**
 * `live`: a connection got a frame and the follower is reading it. `down`: not connected (before the first frame,
 * or after a drop, while reconnecting). `gave-up`: attempts in a row failed, the follower stopped for good (the
 * caller polls). `ended`: the deployment finished on the stream, or the caller closed the follower.
 */
export type StreamState = 'live' | 'down' | 'gave-up' | 'ended';

export interface StreamTimings {
  /** A connection without any frame (pings included) for this long is closed and replaced. */
  silenceMs: number;
  /** First delay before reconnecting; it doubles while connections stay short, up to `maxBackoffMs`. */
  firstBackoffMs: number;
  maxBackoffMs: number;
  /** A connection that lasted this long resets the delay to `firstBackoffMs`. */
  stableMs: number;
  /** Attempts in a row that never got a frame (refused, never authenticated, silent) before giving up. */
  maxFailedAttempts: number;
  /** How long a closing socket may take to say goodbye before it is destroyed. */
  closeGraceMs: number;
}

export const DEFAULT_STREAM_TIMINGS: StreamTimings = {
  silenceMs: 30_000,
  firstBackoffMs: 500,
  maxBackoffMs: 8_000,
  stableMs: 30_000,
  maxFailedAttempts: 4,
  closeGraceMs: 500,
};

/**
 * The clock the follower waits on: the reconnection delays, the silence watch, the close grace, and how long a
 * connection lasted. The real one by default; tests pass a virtual one, so that the product's own timings (seconds)
 * take no time.
 */
export interface StreamClock {
  /** Milliseconds (only differences count). */
  now(): number;
  /**
   * Calls `fn` once, `ms` from now. The handle only goes back to `clearTimeout`; a handle with an `unref` method
   * (Node's timers) is unref'ed where a timer must not keep the process alive (the close grace).
   */
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Node's timers and Date.now. */
export const REAL_CLOCK: StreamClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
};

export interface FollowStreamOptions {
  /** The app's `links.deployments_stream`. */
  url: string;
  /** A valid bearer; called before each connection, so a reconnection never uses an expired one. */
  getToken: () => Promise<string>;
  /** The deployment to follow; frames of other deployments are ignored. */
  deploymentId: string;
  /** Each line of the followed deployment's output, once, in order, without its newline. */
  onLine: (line: string) => void;
  /** Each status change of the followed deployment. */
  onStatus?: (status: string) => void;
  /** Each state change (the follower starts `down`). */
  onState?: (state: StreamState) => void;
  /**
   * A connection attempt ended before any frame (refused, closed after the authentication, silent, no token): the
   * stream is not usable for now, though the follower tries again until it gives up.
   */
  onAttemptFailed?: () => void;
  /** A deployment of the app started (any deployment: a concurrent one is worth knowing about). */
  onNewDeployment?: (deploymentId: string) => void;
  /** Diagnostics. Never given a token. */
  debug?: (message: string) => void;
  /** Sent as the User-Agent header (undici's own otherwise). */
  userAgent?: string;
  /** Aborting closes the follower, as `close()` does. */
  signal?: AbortSignal;
  timings?: Partial<StreamTimings>;
  /** What the timings are measured on (REAL_CLOCK by default). */
  clock?: StreamClock;
}

export interface StreamOutcome {
  /**
   * `finished`: a status event ended the deployment (confirm it with one status read). `gave-up`: the stream is
   * unusable. `closed`: the caller closed the follower (or aborted its signal).
   */
  end: 'finished' | 'gave-up' | 'closed';
  /** The last status the stream gave for the deployment. */
  status?: string;
  /** Lines given to `onLine`. */
  linesEmitted: number;
  /**
   * The stream may have missed lines: it did not see the deployment's end, or a connection was lost after it had
   * been live, or a replay disagreed with what was shown. Read the output once and print
   * `missingLines(output, linesEmitted)`.
   */
  gapPossible: boolean;
  /** Connections attempted. */
  connections: number;
}

export interface StreamHandle {
  /** Settles once the follower stops; rejects only when a callback threw (the follower then stops too). */
  readonly done: Promise<StreamOutcome>;
  readonly state: StreamState;
  readonly linesEmitted: number;
  readonly gapPossible: boolean;
  /** Stops following (idempotent). `done` then resolves with `end: 'closed'` unless already settled. */
  close(): void;
}
