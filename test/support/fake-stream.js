// @ts-check
/**
 * @file A fake of Scalingo's deployments stream: a real WebSocket server (the `ws` package) serving `/apps/<app>`.
 *
 * It behaves like the real one as far as Scalingo's clients and docs show: the client sends the header
 * `Origin: http://scalingo-cli.local/1` and, as its first frame, `{"type":"auth","data":{"token":"<bearer>"}}`; there
 * is no acknowledgement, a bad token makes the server close the socket. Server frames are `{"type","id","data"}`:
 * `ping`, `new`, `log` and `status`, for every deployment of the app. On authentication the server replays the
 * output written so far, then sends events live, and pings every `pingIntervalMs`.
 *
 * Tests drive it with `newDeployment()`, `log()` and `status()` (sent to every authenticated socket of the app),
 * break it with fault rules (`refuse`, `reset`, `drop`, `silence`, `bad-token`) and read its counters.
 *
 * `attachStream(server)` serves the stream on an existing node:http server (through its `upgrade` event), so the
 * fake Scalingo API can carry it; `startFakeStream()` runs it alone on 127.0.0.1.
 */
import { once } from 'node:events';
import http from 'node:http';
import { WebSocketServer } from 'ws';

/** What Scalingo's Go client sends, and what this fake expects by default. */
export const STREAM_ORIGIN = 'http://scalingo-cli.local/1';

/**
 * @typedef {object} FakeStreamOptions
 * @property {(token: string, app: string) => boolean} [isValidToken] Whether an auth frame's token is accepted
 *   (default: any non-empty string).
 * @property {string | null} [origin] The Origin header required on the upgrade request, else 403
 *   (default `STREAM_ORIGIN`; null accepts any, or none).
 * @property {number} [pingIntervalMs] Pings to each authenticated socket (default 20 000; 0: none).
 * @property {number} [authTimeoutMs] A socket that sends no auth frame within this is closed (default 5 000).
 * @property {'chunks' | 'whole' | 'none'} [replay] On authentication, send the output written so far: as the
 *   chunks it was written in (default), as one content per deployment, or not at all.
 * @property {boolean} [replayStatus] Also replay each deployment's last status (default false).
 */

/**
 * A fault rule, consumed by the connections it fires on (matched in the order given).
 * - `refuse`: answer the upgrade request with an HTTP error (`status`, default 403).
 * - `reset`: destroy the TCP connection on the upgrade request.
 * - `bad-token`: close the socket right after the auth frame, whatever the token.
 * - `drop`: once `afterLines` lines (default 0) were sent on the connection (replay included), drop it: `how`
 *   `terminate` (default: no close frame, as a lost connection) or `close` (a close frame, code 1001).
 * - `silence`: once `afterFrames` frames (default 0) were sent after authentication, send nothing more, pings
 *   included, ignore what the client sends (close frames too), and keep the connection open.
 * @typedef {object} StreamFaultRule
 * @property {'refuse' | 'reset' | 'bad-token' | 'drop' | 'silence'} kind
 * @property {string} [app] Only connections to this app.
 * @property {number} [times] Connections it fires on (default 1; Infinity allowed).
 * @property {number} [status] `refuse`: the HTTP status.
 * @property {number} [afterLines] `drop`.
 * @property {'terminate' | 'close'} [how] `drop`.
 * @property {number} [afterFrames] `silence`.
 */

/**
 * @typedef {object} UpgradeRecord
 * @property {string} app
 * @property {string | undefined} origin
 * @property {string | undefined} authorization
 * @property {string | undefined} userAgent
 * @property {number} at
 * @property {StreamFaultRule['kind']} [fault] The fault that fired on this connection.
 */

/**
 * @typedef {object} AuthRecord
 * @property {string} app
 * @property {unknown} frame The parsed first frame (the raw text when it is not JSON).
 * @property {string | undefined} token
 * @property {boolean} accepted
 * @property {number} at
 */

/**
 * @typedef {object} FakeStream
 * @property {(app: string) => string} urlFor The stream URL of an app (`ws://127.0.0.1:<port>/apps/<app>`).
 * @property {(rule: StreamFaultRule) => void} fault Adds a fault rule.
 * @property {(app: string, id: string, options?: { bareId?: boolean, deployment?: Record<string, unknown> }) => void}
 *   newDeployment Sends `new`: `data.deployment` is the `deployment` object given, else `{id, status: 'queued'}`, or
 *   the bare id with `bareId`.
 * @property {(app: string, id: string, content: string, options?: { line?: boolean }) => void} log Records output and
 *   sends it as `log`, as is. With `line`, the content is one whole line sent without its newline: the output
 *   recorded (`output()`, `outputOf()`, the `whole` replay) and the line count of `drop` faults have it as a line.
 * @property {(app: string, id: string, status: string) => void} status Records a status and sends it.
 * @property {(app: string, frame: unknown) => void} sendRaw Sends a frame as is (a string) or as JSON to every
 *   authenticated socket of the app, without recording it.
 * @property {(app?: string) => void} dropAll Terminates every connection (of one app).
 * @property {(app: string) => string} output The output written so far for an app, all deployments together.
 * @property {(app: string, id: string) => string} outputOf The output written so far for one deployment.
 * @property {UpgradeRecord[]} upgrades Every upgrade request, in order.
 * @property {AuthRecord[]} auths Every first frame received, in order.
 * @property {() => number} openConnections Connections currently open (authenticated or not).
 * @property {() => number} authenticated Sockets currently authenticated.
 * @property {() => { connections: number, authFrames: number, origins: (string | undefined)[] }} counters
 * @property {() => Promise<void>} close Closes every connection and detaches from the server.
 */

/**
 * @typedef {object} Connection
 * @property {string} app
 * @property {import('ws').WebSocket} ws
 * @property {import('node:stream').Duplex} socket
 * @property {boolean} authenticated
 * @property {StreamFaultRule | undefined} fault
 * @property {number} linesSent
 * @property {number} framesSent Frames sent after authentication.
 * @property {boolean} silent Nothing more is sent (silence fault, or a drop under way).
 * @property {NodeJS.Timeout | undefined} ping
 * @property {NodeJS.Timeout | undefined} authTimer
 */

/**
 * @typedef {object} AppHistory
 * @property {{ id: string, content: string, line: boolean }[]} chunks Every `log` written, in order (`line`: a whole
 *   line sent without its newline).
 * @property {Map<string, string>} statuses Last status of each deployment.
 */

const PATH = /^\/apps\/([^/?#]+)\/?$/;

/**
 * @param {import('node:stream').Duplex} socket
 * @param {number} status
 */
function refuseUpgrade(socket, status) {
  const reason = http.STATUS_CODES[status] ?? 'Error';
  const body = JSON.stringify({ error: reason.toLowerCase() });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * @param {string} text
 * @returns {number}
 */
function countLines(text) {
  let count = 0;
  for (const char of text) if (char === '\n') count += 1;
  return count;
}

/**
 * The output text a chunk stands for: a line sent without its newline has it back.
 * @param {{ content: string, line: boolean }} chunk
 */
const textOf = (chunk) => (chunk.line ? `${chunk.content}\n` : chunk.content);

/**
 * Serves the deployments stream on an existing HTTP server, on `/apps/<app>` upgrade requests (others get a 404).
 * @param {http.Server} server Listening, or about to: `urlFor()` reads its address when called.
 * @param {FakeStreamOptions} [options]
 * @returns {FakeStream}
 */
export function attachStream(server, options = {}) {
  const isValidToken = options.isValidToken ?? ((token) => token !== '');
  const requiredOrigin = options.origin === undefined ? STREAM_ORIGIN : options.origin;
  const pingIntervalMs = options.pingIntervalMs ?? 20_000;
  const authTimeoutMs = options.authTimeoutMs ?? 5_000;
  const replay = options.replay ?? 'chunks';
  const wss = new WebSocketServer({ noServer: true });

  /** @type {Set<Connection>} */
  const connections = new Set();
  /** @type {Map<string, AppHistory>} */
  const histories = new Map();
  /** @type {{ rule: StreamFaultRule, fired: number }[]} */
  const faults = [];
  /** @type {UpgradeRecord[]} */
  const upgrades = [];
  /** @type {AuthRecord[]} */
  const auths = [];

  /** @param {string} app */
  const history = (app) => {
    let found = histories.get(app);
    if (!found) {
      found = { chunks: [], statuses: new Map() };
      histories.set(app, found);
    }
    return found;
  };

  /**
   * @param {string} app
   * @returns {StreamFaultRule | undefined}
   */
  const takeFault = (app) => {
    for (const entry of faults) {
      if (entry.rule.app !== undefined && entry.rule.app !== app) continue;
      if (entry.fired >= (entry.rule.times ?? 1)) continue;
      entry.fired += 1;
      return entry.rule;
    }
    return undefined;
  };

  /** @param {Connection} conn */
  const stopTimers = (conn) => {
    clearInterval(conn.ping);
    clearTimeout(conn.authTimer);
  };

  /**
   * Sends one frame, applying the connection's fault. Returns false once the connection is gone or silent.
   * @param {Connection} conn
   * @param {string} text
   * @param {number} lines Lines the frame carries.
   */
  const send = (conn, text, lines = 0) => {
    if (conn.silent || conn.ws.readyState !== conn.ws.OPEN) return false;
    const fault = conn.fault;
    if (fault?.kind === 'silence' && conn.framesSent >= (fault.afterFrames ?? 0)) {
      goSilent(conn);
      return false;
    }
    conn.framesSent += 1;
    conn.linesSent += lines;
    if (fault?.kind === 'drop' && conn.linesSent >= (fault.afterLines ?? 0)) {
      // Drop once this frame is written out, so that the client surely gets it.
      conn.silent = true;
      conn.ws.send(text, () => drop(conn, fault.how ?? 'terminate'));
      return false;
    }
    conn.ws.send(text);
    return true;
  };

  /** @param {Connection} conn */
  const goSilent = (conn) => {
    conn.silent = true;
    stopTimers(conn);
    // Read and discard what the client sends, close frames included, so nothing is answered; a closed TCP
    // connection is still noticed.
    conn.socket.removeAllListeners('data');
    conn.socket.on('data', () => undefined);
  };

  /**
   * @param {Connection} conn
   * @param {'terminate' | 'close'} how
   */
  const drop = (conn, how) => {
    stopTimers(conn);
    if (how === 'close') conn.ws.close(1001, 'going away');
    else conn.ws.terminate();
  };

  /**
   * @param {string} app
   * @param {string} text
   * @param {number} [lines]
   */
  const broadcast = (app, text, lines = 0) => {
    for (const conn of connections) {
      if (conn.app === app && conn.authenticated) send(conn, text, lines);
    }
  };

  /** @param {Connection} conn */
  const replayTo = (conn) => {
    const past = history(conn.app);
    if (replay === 'chunks') {
      for (const chunk of past.chunks) {
        if (
          !send(
            conn,
            JSON.stringify({ type: 'log', id: chunk.id, data: { content: chunk.content } }),
            countLines(textOf(chunk)),
          )
        )
          return;
      }
    } else if (replay === 'whole') {
      /** @type {Map<string, string>} */
      const whole = new Map();
      for (const chunk of past.chunks) whole.set(chunk.id, (whole.get(chunk.id) ?? '') + textOf(chunk));
      for (const [id, content] of whole) {
        if (!send(conn, JSON.stringify({ type: 'log', id, data: { content } }), countLines(content))) return;
      }
    }
    if (options.replayStatus) {
      for (const [id, status] of past.statuses) {
        if (!send(conn, JSON.stringify({ type: 'status', id, data: { status } }))) return;
      }
    }
  };

  /**
   * @param {Connection} conn
   * @param {import('ws').RawData} data
   */
  const onFirstFrame = (conn, data) => {
    clearTimeout(conn.authTimer);
    const text = data.toString();
    /** @type {unknown} */
    let frame = text;
    try {
      frame = JSON.parse(text);
    } catch {
      // Recorded as text.
    }
    const token =
      typeof frame === 'object' &&
      frame !== null &&
      'type' in frame &&
      frame.type === 'auth' &&
      'data' in frame &&
      typeof frame.data === 'object' &&
      frame.data !== null &&
      'token' in frame.data &&
      typeof frame.data.token === 'string'
        ? frame.data.token
        : undefined;
    const accepted = conn.fault?.kind !== 'bad-token' && token !== undefined && isValidToken(token, conn.app);
    auths.push({ app: conn.app, frame, token, accepted, at: Date.now() });
    if (!accepted) {
      // "On authentication error, the websocket will be ended immediately."
      conn.ws.close(1000);
      return;
    }
    conn.authenticated = true;
    if (pingIntervalMs > 0) {
      conn.ping = setInterval(
        () => send(conn, JSON.stringify({ type: 'ping', data: { ts: Math.floor(Date.now() / 1000) } })),
        pingIntervalMs,
      );
    }
    if (conn.fault?.kind === 'silence' && (conn.fault.afterFrames ?? 0) === 0) {
      goSilent(conn);
      return;
    }
    if (conn.fault?.kind === 'drop' && (conn.fault.afterLines ?? 0) === 0) {
      drop(conn, conn.fault.how ?? 'terminate');
      return;
    }
    replayTo(conn);
  };

  /**
   * @param {http.IncomingMessage} request
   * @param {import('node:stream').Duplex} socket
   * @param {Buffer} head
   */
  const onUpgrade = (request, socket, head) => {
    const match = PATH.exec(new URL(request.url ?? '/', 'http://localhost').pathname);
    if (!match?.[1]) {
      refuseUpgrade(socket, 404);
      return;
    }
    const app = decodeURIComponent(match[1]);
    /** @type {UpgradeRecord} */
    const record = {
      app,
      origin: request.headers.origin,
      authorization: request.headers.authorization,
      userAgent: request.headers['user-agent'],
      at: Date.now(),
    };
    upgrades.push(record);
    const fault = takeFault(app);
    if (fault) record.fault = fault.kind;
    if (fault?.kind === 'refuse') {
      refuseUpgrade(socket, fault.status ?? 403);
      return;
    }
    if (fault?.kind === 'reset') {
      socket.destroy();
      return;
    }
    if (requiredOrigin !== null && request.headers.origin !== requiredOrigin) {
      refuseUpgrade(socket, 403);
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      /** @type {Connection} */
      const conn = {
        app,
        ws,
        socket,
        authenticated: false,
        fault,
        linesSent: 0,
        framesSent: 0,
        silent: false,
        ping: undefined,
        authTimer: undefined,
      };
      connections.add(conn);
      conn.authTimer = setTimeout(() => ws.close(1008, 'no authentication'), authTimeoutMs);
      ws.once('message', (data) => onFirstFrame(conn, data));
      ws.on('error', () => undefined);
      ws.on('close', () => {
        stopTimers(conn);
        connections.delete(conn);
      });
    });
  };

  server.on('upgrade', onUpgrade);

  return {
    urlFor(app) {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('the server does not listen on a TCP port');
      return `ws://127.0.0.1:${address.port}/apps/${encodeURIComponent(app)}`;
    },
    fault(rule) {
      faults.push({ rule, fired: 0 });
    },
    newDeployment(app, id, newOptions = {}) {
      const deployment = newOptions.bareId ? id : (newOptions.deployment ?? { id, status: 'queued' });
      broadcast(app, JSON.stringify({ type: 'new', data: { deployment } }));
    },
    log(app, id, content, logOptions = {}) {
      const chunk = { id, content, line: logOptions.line ?? false };
      history(app).chunks.push(chunk);
      broadcast(app, JSON.stringify({ type: 'log', id, data: { content } }), countLines(textOf(chunk)));
    },
    status(app, id, status) {
      history(app).statuses.set(id, status);
      broadcast(app, JSON.stringify({ type: 'status', id, data: { status } }));
    },
    sendRaw(app, frame) {
      broadcast(app, typeof frame === 'string' ? frame : JSON.stringify(frame));
    },
    dropAll(app) {
      for (const conn of connections) if (app === undefined || conn.app === app) drop(conn, 'terminate');
    },
    output(app) {
      return history(app).chunks.map(textOf).join('');
    },
    outputOf(app, id) {
      return history(app)
        .chunks.filter((chunk) => chunk.id === id)
        .map(textOf)
        .join('');
    },
    upgrades,
    auths,
    openConnections: () => connections.size,
    authenticated: () => [...connections].filter((conn) => conn.authenticated).length,
    counters: () => ({
      connections: upgrades.length,
      authFrames: auths.length,
      origins: upgrades.map((record) => record.origin),
    }),
    async close() {
      server.off('upgrade', onUpgrade);
      for (const conn of connections) {
        stopTimers(conn);
        conn.ws.terminate();
      }
      connections.clear();
      await new Promise((resolve) => wss.close(() => resolve(undefined)));
    },
  };
}

/**
 * Runs the stream alone on 127.0.0.1, on a free port.
 * @param {FakeStreamOptions} [options]
 * @returns {Promise<FakeStream & { server: http.Server, url: string }>}
 */
export async function startFakeStream(options = {}) {
  const server = http.createServer((_request, response) => {
    response.writeHead(426, { 'Content-Type': 'text/plain' }).end('Upgrade Required');
  });
  const stream = attachStream(server, options);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the server does not listen on a TCP port');
  return {
    ...stream,
    server,
    url: `ws://127.0.0.1:${address.port}`,
    async close() {
      await stream.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(() => resolve(undefined)));
    },
  };
}
