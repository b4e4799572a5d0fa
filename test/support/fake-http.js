// @ts-check
/**
 * @file HTTP plumbing of the fake servers (fake-scalingo.js, fake-github.js): node:http servers on 127.0.0.1 that
 * record every request, route by method and path template, send JSON, text or HTML replies, and break chosen
 * requests by fault rules (error statuses, rate limits, delays, cut connections, malformed bodies). Nothing here
 * knows Scalingo or GitHub: the simulation behind a server is a `handle(call)` function.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

export const JSON_TYPE = 'application/json; charset=utf-8';
export const TEXT_TYPE = 'text/plain; charset=utf-8';
const HTML_TYPE = 'text/html; charset=utf-8';
const MALFORMED_JSON = '{"deployment": {"id": "abc", ';

/**
 * @typedef {object} RecordedRequest
 * @property {'auth' | 'api'} [service] Which fake Scalingo server received it (absent on fake GitHub).
 * @property {string} method
 * @property {string} path Pathname and query string, as received.
 * @property {unknown} body Parsed JSON; the raw text if it is not JSON; null when empty.
 * @property {Record<string, string>} headers Request headers, lower-cased names.
 * @property {number} at `Date.now()` at arrival.
 * @property {boolean} processed Whether the simulation handled it. False when a fault or the
 *   rate limiter answered in its place, or the connection was cut before it ran.
 * @property {FaultKind} [fault] Kind of the fault rule that fired on this request.
 * @property {number} [status] Status sent back; absent when the connection was dropped or left hanging.
 */

/**
 * @typedef {'status' | 'rate-limit' | 'reset-before' | 'reset-after' | 'delay' | 'hang-after'
 *   | 'html' | 'malformed-json' | 'unknown-status' | 'cut-body'} FaultKind
 */

/**
 * A fault rule. Fires on matching requests (all given matchers must match).
 * Kinds that answer in place of the simulation (the request is NOT processed):
 * `status`, `rate-limit`, `reset-before`, `html`, `malformed-json`.
 * Kinds that let the simulation process the request first: `delay`,
 * `reset-after`, `hang-after`, `unknown-status`, `cut-body` (the answer's headers and the first half of its body
 * are sent, with the full `content-length`, then the connection is lost).
 * @typedef {object} FaultRule
 * @property {FaultKind} kind
 * @property {'auth' | 'api'} [service] Fake Scalingo only: which server.
 * @property {string} [method] Case-insensitive.
 * @property {string | RegExp} [path] Exact pathname (no query string), or a RegExp searched in it.
 * @property {number} [times] How many times it fires (default 1; Infinity allowed).
 * @property {number} [after] Matching requests to let through before it first fires (default 0).
 * @property {number} [status] `status`: status to send; `html` (default 502), `malformed-json` (default 200).
 * @property {unknown} [body] `status`: an object is sent as JSON, a string as is (with `contentType`).
 *   Default: the service's usual error body for that status.
 * @property {string} [contentType] `status` with a string body (default text/plain).
 * @property {Record<string, string>} [headers] `status`: extra response headers, e.g. `{'retry-after': '1'}`.
 * @property {number} [retryAfter] `rate-limit`: adds a `Retry-After` header (seconds).
 * @property {number} [ms] `delay`: milliseconds to wait before processing and answering.
 * @property {string} [value] `unknown-status`: deployment status to put in the response.
 */

/**
 * What a handler answers. `json` is serialised; `text` is sent as is with `contentType`.
 * @typedef {object} Reply
 * @property {number} status
 * @property {unknown} [json]
 * @property {string} [text]
 * @property {string} [contentType]
 * @property {Record<string, string>} [headers]
 */

/**
 * A request as seen by a handler.
 * @typedef {object} IncomingCall
 * @property {string} method Upper case; HEAD is routed as GET.
 * @property {string} pathname
 * @property {URLSearchParams} query
 * @property {Record<string, string>} headers
 * @property {unknown} body Parsed JSON body, or null.
 * @property {boolean} invalidJson True when a JSON (or untyped) body was sent that does not parse.
 * @property {FaultRule} [fault] The fault that fired, when it lets the request be processed.
 */

/**
 * @typedef {object} RecordingServerConfig
 * @property {'auth' | 'api'} [service] Tag put on recorded requests and matched by fault rules.
 * @property {RecordedRequest[]} requests Shared log the server appends to.
 * @property {FaultInjector} faults
 * @property {(call: IncomingCall) => Reply} handle The simulation; may throw an HttpError.
 * @property {(status: number) => Reply} errorReply Default answer of a `status` fault without body.
 * @property {() => number | undefined} [rateLimitPerMinute] Read on each request; falsy = no limit. Counted per
 *   credential (the `authorization` header), over a rolling minute, as Scalingo counts per token.
 * @property {() => number | undefined} [rateLimitWindowMs] The window the limit counts over; default 60 s (tests scale
 *   it down).
 * @property {(record: RecordedRequest) => void} [onRequest] Called once the exchange is over.
 */

/** Thrown by handlers to answer early with an error. */
export class HttpError extends Error {
  /**
   * @param {number} status
   * @param {unknown} json
   */
  constructor(status, json) {
    super(`HTTP ${status}`);
    /** @type {Reply} */
    this.reply = { status, json };
  }
}

/**
 * @param {unknown} value
 * @returns {value is Record<string, unknown>}
 */
export function isObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Fault rules shared by one or more recording servers. */
export class FaultInjector {
  /** @type {{ rule: FaultRule, seen: number, fired: number }[]} */
  #entries = [];

  /** @param {FaultRule} rule */
  add(rule) {
    this.#entries.push({ rule, seen: 0, fired: 0 });
  }

  clear() {
    this.#entries = [];
  }

  /**
   * Counts the request against every rule it matches and returns the first rule that fires.
   * @param {{ service?: string, method: string, pathname: string }} request
   * @returns {FaultRule | undefined}
   */
  take(request) {
    /** @type {FaultRule | undefined} */
    let firing;
    for (const entry of this.#entries) {
      if (!ruleMatches(entry.rule, request)) continue;
      entry.seen += 1;
      const { times = 1, after = 0 } = entry.rule;
      if (!firing && entry.seen > after && entry.fired < times) {
        entry.fired += 1;
        firing = entry.rule;
      }
    }
    return firing;
  }
}

/**
 * @param {FaultRule} rule
 * @param {{ service?: string, method: string, pathname: string }} request
 */
function ruleMatches(rule, request) {
  if (rule.service !== undefined && rule.service !== request.service) return false;
  if (rule.method !== undefined && rule.method.toUpperCase() !== request.method) return false;
  if (rule.path === undefined) return true;
  // String#search ignores the lastIndex of global regexps.
  return typeof rule.path === 'string' ? rule.path === request.pathname : request.pathname.search(rule.path) >= 0;
}

/**
 * @typedef {object} RouteMeta
 * @property {'required' | 'optional' | 'none'} [auth] Authorization requirement (default 'required').
 */

/** @typedef {(call: IncomingCall, params: Record<string, string>) => Reply} RouteHandler */

/** Method + path-template routing (`/v1/apps/:app/deployments/:id`). */
export class Router {
  /** @type {{ methods: string[], regex: RegExp, names: string[], handler: RouteHandler, meta: RouteMeta }[]} */
  #routes = [];

  /**
   * @param {string} methods Space-separated, e.g. 'PATCH PUT'.
   * @param {string} template Path where `:name` segments capture parameters.
   * @param {RouteHandler} handler
   * @param {RouteMeta} [meta]
   * @returns {this}
   */
  on(methods, template, handler, meta = {}) {
    /** @type {string[]} */
    const names = [];
    const source = template
      .split('/')
      .map((segment) => {
        if (!segment.startsWith(':')) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        names.push(segment.slice(1));
        return '([^/]+)';
      })
      .join('/');
    this.#routes.push({ methods: methods.split(' '), regex: new RegExp(`^${source}$`), names, handler, meta });
    return this;
  }

  /**
   * @param {string} method
   * @param {string} pathname
   * @returns {{ handler: RouteHandler, meta: RouteMeta, params: Record<string, string> } | undefined}
   */
  match(method, pathname) {
    for (const route of this.#routes) {
      const found = route.regex.exec(pathname);
      if (!found || !route.methods.includes(method)) continue;
      try {
        const params = Object.fromEntries(route.names.map((name, i) => [name, decodeURIComponent(found[i + 1] ?? '')]));
        return { handler: route.handler, meta: route.meta, params };
      } catch {
        return undefined; // malformed percent-encoding
      }
    }
    return undefined;
  }
}

/**
 * Starts a node:http server on 127.0.0.1 (random port) that records every
 * request, applies fault rules and otherwise hands requests to `config.handle`.
 * @param {RecordingServerConfig} config
 * @returns {Promise<{ url: string, server: http.Server, close: () => Promise<void> }>}
 */
export async function startRecordingServer(config) {
  const limiter = new RollingRateLimiter();
  const closing = new AbortController();
  const server = http.createServer((req, res) => {
    serveRequest(config, limiter, closing.signal, req, res).catch((/** @type {unknown} */ error) => {
      if (closing.signal.aborted || res.headersSent || res.destroyed) return;
      res.writeHead(500, { 'content-type': JSON_TYPE });
      res.end(JSON.stringify({ error: `fake server failure: ${String(error)}` }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    url: `http://127.0.0.1:${port}`,
    /** The node:http server, for what rides on it (the deployments stream's WebSocket upgrades). */
    server,
    async close() {
      closing.abort();
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections(); // includes keep-alive and hanging requests
      await closed;
    },
  };
}

/**
 * @param {RecordingServerConfig} config
 * @param {RollingRateLimiter} limiter
 * @param {AbortSignal} closing
 * @param {http.IncomingMessage} req
 * @param {http.ServerResponse} res
 */
async function serveRequest(config, limiter, closing, req, res) {
  const method = (req.method ?? 'GET').toUpperCase();
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  /** @type {RecordedRequest} */
  const record = {
    ...(config.service && { service: config.service }),
    method,
    path: req.url ?? '/',
    body: null,
    headers: flattenHeaders(req.headers),
    at: Date.now(),
    processed: false,
  };
  config.requests.push(record);
  res.once('close', () => config.onRequest?.(record));

  const raw = await readBody(req);
  const { body, invalidJson } = parseBody(raw, record.headers['content-type']);
  record.body = body;

  const fault = config.faults.take({ service: config.service, method, pathname: url.pathname });
  if (fault) record.fault = fault.kind;
  switch (fault?.kind) {
    case 'reset-before':
      req.socket.destroy();
      return;
    case 'status':
      return sendReply(res, record, statusFaultReply(fault, config.errorReply));
    case 'rate-limit':
      return sendReply(res, record, rateLimitReply(fault.retryAfter));
    case 'html':
      return sendReply(res, record, htmlReply(fault.status ?? 502));
    case 'malformed-json':
      return sendReply(res, record, { status: fault.status ?? 200, text: MALFORMED_JSON, contentType: JSON_TYPE });
    case 'delay':
      try {
        await sleep(fault.ms ?? 0, undefined, { signal: closing });
      } catch {
        return; // the server is closing
      }
  }

  /** @type {IncomingCall} */
  const call = {
    method: method === 'HEAD' ? 'GET' : method,
    pathname: url.pathname,
    query: url.searchParams,
    headers: record.headers,
    body,
    invalidJson,
    ...(fault && { fault }),
  };
  const reply = simulate(config, limiter, record, call);
  if (fault?.kind === 'reset-after') {
    req.socket.destroy();
  } else if (fault?.kind === 'cut-body') {
    cutReply(res, record, reply);
  } else if (fault?.kind !== 'hang-after') {
    sendReply(res, record, reply);
  }
}

/**
 * Runs the simulation on a call, behind the optional rate limit.
 * @param {RecordingServerConfig} config
 * @param {RollingRateLimiter} limiter
 * @param {RecordedRequest} record
 * @param {IncomingCall} call
 * @returns {Reply}
 */
function simulate(config, limiter, record, call) {
  if (!limiter.allows(config.rateLimitPerMinute?.(), record.headers.authorization ?? '', config.rateLimitWindowMs?.()))
    return rateLimitReply();
  record.processed = true;
  try {
    return config.handle(call);
  } catch (error) {
    if (error instanceof HttpError) return error.reply;
    throw error;
  }
}

/**
 * @param {http.ServerResponse} res
 * @param {RecordedRequest} record
 * @param {Reply} reply
 */
function sendReply(res, record, reply) {
  if (res.destroyed) return; // the client gave up (e.g. during a delay)
  record.status = reply.status;
  /** @type {Record<string, string>} */
  const headers = { 'x-request-id': randomUUID(), ...reply.headers };
  let payload = '';
  if (reply.json !== undefined) {
    payload = JSON.stringify(reply.json);
    headers['content-type'] = JSON_TYPE;
  } else if (reply.text !== undefined) {
    payload = reply.text;
    headers['content-type'] = reply.contentType ?? TEXT_TYPE;
  }
  if (reply.status !== 204 && reply.status !== 304) headers['content-length'] = String(Buffer.byteLength(payload));
  res.writeHead(reply.status, headers);
  res.end(payload);
}

/**
 * The connection is lost in the middle of the answer: its headers (with the full `content-length`) and the first
 * half of its body are sent, then the socket is destroyed.
 * @param {http.ServerResponse} res
 * @param {RecordedRequest} record
 * @param {Reply} reply
 */
function cutReply(res, record, reply) {
  if (res.destroyed) return;
  record.status = reply.status;
  const payload = reply.json !== undefined ? JSON.stringify(reply.json) : (reply.text ?? '');
  const bytes = Buffer.from(payload.length > 1 ? payload : `${payload}  `, 'utf8');
  res.writeHead(reply.status, {
    'x-request-id': randomUUID(),
    ...reply.headers,
    'content-type': reply.json !== undefined ? JSON_TYPE : (reply.contentType ?? TEXT_TYPE),
    'content-length': String(bytes.length),
  });
  res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => res.socket?.destroy());
}

/**
 * @param {FaultRule} fault
 * @param {(status: number) => Reply} errorReply
 * @returns {Reply}
 */
function statusFaultReply(fault, errorReply) {
  const status = fault.status ?? 500;
  const headers = fault.headers ?? {};
  if (typeof fault.body === 'string')
    return { status, text: fault.body, contentType: fault.contentType ?? TEXT_TYPE, headers };
  if (fault.body !== undefined) return { status, json: fault.body, headers };
  const reply = errorReply(status);
  return { ...reply, headers: { ...reply.headers, ...headers } };
}

/**
 * Scalingo's documented 429: a plain-text body.
 * @param {number} [retryAfter]
 * @returns {Reply}
 */
export function rateLimitReply(retryAfter) {
  return {
    status: 429,
    text: 'Retry later',
    contentType: TEXT_TYPE,
    ...(retryAfter !== undefined && { headers: { 'retry-after': String(retryAfter) } }),
  };
}

/**
 * The kind of page a load balancer answers with.
 * @param {number} status
 * @returns {Reply}
 */
function htmlReply(status) {
  const title = `${status} ${http.STATUS_CODES[status] ?? 'Error'}`;
  return { status, text: `<html><body><h1>${title}</h1></body></html>`, contentType: HTML_TYPE };
}

/** Rolling one-minute window over the requests it let through, per credential. */
class RollingRateLimiter {
  /** @type {Map<string, number[]>} */
  #accepted = new Map();

  /**
   * @param {number | undefined} perMinute
   * @param {string} key The credential the request carries.
   * @param {number} [windowMs] Default one minute.
   * @returns {boolean}
   */
  allows(perMinute, key, windowMs = 60_000) {
    if (!perMinute) return true;
    const now = Date.now();
    const recent = (this.#accepted.get(key) ?? []).filter((at) => now - at < windowMs);
    this.#accepted.set(key, recent);
    if (recent.length >= perMinute) return false;
    recent.push(now);
    return true;
  }
}

/**
 * @param {http.IncomingHttpHeaders} headers
 * @returns {Record<string, string>}
 */
function flattenHeaders(headers) {
  return Object.fromEntries(
    Object.entries(headers).flatMap(([name, value]) =>
      value === undefined ? [] : [[name, Array.isArray(value) ? value.join(', ') : value]],
    ),
  );
}

/**
 * @param {http.IncomingMessage} req
 * @returns {Promise<string>}
 */
async function readBody(req) {
  /** @type {Buffer[]} */
  const chunks = [];
  for await (const chunk of req) chunks.push(/** @type {Buffer} */ (chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * @param {string} raw
 * @param {string | undefined} contentType
 * @returns {{ body: unknown, invalidJson: boolean }}
 */
function parseBody(raw, contentType) {
  if (raw === '') return { body: null, invalidJson: false };
  try {
    return { body: JSON.parse(raw), invalidJson: false };
  } catch {
    return { body: raw, invalidJson: contentType === undefined || /json/i.test(contentType) };
  }
}

/**
 * A 200 answer with a JSON body.
 * @param {unknown} json
 * @returns {Reply}
 */
export const ok = (json) => ({ status: 200, json });
