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
 * text of one or more lines, the last one possibly unfinished), `status` (`data.status`). On connect the server
 * replays the existing output, then goes on live: a reconnection repeats lines, which are counted to be shown once.
 */
import type { Socket } from 'node:net';
import { Agent, WebSocket, buildConnector, type CloseEvent, type ErrorEvent, type MessageEvent } from 'undici';

/** The Origin header Scalingo's own client sends. */
export const STREAM_ORIGIN = 'http://scalingo-cli.local/1';

/** Statuses of a deployment in progress; any other status ends it. */
const IN_PROGRESS = new Set(['queued', 'building', 'pushing', 'starting']);

/** Whether a deployment status is final (unknown statuses are: Scalingo's Go client counts them so). */
export function isFinishedStatus(status: string): boolean {
  return !IN_PROGRESS.has(status);
}

// ---------------------------------------------------------------------------
// Frames
// ---------------------------------------------------------------------------

/** A server frame, as far as the follower cares. */
export type StreamFrame =
  | { type: 'ping' }
  /** A deployment started. `deploymentId` is absent when the frame names none. */
  | { type: 'new'; deploymentId?: string }
  | { type: 'log'; deploymentId?: string; content: string }
  | { type: 'status'; deploymentId?: string; status: string }
  /** A frame of a type this module does not know, or a known type without its data. */
  | { type: 'other'; name: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function idOf(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/**
 * Reads one text frame. Undefined when it is not a JSON object with a string `type`.
 * `new` accepts `data.deployment` as an object with an `id` (what the CLI parses) or as a bare id (what the docs
 * show), and falls back to the frame's `id`.
 */
export function parseFrame(text: string): StreamFrame | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(value) || typeof value.type !== 'string') return undefined;
  const data = isRecord(value.data) ? value.data : {};
  const id = idOf(value.id);
  switch (value.type) {
    case 'ping':
      return { type: 'ping' };
    case 'new': {
      const deployment = data.deployment;
      const deploymentId = (isRecord(deployment) ? idOf(deployment.id) : idOf(deployment)) ?? id;
      return deploymentId === undefined ? { type: 'new' } : { type: 'new', deploymentId };
    }
    case 'log':
      if (typeof data.content !== 'string') return { type: 'other', name: 'log' };
      return id === undefined ? { type: 'log', content: data.content } : { type: 'log', deploymentId: id, content: data.content };
    case 'status':
      if (typeof data.status !== 'string' || data.status === '') return { type: 'other', name: 'status' };
      return id === undefined ? { type: 'status', status: data.status } : { type: 'status', deploymentId: id, status: data.status };
    default:
      return { type: 'other', name: value.type };
  }
}

// ---------------------------------------------------------------------------
// Lines
// ---------------------------------------------------------------------------

function stripCarriageReturn(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/**
 * The lines of a complete output text: split on newlines, a carriage return before one dropped, a final newline
 * ending the last line (not starting an empty one), an unfinished last line counted as a line.
 */
export function outputLines(output: string): string[] {
  if (output === '') return [];
  const lines = output.split('\n').map(stripCarriageReturn);
  if (output.endsWith('\n')) lines.pop();
  return lines;
}

/**
 * The lines of the complete output that the stream did not show, given how many it showed: what to print once the
 * deployment is over when the stream was interrupted or left before the end.
 */
export function missingLines(output: string, alreadyEmitted: number): string[] {
  return outputLines(output).slice(Math.max(0, alreadyEmitted));
}

/**
 * Turns the `log` contents of one deployment into lines shown once, across connections. Each connection replays
 * the output from its start: lines are counted per connection, and only those beyond the number already shown are
 * new. Only finished lines count: the unfinished end of a content waits for the rest (it is thrown away when the
 * connection ends, as the next connection replays it whole), or for `flush()` when the deployment is over.
 */
export class LineDeduper {
  /** Lines shown so far, all connections together. */
  emitted = 0;
  /** Finished lines seen on the current connection. */
  private seen = 0;
  private partial = '';
  private lastEmitted: string | undefined;
  /** What had been shown when the current connection began, to check its replay against. */
  private check: { at: number; line: string } | undefined;
  /** Set when a replay disagreed with what was shown: lines may then be missing or repeated. */
  mismatch = false;

  /** A new connection: its replay starts from the first line again. */
  startConnection(): void {
    this.seen = 0;
    this.partial = '';
    this.check = this.emitted > 0 && this.lastEmitted !== undefined ? { at: this.emitted, line: this.lastEmitted } : undefined;
  }

  /** A `log` content; returns the lines to show now. */
  push(content: string): string[] {
    const parts = (this.partial + content).split('\n');
    this.partial = parts.pop() ?? '';
    return this.take(parts);
  }

  /** The deployment is over: its unfinished last line, if any, is a line. */
  flush(): string[] {
    if (this.partial === '') return [];
    const line = this.partial;
    this.partial = '';
    return this.take([line]);
  }

  private take(parts: string[]): string[] {
    const out: string[] = [];
    for (const part of parts) {
      const line = stripCarriageReturn(part);
      this.seen += 1;
      if (this.check && this.seen === this.check.at) {
        if (line !== this.check.line) this.mismatch = true;
        this.check = undefined;
      }
      if (this.seen > this.emitted) {
        this.emitted = this.seen;
        this.lastEmitted = line;
        out.push(line);
      }
    }
    return out;
  }
}

// ---------------------------------------------------------------------------
// The follower
// ---------------------------------------------------------------------------

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
  /** A deployment of the app started (any deployment: a concurrent one is worth knowing about). */
  onNewDeployment?: (deploymentId: string) => void;
  /** Diagnostics. Never given a token. */
  debug?: (message: string) => void;
  /** Sent as the User-Agent header (undici's own otherwise). */
  userAgent?: string;
  /** Aborting closes the follower, as `close()` does. */
  signal?: AbortSignal;
  timings?: Partial<StreamTimings>;
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
  if (isRecord(error) && typeof error.message === 'string') return error.message;
  return String(error);
}

const decoder = new TextDecoder();

/** Follows one deployment on the app's deployments stream. See the module's comment. */
export function followStream(options: FollowStreamOptions): StreamHandle {
  const timings: StreamTimings = { ...DEFAULT_STREAM_TIMINGS, ...options.timings };
  const where = describeUrl(options.url);
  const tokens = new Set<string>();
  const debug = (message: string): void => {
    if (!options.debug) return;
    let safe = message;
    for (const token of tokens) safe = safe.split(token).join('***');
    options.debug(`stream: ${safe}`);
  };

  // Sockets are created through our own connector so that one whose peer stopped answering can be destroyed:
  // the WebSocket's close() waits for the server's close frame, with no time limit.
  const sockets = new Set<Socket>();
  /** The sockets of the current attempt (attempts never overlap). */
  let attemptSockets = new Set<Socket>();
  const connect = buildConnector({});
  const agent = new Agent({
    connect: (connectOptions, callback) => {
      const owner = attemptSockets;
      connect(connectOptions, (error, socket) => {
        if (socket) {
          sockets.add(socket);
          owner.add(socket);
          socket.once('close', () => {
            sockets.delete(socket);
            owner.delete(socket);
          });
        }
        if (error) callback(error, null);
        else if (socket) callback(null, socket);
      });
    },
  });

  const lines = new LineDeduper();
  let state: StreamState = 'down';
  let stopped = false;
  let status: string | undefined;
  let interrupted = false;
  let connections = 0;
  let failuresInARow = 0;
  let shortInARow = 0;
  let endAttempt: ((why: string) => void) | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let settle!: { resolve: (outcome: StreamOutcome) => void; reject: (error: unknown) => void };
  const done = new Promise<StreamOutcome>((resolve, reject) => {
    settle = { resolve, reject };
  });

  const gapPossible = (): boolean => interrupted || lines.mismatch || (stopped && !(status !== undefined && isFinishedStatus(status)));

  const setState = (next: StreamState): void => {
    if (state === next) return;
    state = next;
    options.onState?.(next);
  };

  const teardown = (): void => {
    if (retryTimer) clearTimeout(retryTimer);
    options.signal?.removeEventListener('abort', onAbort);
    endAttempt?.('the follower stopped');
    // Let a socket that is closing say goodbye, then destroy what is left.
    setTimeout(() => {
      for (const open of sockets) open.destroy();
      void agent.destroy().catch(() => undefined);
    }, timings.closeGraceMs).unref();
  };

  const stop = (end: StreamOutcome['end'], error?: unknown): void => {
    if (stopped) return;
    stopped = true;
    teardown();
    const outcome: StreamOutcome = { end, linesEmitted: lines.emitted, gapPossible: gapPossible(), connections };
    if (status !== undefined) outcome.status = status;
    debug(`stopped (${end}) after ${connections} connection(s), ${lines.emitted} line(s) shown${outcome.gapPossible ? ', lines may be missing' : ''}`);
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
          for (const line of lines.flush()) {
            if (!call(() => options.onLine(line))) return;
          }
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
    retryTimer = setTimeout(() => {
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
      scheduleRetry();
      return;
    }
    if (stopped) return;
    if (token) tokens.add(token);

    const mine = new Set<Socket>();
    attemptSockets = mine;
    let ws: WebSocket;
    try {
      const headers: Record<string, string> = { Origin: STREAM_ORIGIN };
      if (options.userAgent) headers['User-Agent'] = options.userAgent;
      ws = new WebSocket(options.url, { headers, dispatcher: agent });
    } catch (error) {
      // An invalid URL: trying again will not help.
      debug(`cannot connect to ${where}: ${messageOf(error)}`);
      stop('gave-up');
      return;
    }
    ws.binaryType = 'arraybuffer';
    const startedAt = Date.now();
    let framed = false;
    let ended = false;
    let silence: NodeJS.Timeout | undefined;
    lines.startConnection();
    debug(`connection ${number} to ${where}`);

    const armSilence = (): void => {
      if (silence) clearTimeout(silence);
      silence = setTimeout(() => finish(`no frame for ${timings.silenceMs} ms`), timings.silenceMs);
    };

    const finish = (why: string): void => {
      if (ended) return;
      ended = true;
      if (silence) clearTimeout(silence);
      ws.removeEventListener('open', onOpen);
      ws.removeEventListener('message', onMessage);
      ws.removeEventListener('close', onClose);
      ws.removeEventListener('error', onError);
      if (endAttempt === finish) endAttempt = undefined;
      try {
        ws.close(1000);
      } catch {
        // Already closing.
      }
      if (mine.size > 0) {
        setTimeout(() => {
          for (const open of mine) open.destroy();
        }, timings.closeGraceMs).unref();
      }
      if (stopped) return;
      const lasted = Date.now() - startedAt;
      debug(`connection ${number} ended: ${why}`);
      if (framed) {
        failuresInARow = 0;
        interrupted = true;
      } else {
        failuresInARow += 1;
      }
      shortInARow = framed && lasted >= timings.stableMs ? 0 : shortInARow + 1;
      setState('down');
      scheduleRetry();
    };
    endAttempt = finish;

    function onOpen(): void {
      if (ended) return;
      armSilence();
      ws.send(JSON.stringify({ type: 'auth', data: { token } }));
      debug(`connection ${number} open, authentication sent`);
    }
    function onMessage(event: MessageEvent): void {
      if (ended || stopped) return;
      armSilence();
      if (!framed) {
        framed = true;
        failuresInARow = 0;
        if (!call(() => setState('live'))) return;
      }
      const data: unknown = event.data;
      const text = typeof data === 'string' ? data : data instanceof ArrayBuffer ? decoder.decode(data) : undefined;
      const frame = text === undefined ? undefined : parseFrame(text);
      if (!frame) {
        debug(`connection ${number}: ignored a frame that is not a JSON event`);
        return;
      }
      handleFrame(frame);
    }
    function onClose(event: CloseEvent): void {
      finish(`closed by the server (code ${event.code}${event.reason ? `, ${event.reason}` : ''})`);
    }
    function onError(event: ErrorEvent): void {
      // undici 6 fires `error` without `close` when the handshake fails (refused, or an HTTP status instead of 101).
      finish(event.message || 'error');
    }
    ws.addEventListener('open', onOpen);
    ws.addEventListener('message', onMessage);
    ws.addEventListener('close', onClose);
    ws.addEventListener('error', onError);
    armSilence();
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
