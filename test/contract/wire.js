// @ts-check
/**
 * @file Raw HTTP and WebSocket calls, so that an answer is seen as sent: status, headers, body text, the kind of body.
 * Shared by the contract test (against the fake) and the live suite (against Scalingo, or whatever it is pointed at).
 * Nothing is retried, nothing is interpreted.
 */
import { request } from 'undici';
import WebSocket from 'ws';

/**
 * @typedef {object} RawAnswer
 * @property {string} method
 * @property {string} path Path and query, as sent.
 * @property {number} status
 * @property {Record<string, string>} headers Lower-cased names.
 * @property {string} text
 * @property {'json' | 'text' | 'empty'} content `json` when the body parses as a JSON object or list.
 * @property {unknown} body The parsed JSON, else the text.
 * @property {number} ms
 */

/**
 * @param {string} text
 * @returns {{ content: RawAnswer['content'], body: unknown }}
 */
export function readBody(text) {
  if (text === '') return { content: 'empty', body: '' };
  try {
    const value = JSON.parse(text);
    if (typeof value === 'object' && value !== null) return { content: 'json', body: value };
  } catch {
    // not JSON
  }
  return { content: 'text', body: text };
}

/**
 * One HTTP request, its answer as sent.
 * @param {string} base Scheme and host (a path prefix is kept).
 * @param {string} method
 * @param {string} path
 * @param {{ authorization?: string, body?: unknown, timeoutMs?: number, accept?: string }} [options]
 * @returns {Promise<RawAnswer>}
 */
export async function call(base, method, path, options = {}) {
  const started = Date.now();
  /** @type {Record<string, string>} */
  const headers = { accept: options.accept ?? 'application/json', 'user-agent': 'scalingo-deploy-contract' };
  if (options.authorization) headers.authorization = options.authorization;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const timeout = options.timeoutMs ?? 30_000;
  const res = await request(`${base.replace(/\/+$/, '')}${path}`, {
    method: /** @type {import('undici').Dispatcher.HttpMethod} */ (method),
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    headersTimeout: timeout,
    bodyTimeout: timeout,
  });
  const text = await res.body.text();
  /** @type {Record<string, string>} */
  const flat = {};
  for (const [name, value] of Object.entries(res.headers)) {
    if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return { method, path, status: res.statusCode, headers: flat, text, ...readBody(text), ms: Date.now() - started };
}

/** `Authorization: Basic` with an empty user name and the API token as password, as Scalingo's token exchange takes. */
export const basic = (/** @type {string} */ token) => `Basic ${Buffer.from(`:${token}`).toString('base64')}`;

/**
 * @typedef {object} StreamFrame
 * @property {number} at Milliseconds since the socket opened.
 * @property {string} text The frame as received.
 * @property {unknown} json The parsed frame, or undefined.
 */

/**
 * @typedef {object} StreamSession
 * @property {'open' | 'refused' | 'error'} outcome How the upgrade went.
 * @property {number | undefined} httpStatus The upgrade's HTTP status when refused (101 when open).
 * @property {string | undefined} refusal The refusal's body, or the error.
 * @property {StreamFrame[]} frames Every server frame, in order.
 * @property {{ code: number, reason: string, at: number } | undefined} closed
 * @property {(text: string) => void} send
 * @property {(predicate: (frame: StreamFrame) => boolean, timeoutMs: number) => Promise<StreamFrame | undefined>} waitFor
 *   The first frame (received already or later) that matches, or undefined when the time is up or the socket closed.
 * @property {(ms: number) => Promise<void>} keepOpen Waits, unless the socket closes first.
 * @property {() => Promise<void>} close
 */

/**
 * Opens a WebSocket as Scalingo's deployments stream is opened, and records what comes back.
 * @param {string} url
 * @param {{ origin?: string, timeoutMs?: number }} [options] `origin`: the Origin header, none when absent.
 * @returns {Promise<StreamSession>}
 */
export function openStream(url, options = {}) {
  return new Promise((resolve) => {
    const opened = Date.now();
    /** @type {StreamFrame[]} */
    const frames = [];
    /** @type {Set<() => void>} */
    const watchers = new Set();
    const ws = new WebSocket(url, {
      ...(options.origin !== undefined && { origin: options.origin }),
      handshakeTimeout: options.timeoutMs ?? 15_000,
    });
    /** @type {StreamSession} */
    const session = {
      outcome: 'error',
      httpStatus: undefined,
      refusal: undefined,
      frames,
      closed: undefined,
      send: (text) => ws.send(text),
      waitFor(predicate, timeoutMs) {
        const found = frames.find(predicate);
        if (found || session.closed) return Promise.resolve(found);
        return new Promise((done) => {
          const check = () => {
            const hit = frames.find(predicate);
            if (hit || session.closed) finish(hit);
          };
          const timer = setTimeout(() => finish(undefined), timeoutMs);
          /** @param {StreamFrame | undefined} frame */
          const finish = (frame) => {
            clearTimeout(timer);
            watchers.delete(check);
            done(frame);
          };
          watchers.add(check);
        });
      },
      keepOpen(ms) {
        return new Promise((done) => {
          if (session.closed) {
            done();
            return;
          }
          const check = () => {
            if (!session.closed) return;
            clearTimeout(timer);
            watchers.delete(check);
            done();
          };
          const timer = setTimeout(() => {
            watchers.delete(check);
            done();
          }, ms);
          watchers.add(check);
        });
      },
      close() {
        if (session.closed || ws.readyState === ws.CLOSED) return Promise.resolve();
        return new Promise((done) => {
          const timer = setTimeout(() => {
            ws.terminate();
            done();
          }, 2_000);
          ws.once('close', () => {
            clearTimeout(timer);
            done();
          });
          ws.close(1000);
        });
      },
    };
    const notify = () => {
      for (const watcher of [...watchers]) watcher();
    };
    ws.on('open', () => {
      session.outcome = 'open';
      session.httpStatus = 101;
      resolve(session);
    });
    ws.on('message', (data) => {
      const text = data.toString();
      /** @type {unknown} */
      let json;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      frames.push({ at: Date.now() - opened, text, json });
      notify();
    });
    ws.on('unexpected-response', (_req, res) => {
      session.outcome = 'refused';
      session.httpStatus = res.statusCode;
      /** @type {Buffer[]} */
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => {
        session.refusal = Buffer.concat(chunks).toString('utf8').slice(0, 500);
        session.closed = { code: 0, reason: 'refused', at: Date.now() - opened };
        resolve(session);
      });
      res.on('error', () => resolve(session));
    });
    ws.on('error', (error) => {
      if (session.outcome === 'refused') return;
      session.refusal = error.message;
      if (session.outcome !== 'open') {
        session.closed = { code: 0, reason: error.message, at: Date.now() - opened };
        resolve(session);
      }
    });
    ws.on('close', (code, reason) => {
      session.closed ??= { code, reason: reason.toString(), at: Date.now() - opened };
      notify();
    });
  });
}
