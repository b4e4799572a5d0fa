// @ts-check
/**
 * @file A fake Scalingo platform for end-to-end tests.
 *
 * `startFakeScalingo()` runs two node:http servers on 127.0.0.1: the global
 * auth service (token exchange, user, regions, SCM integrations) and one
 * regional API (apps, SCM repo links, manual deploys, review apps,
 * deployments). They behave like the real services as far as the API is
 * documented: root-keyed JSON bodies, exact success statuses, Scalingo's error
 * shapes, bearer tokens that are unsigned JWTs with an `exp` claim. Every
 * request is recorded, deployments follow a scripted lifecycle, and fault
 * rules break chosen requests in chosen ways.
 *
 * The first part of the file is generic HTTP plumbing (request recording,
 * fault injection, routing), shared with fake-github.js.
 *
 * Run directly for a standalone server: `node test/support/fake-scalingo.js [options.json]`.
 */
import { once } from 'node:events';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';

// ---------------------------------------------------------------------------
// Shared HTTP plumbing (also used by fake-github.js)
// ---------------------------------------------------------------------------

export const JSON_TYPE = 'application/json; charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';
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
 *   | 'html' | 'malformed-json' | 'unknown-status'} FaultKind
 */

/**
 * A fault rule. Fires on matching requests (all given matchers must match).
 * Kinds that answer in place of the simulation (the request is NOT processed):
 * `status`, `rate-limit`, `reset-before`, `html`, `malformed-json`.
 * Kinds that let the simulation process the request first: `delay`,
 * `reset-after`, `hang-after`, `unknown-status`.
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
 * @property {() => number | undefined} [rateLimitPerMinute] Read on each request; falsy = no limit.
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
 * @returns {Promise<{ url: string, close: () => Promise<void> }>}
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
  if (!limiter.allows(config.rateLimitPerMinute?.())) return rateLimitReply();
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
 * @param {FaultRule} fault
 * @param {(status: number) => Reply} errorReply
 * @returns {Reply}
 */
function statusFaultReply(fault, errorReply) {
  const status = fault.status ?? 500;
  const headers = fault.headers ?? {};
  if (typeof fault.body === 'string') return { status, text: fault.body, contentType: fault.contentType ?? TEXT_TYPE, headers };
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

/** Rolling one-minute window over the requests it let through. */
class RollingRateLimiter {
  /** @type {number[]} */
  #accepted = [];

  /**
   * @param {number | undefined} perMinute
   * @returns {boolean}
   */
  allows(perMinute) {
    if (!perMinute) return true;
    const now = Date.now();
    this.#accepted = this.#accepted.filter((at) => now - at < 60_000);
    if (this.#accepted.length >= perMinute) return false;
    this.#accepted.push(now);
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

// ---------------------------------------------------------------------------
// Fake Scalingo: types
// ---------------------------------------------------------------------------

/**
 * Statuses are free strings: the documented ones are queued, building,
 * pushing, starting (in progress), success, aborted, build-error,
 * crashed-error, timeout-error, hook-error (terminal); any other string counts
 * as terminal, as in the official Go client.
 *
 * A deployment script is either a list of statuses (created with the first,
 * one step further on each `GET …/deployments/:id`, then staying on the last),
 * or a duration: queued for the first 5 %, building until 60 %, pushing until
 * 75 %, starting until 100 %, then `final`.
 * @typedef {string[] | { durationMs: number, final: string }} DeployScript
 */

/** @typedef {{ id: string, username: string, email: string }} Person */

/**
 * @typedef {object} Integration
 * @property {string} id
 * @property {'github' | 'gitlab' | 'github-enterprise' | 'gitlab-self-hosted' | string} scm_type
 * @property {string} url SCM root URL, e.g. https://github.com.
 * @property {string} access_token A dummy value.
 * @property {string} uid
 * @property {string} username
 * @property {string} email
 * @property {string} avatar_url
 * @property {string} profile_url
 * @property {string} created_at
 * @property {Person} owner
 */

/**
 * @typedef {object} Region
 * @property {string} name
 * @property {string} display_name
 * @property {string} api
 * @property {string} dashboard
 * @property {string} database_api
 * @property {string} ssh
 * @property {boolean} default
 */

/**
 * An app as stored; GET /v1/apps/:app adds `status` and `last_deployment_id`.
 * @typedef {object} AppRecord
 * @property {string} id
 * @property {string} name
 * @property {string} region
 * @property {string} url
 * @property {string} base_url
 * @property {string} git_url
 * @property {string} created_at
 * @property {string} updated_at
 * @property {Person} owner
 * @property {{ deployments_stream: string }} links
 */

/**
 * The settings a link create/update may carry (all optional).
 * @typedef {object} LinkSettings
 * @property {string} [branch]
 * @property {boolean} [auto_deploy_enabled]
 * @property {boolean} [deploy_review_apps_enabled]
 * @property {boolean} [delete_on_close_enabled]
 * @property {boolean} [delete_stale_enabled]
 * @property {number} [hours_before_delete_on_close]
 * @property {number} [hours_before_delete_stale]
 * @property {boolean} [automatic_creation_from_forks_allowed]
 */

/**
 * Exactly what GET /v1/apps/:app/scm_repo_link returns (inside `scm_repo_link`).
 * @typedef {object} ScmRepoLink
 * @property {string} id
 * @property {string} app_id
 * @property {Person} linker
 * @property {string} url SCM root URL.
 * @property {string} owner
 * @property {string} repo
 * @property {string} branch
 * @property {string} scm_type
 * @property {string} created_at
 * @property {string} updated_at
 * @property {boolean} auto_deploy_enabled
 * @property {string} auth_integration_uuid
 * @property {boolean} deploy_review_apps_enabled
 * @property {boolean} delete_on_close_enabled
 * @property {boolean} delete_stale_enabled
 * @property {number} hours_before_delete_on_close
 * @property {number} hours_before_delete_stale
 * @property {string | null} last_auto_deploy_at
 * @property {boolean} automatic_creation_from_forks_allowed
 */

/** @typedef {'manual_deploy' | 'review_app' | 'seed'} DeploymentTrigger */

/**
 * A deployment as stored (responses are rendered from it).
 * @typedef {object} DeploymentRecord
 * @property {string} id UUID.
 * @property {string} appName
 * @property {DeploymentTrigger} trigger
 * @property {string} branch Internal: the API does not return it.
 * @property {string} gitRef
 * @property {string | null} previousGitRef
 * @property {Person} pusher
 * @property {number} createdAt Epoch ms.
 * @property {DeployScript} script
 * @property {number} reads How many times GET …/deployments/:id read it.
 * @property {number | null} finalAt Epoch ms at which a terminal status was first shown.
 */

/**
 * @typedef {object} DeploymentTimeline
 * @property {string} id
 * @property {string} app
 * @property {DeploymentTrigger} trigger
 * @property {string} branch
 * @property {string} git_ref
 * @property {string} status Current status (looking at it does not advance a script).
 * @property {number} createdAt Epoch ms.
 * @property {number | null} finalAt Epoch ms at which it became terminal; null while in progress.
 */

/**
 * @typedef {object} ReviewAppRecord
 * @property {string} id
 * @property {string} parentName
 * @property {string} appName
 * @property {number} number Pull request number.
 * @property {string} headBranch
 * @property {number} createdAt Epoch ms.
 * @property {ScmRepoLink} parentLink Snapshot of the parent's link at creation.
 * @property {number | null} pendingListCalls Deployment-list calls left before its first
 *   deployment appears (see `reviewAppDeploymentDelay`); null when none is pending.
 */

/**
 * @typedef {object} PullSettings
 * @property {string} [head_branch] Default `feature-<number>`.
 * @property {string} [title] Default `Pull request #<number>`.
 * @property {boolean | string} [fork] True, or the fork's `owner/repo`, when opened from a fork.
 */

/**
 * Knobs read on every request; tests may change them mid-run (`setScenario`).
 * @typedef {object} Scenario
 * @property {string[]} tokens Valid API tokens.
 * @property {number} bearerTtlSeconds
 * @property {DeployScript} deployScript Default script of new deployments.
 * @property {Record<string, DeployScript>} deployScripts Per app name (review apps included).
 * @property {Record<string, PullSettings>} pulls Per pull request number.
 * @property {string[]} unreachableRepos Sources whose link creation answers 404.
 * @property {'full' | 'empty-object' | 'no-body'} reviewAppResponse Body of manual_review_app.
 * @property {'error' | 'ok'} reviewAppExists manual_review_app on a PR that already has one.
 * @property {number} reviewAppDeploymentDelay Deployment-list calls on a new review app before
 *   its first deployment appears.
 * @property {number | undefined} rateLimitPerMinute Off when undefined or 0.
 */

/**
 * @typedef {object} BearerRecord
 * @property {string} token
 * @property {number} expiresAt Epoch ms.
 * @property {boolean} revoked
 */

/**
 * @typedef {object} FakeScalingoState
 * @property {Scenario} scenario
 * @property {Person} user
 * @property {Integration[]} integrations
 * @property {Region[]} regions
 * @property {Record<string, AppRecord>} apps By app name.
 * @property {Record<string, ScmRepoLink>} links By app name.
 * @property {DeploymentRecord[]} deployments In creation order.
 * @property {ReviewAppRecord[]} reviewApps In creation order.
 * @property {Record<string, string>} branchHeads Branch → commit SHA used as `git_ref`
 *   (other branches get a stable fake SHA).
 * @property {BearerRecord[]} bearers Every bearer token issued.
 */

/**
 * @typedef {object} ReviewAppSeed
 * @property {number} pr
 * @property {string} [head_branch] Default from `pulls`, else `feature-<pr>`.
 * @property {string} [app_name] Default `<parent>-pr<pr>`.
 * @property {string} [parent] Default: the first linked app.
 */

/**
 * @typedef {object} FakeScalingoOptions
 * @property {string[]} [tokens] Default `['tk-us-test-0123456789abcdef']`.
 * @property {number} [bearerTtlSeconds] Default 3600.
 * @property {Partial<Person>} [user]
 * @property {Partial<Integration>[]} [integrations] Default: one github.com integration.
 * @property {Partial<Region>[]} [regions] Default: osc-fr1, whose `api` is the fake API.
 * @property {Record<string, { id?: string, url?: string, base_url?: string }>} [apps] Default `{ 'my-app': {} }`.
 * @property {Record<string, LinkSettings & { source?: string, auth_integration_uuid?: string }>} [links]
 *   Default: every app linked to https://github.com/octo-org/octo-repo, branch main. `{}` = no link.
 * @property {Record<string, string>} [branchHeads]
 * @property {Record<string, PullSettings>} [pulls]
 * @property {ReviewAppSeed[]} [reviewApps] Existing review apps, each with one successful deployment.
 * @property {DeployScript} [deployScript] Default `['queued','building','pushing','starting','success']`.
 * @property {Record<string, DeployScript>} [deployScripts]
 * @property {string[]} [unreachableRepos]
 * @property {'full' | 'empty-object' | 'no-body'} [reviewAppResponse] Default 'full'.
 * @property {'error' | 'ok'} [reviewAppExists] Default 'error'.
 * @property {number} [reviewAppDeploymentDelay] Default 0.
 * @property {number} [rateLimitPerMinute] Default off; counted per server.
 * @property {FaultRule[]} [faults]
 * @property {(record: RecordedRequest) => void} [onRequest] Called when each exchange is over.
 */

/**
 * @typedef {object} FakeScalingo
 * @property {string} authUrl
 * @property {string} apiUrl
 * @property {RecordedRequest[]} requests Both servers, in arrival order.
 * @property {FakeScalingoState} state
 * @property {(rule: FaultRule) => void} fault
 * @property {() => void} clearFaults
 * @property {() => void} revokeBearers Every bearer issued so far stops working.
 * @property {(partial: Partial<Scenario>) => void} setScenario
 * @property {() => RecordedRequest[]} mutating Non-GET/HEAD requests, token exchanges excluded.
 * @property {() => DeploymentTimeline[]} deploymentsCreated Deployments created by
 *   manual_deploy or by a review app creation, in creation order.
 * @property {(id: string) => DeploymentTimeline | undefined} deploymentTimeline Any deployment.
 * @property {() => Promise<void>} close
 */

// ---------------------------------------------------------------------------
// Fake Scalingo: constants and small helpers
// ---------------------------------------------------------------------------

const DEFAULT_TOKEN = 'tk-us-test-0123456789abcdef';
const DEFAULT_SOURCE = 'https://github.com/octo-org/octo-repo';
const DEFAULT_SCRIPT = ['queued', 'building', 'pushing', 'starting', 'success'];
/** @type {Person} */
const DEFAULT_USER = { id: 'us-0f1e2d3c-4b5a-4697-8877-665544332211', username: 'test-user', email: 'test-user@example.com' };
/** @type {Person} */
const PLATFORM_PUSHER = { id: 'us-scalingo-platform-scm', username: 'scalingo-platform-scm', email: 'deploy-scm@scalingo.com' };
/** @type {Partial<Region>[]} */
const DEFAULT_REGIONS = [{ name: 'osc-fr1', display_name: 'Paris - 3DS Outscale' }];
/** @type {Record<string, string>} */
const SCM_ROOTS = { github: 'https://github.com', gitlab: 'https://gitlab.com' };
const IN_PROGRESS = new Set(['queued', 'building', 'pushing', 'starting']);
/** @type {[number, string][]} Share of a timed script's duration → status until then. */
const TIMED_PHASES = [[0.05, 'queued'], [0.6, 'building'], [0.75, 'pushing'], [1, 'starting']];
const LINK_FLAGS = /** @type {const} */ ([
  'auto_deploy_enabled',
  'deploy_review_apps_enabled',
  'delete_on_close_enabled',
  'delete_stale_enabled',
  'automatic_creation_from_forks_allowed',
]);
const LINK_HOURS = /** @type {const} */ (['hours_before_delete_on_close', 'hours_before_delete_stale']);
/** Go's zero time, which the review app list shows as `closed_at` of open pull requests. */
const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

/** @type {Record<number, unknown>} Default bodies of `status` faults (error shapes of the API docs). */
const SCALINGO_ERROR_BODIES = {
  400: { error: 'bad request' },
  401: { error: 'invalid token' },
  402: { name: 'free-trial-exceeded', error: 'free trial exceeded', url: 'https://dashboard.scalingo.com/billing' },
  403: { error: 'forbidden', code: 'forbidden' },
  404: { error: 'not found' },
  409: { error: 'conflict' },
  422: { errors: { base: ['is invalid'] } },
  500: { error: "Internal error occured, we're on it!" },
  503: { error: 'upstream provider returned an error, please retry later' },
};

/**
 * @param {number} status
 * @returns {Reply}
 */
function scalingoErrorReply(status) {
  if (status === 429) return rateLimitReply();
  return { status, json: SCALINGO_ERROR_BODIES[status] ?? { error: (http.STATUS_CODES[status] ?? 'error').toLowerCase() } };
}

/**
 * A record's own entry (never an inherited property such as `constructor`).
 * @template T
 * @param {Record<string, T>} record
 * @param {string | undefined} key
 * @returns {T | undefined}
 */
const own = (record, key) => (key !== undefined && Object.hasOwn(record, key) ? record[key] : undefined);
/** @param {number} ms */
const iso = (ms) => new Date(ms).toISOString();
/** @param {string} seed A stable fake 40-hex commit SHA. */
const fakeSha = (seed) => createHash('sha1').update(seed).digest('hex');
/** A Scalingo-style 24-hex object id. */
const objectId = () => randomBytes(12).toString('hex');
/** @param {unknown} value */
const base64url = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** @param {string} status */
const isTerminal = (status) => !IN_PROGRESS.has(status);
/** @param {Person} person @returns {Person} */
const personOf = ({ id, username, email }) => ({ id, username, email });
/** @param {unknown} json @returns {Reply} */
const ok = (json) => ({ status: 200, json });
/** @param {string} resource */
const notFound = (resource) => new HttpError(404, { resource, error: 'not found' });
/** @param {Record<string, string[]>} errors */
const unprocessable = (errors) => new HttpError(422, { errors });

/**
 * Splits a repository web URL into the link's `url` (SCM root), owner and repo.
 * @param {unknown} source
 * @returns {{ url: string, owner: string, repo: string, web: string } | undefined}
 */
function parseSource(source) {
  if (typeof source !== 'string') return undefined;
  let parsed;
  try {
    parsed = new URL(source);
  } catch {
    return undefined;
  }
  const segments = parsed.pathname.replace(/\.git$/, '').split('/').filter(Boolean);
  const repo = segments.pop();
  if (!/^https?:$/.test(parsed.protocol) || !repo || segments.length === 0) return undefined;
  const owner = segments.join('/');
  return { url: parsed.origin, owner, repo, web: `${parsed.origin}/${owner}/${repo}` };
}

/**
 * Field errors of a link create/update body (or of a `links` seed).
 * @param {Record<string, unknown>} params
 * @returns {Record<string, string[]>}
 */
function linkFieldErrors(params) {
  /** @type {Record<string, string[]>} */
  const errors = {};
  if ('branch' in params && (typeof params.branch !== 'string' || params.branch.trim() === '')) {
    errors.branch = ["can't be blank"];
  }
  for (const flag of LINK_FLAGS) {
    if (flag in params && typeof params[flag] !== 'boolean') errors[flag] = ['must be a boolean'];
  }
  for (const hours of LINK_HOURS) {
    const value = params[hours];
    if (hours in params && !(Number.isInteger(value) && /** @type {number} */ (value) >= 0)) {
      errors[hours] = ['must be a non-negative integer'];
    }
  }
  return errors;
}

/**
 * The known settings of a (validated) create/update body; other keys are ignored.
 * @param {Record<string, unknown>} params
 * @returns {LinkSettings}
 */
function pickLinkSettings(params) {
  const keys = ['branch', ...LINK_FLAGS, ...LINK_HOURS];
  return Object.fromEntries(keys.filter((key) => key in params).map((key) => [key, params[key]]));
}

/**
 * The wrapped object of a request body, e.g. `{"scm_repo_link": {...}}`.
 * @param {unknown} body
 * @param {string} key
 * @returns {Record<string, unknown>}
 */
function unwrap(body, key) {
  const inner = isObject(body) ? body[key] : undefined;
  if (!isObject(inner)) throw unprocessable({ [key]: ['is missing'] });
  return inner;
}

/**
 * `pull_request_id` of a manual_review_app body: a JSON number or a numeric string.
 * @param {unknown} body
 * @returns {number}
 */
function pullRequestNumber(body) {
  const raw = isObject(body) ? body.pull_request_id : undefined;
  if (raw === undefined || raw === null || raw === '') throw unprocessable({ pull_request_id: ["can't be blank"] });
  const number = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(number) || number <= 0) throw unprocessable({ pull_request_id: ['is invalid'] });
  return number;
}

/**
 * @param {URLSearchParams} query
 * @param {string} name
 * @param {number} fallback
 */
function pageParam(query, name, fallback) {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new HttpError(400, { error: `${name} must be a positive integer` });
  return value;
}

/**
 * Scalingo pagination (`page`, `per_page`, `meta.pagination`).
 * @template T
 * @param {T[]} items
 * @param {URLSearchParams} query
 */
function paginate(items, query) {
  const page = pageParam(query, 'page', 1);
  const perPage = pageParam(query, 'per_page', 10);
  const totalPages = Math.ceil(items.length / perPage);
  return {
    items: items.slice((page - 1) * perPage, page * perPage),
    pagination: {
      current_page: page,
      prev_page: page > 1 ? page - 1 : null,
      next_page: page < totalPages ? page + 1 : null,
      total_pages: totalPages,
      total_count: items.length,
    },
  };
}

/**
 * @param {unknown} script
 * @returns {asserts script is DeployScript}
 */
function assertDeployScript(script) {
  const valid = Array.isArray(script)
    ? script.length > 0 && script.every((status) => typeof status === 'string')
    : isObject(script) && typeof script.durationMs === 'number' && script.durationMs >= 0 && typeof script.final === 'string';
  if (!valid) throw new TypeError(`invalid deploy script: ${JSON.stringify(script)}`);
}

/**
 * The status a script gives a deployment now.
 * @param {DeploymentRecord} deployment
 * @param {number} now
 */
function scriptedStatus({ script, reads, createdAt }, now) {
  if (Array.isArray(script)) return script[Math.min(reads, script.length - 1)] ?? 'queued';
  const progress = script.durationMs > 0 ? (now - createdAt) / script.durationMs : 1;
  return TIMED_PHASES.find(([until]) => progress < until)?.[1] ?? script.final;
}

/** @type {Record<string, string[]>} Last lines of the build log of failed deployments. */
const FAILURE_LINES = {
  aborted: [' !     Deployment aborted'],
  'build-error': [
    '       npm error code 1',
    '       npm error command failed: npm run build',
    ' !     Build failed: the build command exited with status 1',
  ],
  'crashed-error': [' !     Your application crashed while starting (exit status 1), check the logs of your application'],
  'timeout-error': [' !     Timeout: your application did not listen on $PORT within 60 seconds'],
  'hook-error': [' Running postdeploy hook: npm run migrate', ' !     The postdeploy hook failed (exit status 1)'],
};

/**
 * A buildpack log consistent with the deployment's current status.
 * @param {AppRecord} app
 * @param {DeploymentRecord} deployment
 * @param {string} status
 */
function buildLog(app, deployment, status) {
  if (status === 'queued') return '';
  const lines = [
    `<-- Start deployment of ${app.name} -->`,
    ` Fetching source code (${deployment.branch} @ ${deployment.gitRef.slice(0, 7)})`,
    ' Fetching deployment cache',
    '-----> Downloading Buildpack: https://github.com/Scalingo/nodejs-buildpack',
    '-----> Installing binaries',
    '       engines.node (package.json):  20.x',
    '       Resolving node version 20.x...',
    '-----> Installing dependencies',
    '       Installing node modules (package-lock.json)',
  ];
  if (status === 'building') return `${lines.join('\n')}\n`;
  if (status === 'aborted' || status === 'build-error') {
    return `${[...lines, ...(FAILURE_LINES[status] ?? [])].join('\n')}\n`;
  }
  lines.push(
    '       added 412 packages in 9s',
    '-----> Build',
    '       Running build (npm run build)',
    '-----> Build succeeded!',
    ' Build complete, shipping your container...',
  );
  if (status !== 'pushing') lines.push(' Waiting for your application to boot...');
  if (status === 'success') lines.push(` <-- ${app.url} -->`);
  else if (isTerminal(status)) lines.push(...(FAILURE_LINES[status] ?? [` !     Deployment ended with status ${status}`]));
  return `${lines.join('\n')}\n`;
}

/**
 * Pull request URLs as the SCM shows them.
 * @param {ScmRepoLink} link
 * @param {number} number
 */
function pullUrls(link, number) {
  const path = `${link.owner}/${link.repo}`;
  if (link.scm_type.startsWith('gitlab')) {
    return {
      url: `${link.url}/api/v4/projects/${encodeURIComponent(path)}/merge_requests/${number}`,
      html_url: `${link.url}/${path}/-/merge_requests/${number}`,
    };
  }
  const api = link.url === SCM_ROOTS.github ? 'https://api.github.com' : `${link.url}/api/v3`;
  return { url: `${api}/repos/${path}/pulls/${number}`, html_url: `${link.url}/${path}/pull/${number}` };
}

/**
 * @param {ScmRepoLink} link
 * @param {string} sha
 */
function commitUrl(link, sha) {
  const separator = link.scm_type.startsWith('gitlab') ? '/-/commit/' : '/commit/';
  return `${link.url}/${link.owner}/${link.repo}${separator}${sha}`;
}

/**
 * Replaces the deployment status in a response (`unknown-status` fault).
 * @param {Reply} reply
 * @param {string} status
 * @returns {Reply}
 */
function withDeploymentStatus(reply, status) {
  const { json } = reply;
  if (!isObject(json)) return reply;
  /** @param {unknown} deployment */
  const override = (deployment) => (isObject(deployment) ? { ...deployment, status } : deployment);
  if (isObject(json.deployment)) return { ...reply, json: { ...json, deployment: override(json.deployment) } };
  if (Array.isArray(json.deployments)) return { ...reply, json: { ...json, deployments: json.deployments.map(override) } };
  return reply;
}

// ---------------------------------------------------------------------------
// Fake Scalingo: the simulation
// ---------------------------------------------------------------------------

/** The simulated world and the behaviour of every endpoint. */
class ScalingoSimulation {
  /** Set by `attach()` once the API server listens. */
  apiUrl = '';

  /** @param {FakeScalingoOptions} options */
  constructor(options) {
    const user = { ...DEFAULT_USER, ...options.user };
    this.regionSeeds = options.regions ?? DEFAULT_REGIONS;
    /** @type {FakeScalingoState} */
    this.state = {
      scenario: {
        tokens: options.tokens ?? [DEFAULT_TOKEN],
        bearerTtlSeconds: options.bearerTtlSeconds ?? 3600,
        deployScript: options.deployScript ?? DEFAULT_SCRIPT,
        deployScripts: options.deployScripts ?? {},
        pulls: options.pulls ?? {},
        unreachableRepos: options.unreachableRepos ?? [],
        reviewAppResponse: options.reviewAppResponse ?? 'full',
        reviewAppExists: options.reviewAppExists ?? 'error',
        reviewAppDeploymentDelay: options.reviewAppDeploymentDelay ?? 0,
        rateLimitPerMinute: options.rateLimitPerMinute,
      },
      user,
      integrations: (options.integrations ?? [{}]).map((seed, index) => buildIntegration(seed, index, user)),
      regions: [],
      apps: {},
      links: {},
      deployments: [],
      reviewApps: [],
      branchHeads: { ...options.branchHeads },
      bearers: [],
    };
    this.checkScenario();

    const appSeeds = options.apps ?? { 'my-app': {} };
    const linkSeeds = options.links ?? Object.fromEntries(Object.keys(appSeeds).map((name) => [name, {}]));
    for (const name of new Set([...Object.keys(appSeeds), ...Object.keys(linkSeeds)])) {
      this.addApp(name, appSeeds[name] ?? {});
    }
    for (const [name, seed] of Object.entries(linkSeeds)) this.seedLink(name, seed);
    for (const seed of options.reviewApps ?? []) this.seedReviewApp(seed);

    this.authRoutes = new Router()
      .on('POST', '/v1/tokens/exchange', (call) => this.exchangeToken(call), { auth: 'none' })
      .on('GET', '/v1/users/self', () => ok({ user: this.state.user }))
      .on('GET', '/v1/regions', () => ok({ regions: this.state.regions }), { auth: 'optional' })
      .on('GET', '/v1/scm_integrations', () => ok({ scm_integrations: this.state.integrations }))
      .on('GET', '/v1/scm_integrations/:id', (_, { id }) => ok({ scm_integration: this.integration(id) }));

    const link = '/v1/apps/:app/scm_repo_link';
    this.apiRoutes = new Router()
      .on('GET', '/v1/apps/:app', (_, { app }) => ok({ app: this.appView(this.app(app)) }))
      .on('GET', '/v1/apps/:app/deployments', (call, { app }) => this.listDeployments(call, this.app(app)))
      .on('GET', '/v1/apps/:app/deployments/:id', (_, { app, id }) => this.showDeployment(this.app(app), id))
      .on('GET', '/v1/apps/:app/deployments/:id/output', (_, { app, id }) => this.deploymentOutput(this.app(app), id))
      .on('GET', '/v1/scm_repo_links', (call) => this.listLinks(call))
      .on('GET', link, (_, { app }) => ok({ scm_repo_link: this.link(this.app(app)) }))
      .on('POST', link, (call, { app }) => this.createLink(call, this.app(app)))
      .on('PATCH PUT', link, (call, { app }) => this.updateLink(call, this.app(app)))
      .on('DELETE', link, (_, { app }) => this.deleteLink(this.app(app)))
      .on('POST', `${link}/manual_deploy`, (call, { app }) => this.manualDeploy(call, this.app(app)))
      .on('POST', `${link}/manual_review_app`, (call, { app }) => this.manualReviewApp(call, this.app(app)))
      .on('GET', `${link}/review_apps`, (_, { app }) => this.listReviewApps(this.app(app)))
      .on('GET', `${link}/pulls`, (_, { app }) => this.listPulls(this.app(app)))
      .on('GET', `${link}/pulls/:number`, (_, { app, number }) => this.showPull(this.app(app), number))
      .on('GET', `${link}/branches`, (_, { app }) => this.listBranches(this.app(app)))
      .on('GET', `${link}/deployments`, (_, { app }) => this.listLinkDeployments(this.app(app)));
  }

  /**
   * Completes the world once the API URL is known.
   * @param {string} apiUrl
   */
  attach(apiUrl) {
    this.apiUrl = apiUrl;
    this.state.regions = this.regionSeeds.map((seed, index) => buildRegion(seed, index, apiUrl));
  }

  /** Validates the scenario knobs that could make the simulation fail later. */
  checkScenario() {
    const { deployScript, deployScripts } = this.state.scenario;
    for (const script of [deployScript, ...Object.values(deployScripts)]) assertDeployScript(script);
  }

  // --- dispatch -------------------------------------------------------------

  /**
   * @param {'auth' | 'api'} service
   * @param {IncomingCall} call
   * @returns {Reply}
   */
  handle(service, call) {
    const match = (service === 'auth' ? this.authRoutes : this.apiRoutes).match(call.method, call.pathname);
    if (!match) {
      const appName = service === 'api' ? /^\/v1\/apps\/([^/]+)\//.exec(call.pathname)?.[1] : undefined;
      if (appName !== undefined) this.app(appName); // unknown app → 404 app
      throw new HttpError(404, { error: 'not found' });
    }
    const { auth = 'required' } = match.meta;
    if (auth === 'required' || (auth === 'optional' && call.headers.authorization)) this.requireBearer(call);
    if (call.invalidJson) throw new HttpError(400, { error: 'invalid JSON' });
    const reply = match.handler(call, match.params);
    return call.fault?.kind === 'unknown-status' ? withDeploymentStatus(reply, call.fault.value ?? 'unknown') : reply;
  }

  // --- authentication -------------------------------------------------------

  /** @param {IncomingCall} call */
  exchangeToken(call) {
    const [scheme, encoded = ''] = (call.headers.authorization ?? '').split(' ');
    const credentials = scheme?.toLowerCase() === 'basic' ? Buffer.from(encoded, 'base64').toString('utf8') : '';
    const separator = credentials.indexOf(':');
    const [username, token] = [credentials.slice(0, separator), credentials.slice(separator + 1)];
    if (separator < 0 || username !== '' || !this.state.scenario.tokens.includes(token)) {
      throw new HttpError(401, { error: 'invalid API token' });
    }
    const now = Date.now();
    const expiresAt = now + this.state.scenario.bearerTtlSeconds * 1000;
    const claims = { exp: Math.floor(expiresAt / 1000), iat: Math.floor(now / 1000), sub: this.state.user.id, jti: randomUUID() };
    const jwt = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims)}.`;
    this.state.bearers.push({ token: jwt, expiresAt, revoked: false });
    return ok({ token: jwt });
  }

  /** @param {IncomingCall} call */
  requireBearer(call) {
    const token = /^Bearer\s+(\S+)$/i.exec(call.headers.authorization ?? '')?.[1];
    const bearer = this.state.bearers.find((candidate) => candidate.token === token);
    if (!bearer || bearer.revoked) throw new HttpError(401, { error: 'invalid token' });
    if (Date.now() >= bearer.expiresAt) throw new HttpError(401, { error: 'token expired' });
  }

  revokeBearers() {
    for (const bearer of this.state.bearers) bearer.revoked = true;
  }

  /** @param {string | undefined} idOrType */
  integration(idOrType) {
    const { integrations } = this.state;
    const found = integrations.find((i) => i.id === idOrType) ?? integrations.find((i) => i.scm_type === idOrType);
    if (!found) throw notFound('scm_integration');
    return found;
  }

  // --- apps -----------------------------------------------------------------

  /**
   * @param {string} name
   * @param {{ id?: string, url?: string, base_url?: string }} seed
   */
  addApp(name, seed) {
    const region = this.regionSeeds[0]?.name ?? 'osc-fr1';
    const now = iso(Date.now());
    const baseUrl = seed.base_url ?? `https://${name}.${region}.scalingo.io`;
    /** @type {AppRecord} */
    const app = {
      id: seed.id ?? objectId(),
      name,
      region,
      url: seed.url ?? baseUrl,
      base_url: baseUrl,
      git_url: `git@ssh.${region}.scalingo.com:${name}.git`,
      created_at: now,
      updated_at: now,
      owner: personOf(this.state.user),
      links: { deployments_stream: `wss://deployments.${region}.scalingo.com/apps/${name}` },
    };
    this.state.apps[name] = app;
    return app;
  }

  /** @param {string | undefined} nameOrId */
  app(nameOrId) {
    const { apps } = this.state;
    const found = own(apps, nameOrId) ?? Object.values(apps).find((app) => app.id === nameOrId);
    if (!found) throw notFound('app');
    return found;
  }

  /** @param {AppRecord} app */
  appView(app) {
    const deployments = this.deploymentsOf(app);
    const everDeployed = deployments.some((deployment) => this.observe(deployment) === 'success');
    return { ...app, status: everDeployed ? 'running' : 'new', last_deployment_id: deployments[0]?.id ?? null };
  }

  // --- SCM repo links -------------------------------------------------------

  /** @param {AppRecord} app */
  link(app) {
    const found = own(this.state.links, app.name);
    if (!found) throw notFound('scm_repo_link');
    return found;
  }

  /**
   * @param {AppRecord} app
   * @param {{ url: string, owner: string, repo: string }} repository
   * @param {Integration} integration
   * @param {LinkSettings} settings
   * @returns {ScmRepoLink}
   */
  newLink(app, repository, integration, settings) {
    const now = iso(Date.now());
    const link = {
      id: randomUUID(),
      app_id: app.id,
      linker: personOf(this.state.user),
      url: repository.url,
      owner: repository.owner,
      repo: repository.repo,
      branch: 'main',
      scm_type: integration.scm_type,
      created_at: now,
      updated_at: now,
      auto_deploy_enabled: false,
      auth_integration_uuid: integration.id,
      deploy_review_apps_enabled: false,
      delete_on_close_enabled: false,
      delete_stale_enabled: false,
      hours_before_delete_on_close: 0,
      hours_before_delete_stale: 0,
      last_auto_deploy_at: null,
      automatic_creation_from_forks_allowed: false,
      ...settings,
    };
    this.state.links[app.name] = link;
    return link;
  }

  /**
   * @param {string} appName
   * @param {LinkSettings & { source?: string, auth_integration_uuid?: string }} seed
   */
  seedLink(appName, seed) {
    const repository = parseSource(seed.source ?? DEFAULT_SOURCE);
    const errors = linkFieldErrors(seed);
    if (!repository || Object.keys(errors).length > 0) {
      throw new TypeError(`invalid links['${appName}'] option: ${JSON.stringify({ source: seed.source, ...errors })}`);
    }
    const { integrations } = this.state;
    const integration = seed.auth_integration_uuid
      ? integrations.find((i) => i.id === seed.auth_integration_uuid)
      : (integrations.find((i) => i.url === repository.url) ?? integrations[0]);
    if (!integration) throw new TypeError(`links['${appName}'] option: no matching SCM integration`);
    this.newLink(this.app(appName), repository, integration, pickLinkSettings(seed));
  }

  /**
   * @param {IncomingCall} call
   * @param {AppRecord} app
   */
  createLink(call, app) {
    const params = unwrap(call.body, 'scm_repo_link');
    if (own(this.state.links, app.name)) throw unprocessable({ app: ['is already linked to a repository'] });
    const errors = linkFieldErrors(params);
    const repository = parseSource(params.source);
    if (params.source === undefined || params.source === null || params.source === '') errors.source = ["can't be blank"];
    else if (!repository) errors.source = ['is invalid'];
    const integration = this.state.integrations.find((i) => i.id === params.auth_integration_uuid);
    if (!params.auth_integration_uuid) errors.auth_integration_uuid = ["can't be blank"];
    else if (!integration) errors.auth_integration_uuid = ['does not match any of your SCM integrations'];
    else if (repository && repository.url !== integration.url) {
      errors.auth_integration_uuid = [`is an integration for ${integration.url}, not ${repository.url}`];
    }
    if (!repository || !integration || Object.keys(errors).length > 0) throw unprocessable(errors);
    const unreachable = this.state.scenario.unreachableRepos.map((source) => parseSource(source)?.web ?? source);
    if (unreachable.includes(repository.web)) throw new HttpError(404, { error: 'repository not found or not accessible' });
    return { status: 201, json: { scm_repo_link: this.newLink(app, repository, integration, pickLinkSettings(params)) } };
  }

  /**
   * @param {IncomingCall} call
   * @param {AppRecord} app
   */
  updateLink(call, app) {
    const link = this.link(app);
    const params = unwrap(call.body, 'scm_repo_link');
    const errors = linkFieldErrors(params);
    if (Object.keys(errors).length > 0) throw unprocessable(errors);
    Object.assign(link, pickLinkSettings(params), { updated_at: iso(Date.now()) });
    return ok({ scm_repo_link: link });
  }

  /** @param {AppRecord} app */
  deleteLink(app) {
    this.link(app);
    delete this.state.links[app.name];
    return { status: 204 };
  }

  /** @param {IncomingCall} call */
  listLinks(call) {
    const filter = call.query.get('auth_integration_uuid');
    const links = Object.values(this.state.links).filter((link) => !filter || link.auth_integration_uuid === filter);
    const { items, pagination } = paginate(links, call.query);
    return ok({ scm_repo_links: items, meta: { pagination } });
  }

  // --- deployments ----------------------------------------------------------

  /**
   * @param {AppRecord} app
   * @param {string} branch
   * @param {DeploymentTrigger} trigger
   * @param {{ pusher?: Person, createdAt?: number, finalAt?: number, script?: DeployScript }} [overrides]
   */
  createDeployment(app, branch, trigger, overrides = {}) {
    const { scenario } = this.state;
    const link = this.link(app);
    /** @type {DeploymentRecord} */
    const deployment = {
      id: randomUUID(),
      appName: app.name,
      trigger,
      branch,
      gitRef: this.headOf(link, branch),
      previousGitRef: this.deploymentsOf(app)[0]?.gitRef ?? null,
      pusher: overrides.pusher ?? personOf(this.state.user),
      createdAt: overrides.createdAt ?? Date.now(),
      script: overrides.script ?? own(scenario.deployScripts, app.name) ?? scenario.deployScript,
      reads: 0,
      finalAt: overrides.finalAt ?? null,
    };
    this.state.deployments.push(deployment);
    return deployment;
  }

  /**
   * @param {ScmRepoLink} link
   * @param {string} branch
   */
  headOf(link, branch) {
    return own(this.state.branchHeads, branch) ?? fakeSha(`${link.url}/${link.owner}/${link.repo}#${branch}`);
  }

  /**
   * Newest first.
   * @param {AppRecord} app
   */
  deploymentsOf(app) {
    return this.state.deployments.filter((deployment) => deployment.appName === app.name).reverse();
  }

  /**
   * @param {AppRecord} app
   * @param {string | undefined} id
   */
  deployment(app, id) {
    const found = this.state.deployments.find((deployment) => deployment.id === id && deployment.appName === app.name);
    if (!found) throw notFound('deployment');
    return found;
  }

  /**
   * Current status, without advancing the script; records when it became terminal.
   * @param {DeploymentRecord} deployment
   */
  observe(deployment) {
    const now = Date.now();
    const status = scriptedStatus(deployment, now);
    if (isTerminal(status) && deployment.finalAt === null) {
      const { script } = deployment;
      deployment.finalAt = Array.isArray(script) ? now : deployment.createdAt + script.durationMs;
    }
    return status;
  }

  /** @param {DeploymentRecord} deployment */
  deploymentView(deployment) {
    const app = this.app(deployment.appName);
    const status = this.observe(deployment);
    const finalAt = isTerminal(status) ? deployment.finalAt : null;
    return {
      id: deployment.id,
      app_id: app.id,
      created_at: iso(deployment.createdAt),
      status,
      git_ref: deployment.gitRef,
      previous_git_ref: deployment.previousGitRef,
      pusher: deployment.pusher,
      links: { output: `${this.apiUrl}/v1/apps/${app.id}/deployments/${deployment.id}/output` },
      finished_at: finalAt === null ? null : iso(finalAt),
      duration: finalAt === null ? 0 : Math.round((finalAt - deployment.createdAt) / 1000),
      image_size: status === 'success' ? 104857600 : 0,
      stack_base_image: 'scalingo-22',
    };
  }

  /**
   * @param {DeploymentRecord} deployment
   * @returns {DeploymentTimeline}
   */
  timeline(deployment) {
    const status = this.observe(deployment);
    return {
      id: deployment.id,
      app: deployment.appName,
      trigger: deployment.trigger,
      branch: deployment.branch,
      git_ref: deployment.gitRef,
      status,
      createdAt: deployment.createdAt,
      finalAt: isTerminal(status) ? deployment.finalAt : null,
    };
  }

  /**
   * @param {IncomingCall} call
   * @param {AppRecord} app
   */
  listDeployments(call, app) {
    this.releasePendingReviewDeployment(app);
    const { items, pagination } = paginate(this.deploymentsOf(app), call.query);
    return ok({ deployments: items.map((deployment) => this.deploymentView(deployment)), meta: { pagination } });
  }

  /**
   * Each read moves an array script one step further.
   * @param {AppRecord} app
   * @param {string | undefined} id
   */
  showDeployment(app, id) {
    const deployment = this.deployment(app, id);
    deployment.reads += 1;
    return ok({ deployment: this.deploymentView(deployment) });
  }

  /**
   * @param {AppRecord} app
   * @param {string | undefined} id
   * @returns {Reply}
   */
  deploymentOutput(app, id) {
    const deployment = this.deployment(app, id);
    return { status: 200, text: buildLog(app, deployment, this.observe(deployment)), contentType: TEXT_TYPE };
  }

  /**
   * @param {IncomingCall} call
   * @param {AppRecord} app
   */
  manualDeploy(call, app) {
    this.link(app);
    const branch = isObject(call.body) ? call.body.branch : undefined;
    if (typeof branch !== 'string' || branch.trim() === '') throw unprocessable({ branch: ["can't be blank"] });
    return ok({ deployment: this.deploymentView(this.createDeployment(app, branch, 'manual_deploy')) });
  }

  /** @param {AppRecord} app */
  listLinkDeployments(app) {
    this.link(app);
    return ok({ deployments: this.deploymentsOf(app).map((deployment) => this.deploymentView(deployment)) });
  }

  // --- pull requests and review apps ----------------------------------------

  /** @param {number} number */
  pullSettings(number) {
    const settings = own(this.state.scenario.pulls, String(number)) ?? {};
    return {
      headBranch: settings.head_branch ?? `feature-${number}`,
      title: settings.title ?? `Pull request #${number}`,
      fork: settings.fork ?? false,
    };
  }

  /**
   * @param {ScmRepoLink} link
   * @param {number} number
   */
  pullView(link, number) {
    const { title, fork } = this.pullSettings(number);
    const sourceRepo = typeof fork === 'string' ? fork : fork ? `forker/${link.repo}` : `${link.owner}/${link.repo}`;
    return {
      id: 100_000 + number,
      number,
      title,
      html_url: pullUrls(link, number).html_url,
      source_repo_name: sourceRepo,
      source_repo_html_url: `${link.url}/${sourceRepo}`,
      opened_from_a_forked_repo: fork !== false,
    };
  }

  /**
   * @param {AppRecord} app
   * @param {string | undefined} number
   */
  showPull(app, number) {
    const link = this.link(app);
    if (!number || !/^\d+$/.test(number)) throw notFound('pull');
    return ok({ pull: this.pullView(link, Number(number)) });
  }

  /** @param {AppRecord} app */
  listPulls(app) {
    const link = this.link(app);
    const numbers = new Set([
      ...Object.keys(this.state.scenario.pulls).map(Number),
      ...this.state.reviewApps.filter((ra) => ra.parentName === app.name).map((ra) => ra.number),
    ]);
    return ok({ pulls: [...numbers].filter((n) => n > 0).map((number) => this.pullView(link, number)) });
  }

  /** @param {AppRecord} app */
  listBranches(app) {
    const link = this.link(app);
    const heads = Object.values(this.state.scenario.pulls).map((pull) => pull.head_branch);
    const names = new Set([link.branch, ...Object.keys(this.state.branchHeads), ...heads]);
    return ok({ branches: [...names].filter((name) => name !== undefined).map((name) => ({ name })) });
  }

  /**
   * Creates the review app's app, link and record (not its deployment).
   * @param {AppRecord} parent
   * @param {number} number
   * @param {string} headBranch
   * @param {string} appName
   */
  addReviewApp(parent, number, headBranch, appName) {
    const parentLink = this.link(parent);
    const app = own(this.state.apps, appName) ?? this.addApp(appName, {});
    const repository = { url: parentLink.url, owner: parentLink.owner, repo: parentLink.repo };
    this.newLink(app, repository, this.integration(parentLink.auth_integration_uuid), {
      ...pickLinkSettings(parentLink),
      branch: headBranch,
      deploy_review_apps_enabled: false,
    });
    /** @type {ReviewAppRecord} */
    const reviewApp = {
      id: randomUUID(),
      parentName: parent.name,
      appName,
      number,
      headBranch,
      createdAt: Date.now(),
      parentLink: structuredClone(parentLink),
      pendingListCalls: null,
    };
    this.state.reviewApps.push(reviewApp);
    return reviewApp;
  }

  /** @param {ReviewAppSeed} seed */
  seedReviewApp(seed) {
    const parentName = seed.parent ?? Object.keys(this.state.links)[0];
    if (!parentName || !own(this.state.links, parentName)) {
      throw new TypeError(`reviewApps option: the parent app '${parentName}' has no link`);
    }
    const parent = this.app(parentName);
    const headBranch = seed.head_branch ?? this.pullSettings(seed.pr).headBranch;
    const reviewApp = this.addReviewApp(parent, seed.pr, headBranch, seed.app_name ?? `${parent.name}-pr${seed.pr}`);
    const createdAt = Date.now() - 10 * 60_000;
    reviewApp.createdAt = createdAt;
    this.createDeployment(this.app(reviewApp.appName), headBranch, 'seed', {
      pusher: PLATFORM_PUSHER,
      createdAt,
      finalAt: createdAt + 90_000,
      script: ['success'],
    });
  }

  /**
   * @param {IncomingCall} call
   * @param {AppRecord} parent
   */
  manualReviewApp(call, parent) {
    this.link(parent);
    const number = pullRequestNumber(call.body);
    const { scenario } = this.state;
    const existing = this.state.reviewApps.find((ra) => ra.parentName === parent.name && ra.number === number);
    if (existing) {
      if (scenario.reviewAppExists === 'error') {
        throw unprocessable({ pull_request_id: ['a review app already exists for this pull request'] });
      }
      return this.reviewAppReply(existing);
    }
    const reviewApp = this.addReviewApp(parent, number, this.pullSettings(number).headBranch, `${parent.name}-pr${number}`);
    if (scenario.reviewAppDeploymentDelay > 0) reviewApp.pendingListCalls = scenario.reviewAppDeploymentDelay;
    else this.createReviewAppDeployment(reviewApp);
    return this.reviewAppReply(reviewApp);
  }

  /** @param {ReviewAppRecord} reviewApp */
  createReviewAppDeployment(reviewApp) {
    this.createDeployment(this.app(reviewApp.appName), reviewApp.headBranch, 'review_app', { pusher: PLATFORM_PUSHER });
  }

  /**
   * A deployment-list call on a review app whose first deployment is pending.
   * @param {AppRecord} app
   */
  releasePendingReviewDeployment(app) {
    const reviewApp = this.state.reviewApps.find((ra) => ra.appName === app.name && ra.pendingListCalls !== null);
    if (!reviewApp || reviewApp.pendingListCalls === null) return;
    if (reviewApp.pendingListCalls > 0) {
      reviewApp.pendingListCalls -= 1;
      return;
    }
    reviewApp.pendingListCalls = null;
    this.createReviewAppDeployment(reviewApp);
  }

  /**
   * @param {ReviewAppRecord} reviewApp
   * @returns {Reply}
   */
  reviewAppReply(reviewApp) {
    switch (this.state.scenario.reviewAppResponse) {
      case 'no-body':
        return { status: 200, text: '', contentType: JSON_TYPE };
      case 'empty-object':
        return ok({});
      default:
        return ok({ review_app: this.reviewAppView(reviewApp) });
    }
  }

  /** @param {ReviewAppRecord} reviewApp */
  reviewAppView(reviewApp) {
    const app = this.app(reviewApp.appName);
    const parent = this.app(reviewApp.parentName);
    const link = reviewApp.parentLink;
    const pull = this.pullView(link, reviewApp.number);
    const sourceOwner = pull.source_repo_name.split('/')[0];
    const last = this.deploymentsOf(app)[0];
    const hoursLater = (/** @type {number} */ hours) => iso(reviewApp.createdAt + hours * 3_600_000);
    return {
      id: reviewApp.id,
      repo_link_id: link.id,
      app_id: app.id,
      app_name: app.name,
      parent_app_id: parent.id,
      parent_app_name: parent.name,
      created_at: iso(reviewApp.createdAt),
      stale_deletion_date: link.delete_stale_enabled ? hoursLater(link.hours_before_delete_stale) : null,
      on_close_deletion_date: null,
      pull_request: {
        number: reviewApp.number,
        branch_name: `${sourceOwner}:${reviewApp.headBranch}`,
        title: pull.title,
        ...pullUrls(link, reviewApp.number),
        ref: this.headOf(link, reviewApp.headBranch),
        base_ref: link.branch,
        created_at: iso(reviewApp.createdAt),
        closed_at: GO_ZERO_TIME,
        source_repo_name: pull.source_repo_name,
        source_repo_html_url: pull.source_repo_html_url,
        target_repo_id: Number.parseInt(fakeSha(`${link.owner}/${link.repo}`).slice(0, 8), 16),
      },
      last_deployment: last
        ? {
            id: fakeSha(last.id).slice(0, 24),
            upstream_deployment_id: last.id,
            created_at: iso(last.createdAt),
            status: this.observe(last),
            git_ref: last.gitRef,
            scm_link: commitUrl(link, last.gitRef),
            github_link: commitUrl(link, last.gitRef),
            pusher: last.pusher,
          }
        : null,
    };
  }

  /** @param {AppRecord} parent */
  listReviewApps(parent) {
    this.link(parent);
    const reviewApps = this.state.reviewApps.filter((ra) => ra.parentName === parent.name);
    return ok({ review_apps: reviewApps.map((ra) => this.reviewAppView(ra)) });
  }
}

/**
 * @param {Partial<Integration>} seed
 * @param {number} index
 * @param {Person} user
 * @returns {Integration}
 */
function buildIntegration(seed, index, user) {
  const scmType = seed.scm_type ?? 'github';
  const url = seed.url ?? own(SCM_ROOTS, scmType) ?? `https://${scmType}.example.com`;
  const username = seed.username ?? 'octocat';
  const uid = seed.uid ?? String(583231 + index);
  return {
    id: `int-${scmType}-${index + 1}`,
    scm_type: scmType,
    url,
    access_token: 'dummy-scm-access-token',
    uid,
    username,
    email: `${username}@example.com`,
    avatar_url: scmType.startsWith('github') ? `https://avatars.githubusercontent.com/u/${uid}` : `${url}/uploads/avatar/${uid}.png`,
    profile_url: `${url}/${username}`,
    created_at: iso(Date.now()),
    owner: personOf(user),
    ...seed,
  };
}

/**
 * @param {Partial<Region>} seed
 * @param {number} index
 * @param {string} apiUrl
 * @returns {Region}
 */
function buildRegion(seed, index, apiUrl) {
  const name = seed.name ?? `region-${index + 1}`;
  return {
    name,
    display_name: name,
    api: apiUrl,
    dashboard: `https://my.${name}.scalingo.com`,
    database_api: `https://db-api.${name}.scalingo.com`,
    ssh: `ssh.${name}.scalingo.com:22`,
    default: index === 0,
    ...seed,
  };
}

// ---------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------

/**
 * Starts the fake auth service and regional API on 127.0.0.1 (random ports).
 * @param {FakeScalingoOptions} [options]
 * @returns {Promise<FakeScalingo>}
 */
export async function startFakeScalingo(options = {}) {
  const simulation = new ScalingoSimulation(options);
  const { state } = simulation;
  /** @type {RecordedRequest[]} */
  const requests = [];
  const faults = new FaultInjector();
  for (const rule of options.faults ?? []) faults.add(rule);

  /** @param {'auth' | 'api'} service */
  const serverConfig = (service) => ({
    service,
    requests,
    faults,
    handle: (/** @type {IncomingCall} */ call) => simulation.handle(service, call),
    errorReply: scalingoErrorReply,
    rateLimitPerMinute: () => state.scenario.rateLimitPerMinute,
    ...(options.onRequest && { onRequest: options.onRequest }),
  });
  const [auth, api] = await Promise.all([startRecordingServer(serverConfig('auth')), startRecordingServer(serverConfig('api'))]);
  simulation.attach(api.url);

  return {
    authUrl: auth.url,
    apiUrl: api.url,
    requests,
    state,
    fault: (rule) => faults.add(rule),
    clearFaults: () => faults.clear(),
    revokeBearers: () => simulation.revokeBearers(),
    setScenario(partial) {
      Object.assign(state.scenario, partial);
      simulation.checkScenario();
    },
    mutating: () =>
      requests.filter(
        ({ method, path }) => !['GET', 'HEAD'].includes(method) && !(method === 'POST' && path.split('?')[0] === '/v1/tokens/exchange'),
      ),
    deploymentsCreated: () =>
      state.deployments.filter((deployment) => deployment.trigger !== 'seed').map((deployment) => simulation.timeline(deployment)),
    deploymentTimeline(id) {
      const deployment = state.deployments.find((candidate) => candidate.id === id);
      return deployment && simulation.timeline(deployment);
    },
    close: async () => {
      await Promise.all([auth.close(), api.close()]);
    },
  };
}

/**
 * Standalone mode: `node test/support/fake-scalingo.js [options.json]` prints
 * `{"authUrl":…,"apiUrl":…}` on stdout, logs each request on stderr and stops
 * on SIGINT/SIGTERM.
 * @param {string[]} [args]
 */
export async function main(args = process.argv.slice(2)) {
  const optionsFile = args[0];
  /** @type {FakeScalingoOptions} */
  const options = optionsFile ? JSON.parse(await readFile(optionsFile, 'utf8')) : {};
  const fake = await startFakeScalingo({
    ...options,
    onRequest: ({ service, method, path, status, fault }) => {
      process.stderr.write(`${service} ${method} ${path} ${status ?? 'no-response'}${fault ? ` (fault: ${fault})` : ''}\n`);
    },
  });
  process.stdout.write(`${JSON.stringify({ authUrl: fake.authUrl, apiUrl: fake.apiUrl })}\n`);
  await new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await fake.close();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((/** @type {unknown} */ error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
