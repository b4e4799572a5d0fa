/**
 * Scalingo's deployments stream: a WebSocket that carries the build output and the status changes of every
 * deployment of one app, live. This module connects to it, follows one deployment, prints each of its lines once
 * and reports its status, reconnecting with a fresh bearer when the socket closes or goes silent. It gives up for
 * good (the caller then polls) when attempts in a row never get a frame. Nothing here knows about CI platforms.
 *
 * Protocol (Scalingo's Go client and CLI): connect to the app's `links.deployments_stream` (never built here), with
 * the header `Origin: http://scalingo-cli.local/1` and no Authorization header; the first frame, from the client,
 * is `{"type":"auth","data":{"token":"<bearer>"}}`. No acknowledgement: a bad token makes the server close the
 * socket. Server frames are `{"type","id","data"}`: `ping`, `new` (a deployment started), `log` (`data.content`,
 * one or more whole lines, with or without a final newline), `status` (`data.status`). On connect the server replays
 * the existing output, then goes on live: a reconnection repeats lines, which are counted to be shown once.
 */
import { LineDeduper, isFinishedStatus, type StreamFrame } from './stream-frames.js';
import { SocketPool, openConnection } from './stream-socket.js';
import {
  DEFAULT_STREAM_TIMINGS,
  REAL_CLOCK,
  type FollowStreamOptions,
  type StreamHandle,
  type StreamOutcome,
  type StreamState,
  type StreamTimings,
} from './stream-types.js';

export {
  DEFAULT_STREAM_TIMINGS,
  REAL_CLOCK,
  type FollowStreamOptions,
  type StreamClock,
  type StreamHandle,
  type StreamOutcome,
  type StreamState,
  type StreamTimings,
} from './stream-types.js';

export {
  LineDeduper,
  STREAM_ORIGIN,
  isFinishedStatus,
  missingLines,
  outputLines,
  parseFrame,
  type StreamFrame,
} from './stream-frames.js';

// ---------------------------------------------------------------------------
// The follower
// ---------------------------------------------------------------------------

/** The URL without credentials or query, fit for messages. */
function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return 'an invalid URL';
  }
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string')
    return (error as { message: string }).message;
  return String(error);
}

/** Follows one deployment on the app's deployments stream. See the module's comment. */
export function followStream(options: FollowStreamOptions): StreamHandle {
  const timings: StreamTimings = { ...DEFAULT_STREAM_TIMINGS, ...options.timings };
  const clock = options.clock ?? REAL_CLOCK;
  const where = describeUrl(options.url);
  const tokens = new Set<string>();
  const debug = (message: string): void => {
    if (!options.debug) return;
    let safe = message;
    for (const token of tokens) safe = safe.split(token).join('***');
    options.debug(`stream: ${safe}`);
  };

  const pool = new SocketPool(clock);

  const lines = new LineDeduper();
  let state: StreamState = 'down';
  let stopped = false;
  let status: string | undefined;
  let interrupted = false;
  let connections = 0;
  let failuresInARow = 0;
  let shortInARow = 0;
  let endAttempt: ((why: string) => void) | undefined;
  let retryTimer: unknown;
  let settle!: { resolve: (outcome: StreamOutcome) => void; reject: (error: unknown) => void };
  const done = new Promise<StreamOutcome>((resolve, reject) => {
    settle = { resolve, reject };
  });

  const gapPossible = (): boolean =>
    interrupted || lines.mismatch || (stopped && !(status !== undefined && isFinishedStatus(status)));

  const setState = (next: StreamState): void => {
    if (state === next) return;
    state = next;
    options.onState?.(next);
  };

  const teardown = (): void => {
    if (retryTimer !== undefined) clock.clearTimeout(retryTimer);
    options.signal?.removeEventListener('abort', onAbort);
    endAttempt?.('the follower stopped');
    // Let a socket that is closing say goodbye, then destroy what is left.
    pool.destroyLater(timings.closeGraceMs);
  };

  const stop = (end: StreamOutcome['end'], error?: unknown): void => {
    if (stopped) return;
    stopped = true;
    teardown();
    const outcome: StreamOutcome = { end, linesEmitted: lines.emitted, gapPossible: gapPossible(), connections };
    if (status !== undefined) outcome.status = status;
    debug(
      `stopped (${end}) after ${connections} connection(s), ${lines.emitted} line(s) shown${outcome.gapPossible ? ', lines may be missing' : ''}`,
    );
    try {
      setState(end === 'gave-up' ? 'gave-up' : 'ended');
    } catch (stateError) {
      error ??= stateError;
    }
    if (error !== undefined) settle.reject(error);
    else settle.resolve(outcome);
  };

  /** Runs a caller's callback; if it throws, the follower stops and `done` rejects with its error. */
  const call = (fn: () => void): boolean => {
    try {
      fn();
      return true;
    } catch (error) {
      stop('closed', error);
      return false;
    }
  };

  const onAbort = (): void => stop('closed');

  const handleFrame = (frame: StreamFrame): void => {
    switch (frame.type) {
      case 'ping':
      case 'other':
        return;
      case 'new':
        if (frame.deploymentId !== undefined && options.onNewDeployment) {
          const id = frame.deploymentId;
          call(() => options.onNewDeployment?.(id));
        }
        return;
      case 'log':
        if (frame.deploymentId !== options.deploymentId) return;
        for (const line of lines.push(frame.content)) {
          if (!call(() => options.onLine(line))) return;
        }
        return;
      case 'status': {
        if (frame.deploymentId !== options.deploymentId) return;
        const next = frame.status;
        if (next !== status) {
          status = next;
          if (!call(() => options.onStatus?.(next))) return;
        }
        if (isFinishedStatus(next)) {
          debug(`the deployment ended with status ${next}`);
          stop('finished');
        }
        return;
      }
    }
  };

  const scheduleRetry = (): void => {
    if (stopped) return;
    if (failuresInARow >= timings.maxFailedAttempts) {
      debug(`giving up after ${failuresInARow} attempt(s) in a row without any frame`);
      stop('gave-up');
      return;
    }
    const delay = Math.min(timings.firstBackoffMs * 2 ** Math.max(0, shortInARow - 1), timings.maxBackoffMs);
    debug(`reconnecting in ${delay} ms`);
    retryTimer = clock.setTimeout(() => {
      retryTimer = undefined;
      void attempt();
    }, delay);
  };

  const attempt = async (): Promise<void> => {
    if (stopped) return;
    connections += 1;
    const number = connections;
    let token: string;
    try {
      token = await options.getToken();
    } catch (error) {
      if (stopped) return;
      debug(`connection ${number}: no token (${messageOf(error)})`);
      failuresInARow += 1;
      shortInARow += 1;
      if (!call(() => options.onAttemptFailed?.())) return;
      scheduleRetry();
      return;
    }
    if (stopped) return;
    if (token) tokens.add(token);

    const onEnded = (why: string, framed: boolean, lasted: number): void => {
      if (endAttempt === connection.end) endAttempt = undefined;
      if (stopped) return;
      debug(`connection ${number} ended: ${why}`);
      if (framed) {
        failuresInARow = 0;
        interrupted = true;
      } else {
        failuresInARow += 1;
        if (!call(() => options.onAttemptFailed?.())) return;
      }
      shortInARow = framed && lasted >= timings.stableMs ? 0 : shortInARow + 1;
      setState('down');
      scheduleRetry();
    };
    lines.startConnection();
    let connection: { end(why: string): void };
    try {
      connection = openConnection({
        url: options.url,
        where,
        token,
        number,
        ...(options.userAgent ? { userAgent: options.userAgent } : {}),
        pool,
        clock,
        silenceMs: timings.silenceMs,
        closeGraceMs: timings.closeGraceMs,
        debug,
        onFirstFrame: () => {
          failuresInARow = 0;
          return call(() => setState('live'));
        },
        onFrame: handleFrame,
        onEnded,
        stopped: () => stopped,
      });
    } catch (error) {
      // An invalid URL: trying again will not help.
      debug(`cannot connect to ${where}: ${messageOf(error)}`);
      stop('gave-up');
      return;
    }
    endAttempt = connection.end;
  };

  if (options.signal?.aborted) {
    stop('closed');
  } else {
    options.signal?.addEventListener('abort', onAbort, { once: true });
    void attempt();
  }

  return {
    done,
    get state() {
      return state;
    },
    get linesEmitted() {
      return lines.emitted;
    },
    get gapPossible() {
      return gapPossible();
    },
    close() {
      stop('closed');
    },
  };
}
