/**
 * One connection to Scalingo's deployments stream: the WebSocket, its authentication frame, the silence watch, and
 * sockets that can be destroyed when the server stops answering. The follower (stream.ts) decides what to do when a
 * connection ends; this module only reports it, once.
 */
import type { Socket } from 'node:net';
import { Agent, WebSocket, buildConnector, type CloseEvent, type ErrorEvent, type MessageEvent } from 'undici';
import { STREAM_ORIGIN, parseFrame, type StreamFrame } from './stream-frames.js';
import type { StreamClock } from './stream-types.js';

/** Lets a timer of the clock not keep the process alive, when it can (Node's timers; a virtual clock's cannot). */
function unref(handle: unknown): void {
  if (typeof handle !== 'object' || handle === null) return;
  const timer = handle as { unref?: unknown };
  if (typeof timer.unref === 'function') (timer as { unref(): void }).unref();
}

/**
 * An undici agent whose sockets are tracked per connection, so that a socket whose peer stopped answering can be
 * destroyed: the WebSocket's close() waits for the server's close frame with no time limit.
 */
export class SocketPool {
  readonly all = new Set<Socket>();
  /** The sockets of the connection being opened (connections never overlap). */
  current = new Set<Socket>();
  readonly agent: Agent;

  constructor(private readonly clock: StreamClock) {
    const connect = buildConnector({});
    this.agent = new Agent({
      connect: (connectOptions, callback) => {
        const owner = this.current;
        connect(connectOptions, (error, socket) => {
          if (socket) {
            this.all.add(socket);
            owner.add(socket);
            socket.once('close', () => {
              this.all.delete(socket);
              owner.delete(socket);
            });
          }
          if (error) callback(error, null);
          else if (socket) callback(null, socket);
        });
      },
    });
  }

  /** Destroys every socket left after `graceMs`, and the agent. */
  destroyLater(graceMs: number): void {
    unref(
      this.clock.setTimeout(() => {
        for (const open of this.all) open.destroy();
        void this.agent.destroy().catch(() => undefined);
      }, graceMs),
    );
  }
}

export interface ConnectionOptions {
  url: string;
  /** Where the URL points, without credentials, for messages. */
  where: string;
  token: string;
  /** The connection's number, for messages. */
  number: number;
  userAgent?: string;
  pool: SocketPool;
  /** What the silence, the close grace and the connection's length are measured on. */
  clock: StreamClock;
  silenceMs: number;
  closeGraceMs: number;
  debug: (message: string) => void;
  /** The first frame of the connection arrived; false stops reading it. */
  onFirstFrame: () => boolean;
  onFrame: (frame: StreamFrame) => void;
  /** Called once when the connection ends, whatever ended it (not when `new WebSocket` threw). */
  onEnded: (why: string, framed: boolean, lastedMs: number) => void;
  /** Whether the follower has stopped (then frames are ignored). */
  stopped: () => boolean;
}

export interface Connection {
  /** Ends the connection (idempotent); `onEnded` is called. */
  end(why: string): void;
}

const decoder = new TextDecoder();

/** Opens one connection. Throws only when the URL is unusable (trying again will not help). */
export function openConnection(o: ConnectionOptions): Connection {
  const mine = new Set<Socket>();
  o.pool.current = mine;
  const headers: Record<string, string> = { Origin: STREAM_ORIGIN };
  if (o.userAgent) headers['User-Agent'] = o.userAgent;
  const ws = new WebSocket(o.url, { headers, dispatcher: o.pool.agent });
  ws.binaryType = 'arraybuffer';
  const clock = o.clock;
  const startedAt = clock.now();
  let framed = false;
  let ended = false;
  let silence: unknown;

  const armSilence = (): void => {
    if (silence !== undefined) clock.clearTimeout(silence);
    silence = clock.setTimeout(() => end(`no frame for ${o.silenceMs} ms`), o.silenceMs);
  };

  function end(why: string): void {
    if (ended) return;
    ended = true;
    if (silence !== undefined) clock.clearTimeout(silence);
    ws.removeEventListener('open', onOpen);
    ws.removeEventListener('message', onMessage);
    ws.removeEventListener('close', onClose);
    ws.removeEventListener('error', onError);
    try {
      ws.close(1000);
    } catch {
      // Already closing.
    }
    if (mine.size > 0) {
      unref(
        clock.setTimeout(() => {
          for (const open of mine) open.destroy();
        }, o.closeGraceMs),
      );
    }
    o.onEnded(why, framed, clock.now() - startedAt);
  }

  function onOpen(): void {
    if (ended) return;
    armSilence();
    ws.send(JSON.stringify({ type: 'auth', data: { token: o.token } }));
    o.debug(`connection ${o.number} open, authentication sent`);
  }
  function onMessage(event: MessageEvent): void {
    if (ended || o.stopped()) return;
    armSilence();
    if (!framed) {
      framed = true;
      if (!o.onFirstFrame()) return;
    }
    const data: unknown = event.data;
    const text = typeof data === 'string' ? data : data instanceof ArrayBuffer ? decoder.decode(data) : undefined;
    const frame = text === undefined ? undefined : parseFrame(text);
    if (!frame) {
      o.debug(`connection ${o.number}: ignored a frame that is not a JSON event`);
      return;
    }
    o.onFrame(frame);
  }
  function onClose(event: CloseEvent): void {
    end(`closed by the server (code ${event.code}${event.reason ? `, ${event.reason}` : ''})`);
  }
  function onError(event: ErrorEvent): void {
    // undici 6 fires `error` without `close` when the handshake fails (refused, or an HTTP status instead of 101).
    end(event.message || 'error');
  }
  ws.addEventListener('open', onOpen);
  ws.addEventListener('message', onMessage);
  ws.addEventListener('close', onClose);
  ws.addEventListener('error', onError);
  o.debug(`connection ${o.number} to ${o.where}`);
  armSilence();
  return { end };
}
