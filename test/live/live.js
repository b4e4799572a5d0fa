#!/usr/bin/env node
// @ts-check
/**
 * @file The live suite (`npm run test:live`): the product's requests sent to the real Scalingo with a maintainer's
 * token, every answer recorded (redacted) under test/contract/recorded/, its shape compared with the documented
 * answers (test/contract/fixtures/) and with the project's fake, and a table of the open questions it settles.
 *
 * It runs only when SCALINGO_API_TOKEN and SCALINGO_LIVE_APP (a scratch app linked to a scratch repository) are set;
 * otherwise it says so and exits 0. Read-only unless SCALINGO_LIVE_WRITE=1. See the README section "How we check
 * against the real Scalingo" and `configFrom()` below for every variable.
 *
 * Exit status: 0 when skipped or when Scalingo answered as the fake does (but for the differences listed in
 * test/contract/differences.js); 1 when Scalingo answered differently from the fake, or a step failed; 2 on a bad
 * setting. The API token and the bearer are never printed nor written.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { collectFakeAnswers, STREAM_ORIGIN } from '../contract/fake-answers.js';
import { ALLOWED_DIFFERENCES, allowedFor } from '../contract/differences.js';
import { expectedAnswers, frameExample, FRAME_STATUS } from '../contract/fixtures.js';
import { compareAnswer, formatDifference, isRecord, shapeOf } from '../contract/shape.js';
import { basic, call, openStream } from '../contract/wire.js';
import { answerQuestions, questionsMarkdown, questionsTable } from './questions.js';
import { Redactor } from './redact.js';

/** @typedef {import('../contract/wire.js').RawAnswer} RawAnswer */
/** @typedef {import('../contract/wire.js').StreamSession} StreamSession */
/** @typedef {import('../contract/wire.js').StreamFrame} StreamFrame */
/** @typedef {import('./questions.js').Observations} Observations */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DEFAULT_RECORD_DIR = join(ROOT, 'test/contract/recorded');
const IN_PROGRESS = ['queued', 'building', 'pushing', 'starting'];
const MARK = 'scalingo-deploy live suite';
/** Response headers worth keeping: what the body is, and anything about limits and retries. */
const KEPT_HEADERS = /^(content-type|retry-after|x-request-id|www-authenticate)$|rate|limit|retry/i;

/**
 * @typedef {object} LiveConfig
 * @property {string} token
 * @property {string} app
 * @property {string} region
 * @property {string} apiUrl
 * @property {string} authUrl
 * @property {boolean} write
 * @property {number | undefined} pr
 * @property {string | undefined} branch The app's branch to deploy (default: its link's).
 * @property {string | undefined} prBranch The pull request's head branch (default: read from Scalingo).
 * @property {string} recordDir
 * @property {number} streamSeconds
 * @property {number} deployTimeoutSeconds
 * @property {number} pollSeconds
 * @property {number} reviewAppWaitSeconds
 * @property {number} rateLimitRequests 0: no rate-limit probe.
 */

/**
 * A URL as the variables give it: the docs write a bare host, the CLI a URL.
 * @param {string} value
 */
const withScheme = (value) => (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `https://${value}`).replace(/\/+$/, '');

/**
 * @param {NodeJS.ProcessEnv} env
 * @returns {{ skip: string } | { error: string } | { config: LiveConfig }}
 */
export function configFrom(env) {
  const token = env.SCALINGO_API_TOKEN?.trim() ?? '';
  const app = env.SCALINGO_LIVE_APP?.trim() ?? '';
  const missing = [!token && 'SCALINGO_API_TOKEN', !app && 'SCALINGO_LIVE_APP'].filter(Boolean);
  if (missing.length > 0) {
    return { skip: `Live suite skipped: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set. It needs an API token (SCALINGO_API_TOKEN) and a scratch app linked to a scratch repository (SCALINGO_LIVE_APP); nothing was sent to Scalingo.` };
  }
  /** @param {string} name @param {number} fallback */
  const number = (name, fallback) => {
    const raw = env[name]?.trim();
    if (!raw) return fallback;
    const value = Number(raw);
    return Number.isFinite(value) && value >= 0 ? value : NaN;
  };
  const region = env.SCALINGO_REGION?.trim() || 'osc-fr1';
  const prRaw = env.SCALINGO_LIVE_PR?.trim();
  const pr = prRaw ? Number(prRaw) : undefined;
  const write = ['1', 'true', 'yes'].includes((env.SCALINGO_LIVE_WRITE ?? '').trim().toLowerCase());
  /** @type {LiveConfig} */
  const config = {
    token,
    app,
    region,
    apiUrl: withScheme(env.SCALINGO_API_URL?.trim() || `https://api.${region}.scalingo.com`),
    authUrl: withScheme(env.SCALINGO_AUTH_URL?.trim() || 'https://auth.scalingo.com'),
    write,
    pr,
    branch: env.SCALINGO_LIVE_BRANCH?.trim() || undefined,
    prBranch: env.SCALINGO_LIVE_PR_BRANCH?.trim() || undefined,
    recordDir: resolve(env.SCALINGO_LIVE_RECORD_DIR?.trim() || DEFAULT_RECORD_DIR),
    streamSeconds: number('SCALINGO_LIVE_STREAM_SECONDS', 20),
    deployTimeoutSeconds: number('SCALINGO_LIVE_DEPLOY_TIMEOUT_SECONDS', 900),
    pollSeconds: number('SCALINGO_LIVE_POLL_SECONDS', 15),
    reviewAppWaitSeconds: number('SCALINGO_LIVE_REVIEW_APP_WAIT_SECONDS', 60),
    rateLimitRequests: number('SCALINGO_LIVE_RATE_LIMIT_REQUESTS', 100),
  };
  const bad = Object.entries(config).filter(([, v]) => typeof v === 'number' && Number.isNaN(v)).map(([k]) => k);
  if (bad.length > 0) return { error: `invalid number in the settings: ${bad.join(', ')}` };
  if (pr !== undefined && !(Number.isSafeInteger(pr) && pr > 0)) return { error: 'SCALINGO_LIVE_PR must be the number of an open pull request of the scratch repository' };
  if (pr !== undefined && !write) return { error: 'SCALINGO_LIVE_PR creates a review app: it needs SCALINGO_LIVE_WRITE=1' };
  return { config };
}

/**
 * One answer kept for the record.
 * @typedef {object} Recorded
 * @property {string} label The file it is written to.
 * @property {string | undefined} answer The documented answer it is compared with (a fixture name).
 * @property {{ service: string, method: string, path: string }} request
 * @property {number} status
 * @property {Record<string, string>} headers
 * @property {RawAnswer['content']} content
 * @property {unknown} body
 * @property {number} ms
 */

/**
 * @typedef {object} RecordedStream
 * @property {string} label
 * @property {string} url
 * @property {boolean} origin Whether the Origin header was sent.
 * @property {string} outcome
 * @property {number | undefined} httpStatus
 * @property {string | undefined} refusal
 * @property {{ code: number, reason: string, at: number } | undefined} closed
 * @property {StreamFrame[]} frames
 */

/** @param {unknown} value @param {string} key */
const field = (value, key) => (isRecord(value) ? value[key] : undefined);
/** @param {unknown} value @param {string} key */
const text = (value, key) => {
  const found = field(value, key);
  return typeof found === 'string' ? found : undefined;
};
/** @param {RawAnswer | undefined} raw */
const ok = (raw) => raw !== undefined && raw.status >= 200 && raw.status < 300;
/** @param {number} ms */
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

/** The run: its settings, what it recorded and saw, and how it speaks. */
class LiveRun {
  /** @type {Recorded[]} */
  records = [];
  /** @type {RecordedStream[]} */
  streams = [];
  /** @type {string[]} */
  failures = [];
  bearer = '';
  redactor = new Redactor();

  /**
   * @param {LiveConfig} config
   * @param {(line: string) => void} print
   */
  constructor(config, print) {
    this.config = config;
    this.rawPrint = print;
    /** @type {Observations} */
    this.obs = { mode: config.write ? 'write' : 'read-only', pullRequest: config.pr !== undefined };
    this.redactor.secret(config.token, 'api-token');
    this.redactor.host(config.apiUrl, 'api-host');
    this.redactor.host(config.authUrl, 'auth-host');
    this.redactor.literal(config.app, 'app');
  }

  /** @param {string} line */
  say(line) {
    this.rawPrint(this.redactor.text(line));
  }

  /**
   * One request, recorded. A 401 in the middle of the run (a bearer past its hour) gets one fresh bearer.
   * @param {string} label
   * @param {string | undefined} answer
   * @param {'auth' | 'api'} service
   * @param {string} method
   * @param {string} path
   * @param {{ body?: unknown, authorization?: string, quiet?: boolean }} [options]
   * @returns {Promise<RawAnswer | undefined>}
   */
  async request(label, answer, service, method, path, options = {}) {
    const base = service === 'auth' ? this.config.authUrl : this.config.apiUrl;
    const send = () => call(base, method, path, { authorization: options.authorization ?? `Bearer ${this.bearer}`, body: options.body });
    let raw;
    try {
      raw = await send();
      if (raw.status === 401 && options.authorization === undefined && label !== 'token-exchange') {
        this.say(`${method} ${path}: 401, exchanging the token again`);
        await this.exchange('token-exchange-again');
        raw = await send();
      }
    } catch (error) {
      this.fail(`${method} ${path}: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
    /** @type {Record<string, string>} */
    const headers = Object.fromEntries(Object.entries(raw.headers).filter(([name]) => KEPT_HEADERS.test(name)));
    // An error is compared with the documented error of its status, unless the request was meant to provoke one.
    const compared = raw.status >= 400 && !answer?.startsWith('error-') ? errorAnswer(raw.status, raw.body) : answer;
    this.records = this.records.filter((r) => r.label !== label);
    this.records.push({ label, answer: compared, request: { service, method, path }, status: raw.status, headers, content: raw.content, body: raw.body, ms: raw.ms });
    if (!options.quiet) this.say(`  ${method} ${path.split('?')[0]} -> ${raw.status}${raw.content === 'json' ? '' : ` (${raw.content})`}`);
    return raw;
  }

  /** @param {string} message */
  fail(message) {
    this.failures.push(message);
    this.say(`  FAILED: ${message}`);
  }

  /**
   * Exchanges the API token for a bearer; records its lifetime.
   * @param {string} label
   */
  async exchange(label) {
    const raw = await this.request(label, 'token-exchange', 'auth', 'POST', '/v1/tokens/exchange', { body: {}, authorization: basic(this.config.token) });
    const token = text(raw?.body, 'token');
    if (!ok(raw) || !token) throw new Error(`the token exchange answered ${raw?.status ?? 'nothing'}: check SCALINGO_API_TOKEN and SCALINGO_AUTH_URL`);
    this.bearer = token;
    this.redactor.secret(token, 'bearer');
    const claims = jwtClaims(token);
    const exp = field(claims, 'exp');
    const iat = field(claims, 'iat');
    this.obs.bearer = typeof exp === 'number'
      ? { claims: true, ...(typeof iat === 'number' ? { lifetimeSeconds: exp - iat } : {}), expiresInSeconds: Math.round(exp - Date.now() / 1000) }
      : { claims: false };
  }

  /**
   * Opens the stream of an app, sends the documented auth frame with the bearer.
   * @param {string} label
   * @param {string} url
   * @param {boolean} origin
   */
  async openStream(label, url, origin) {
    this.redactor.host(url, 'stream-host');
    const session = await openStream(url, origin ? { origin: STREAM_ORIGIN } : {});
    /** @type {RecordedStream} */
    const record = { label, url, origin, outcome: session.outcome, httpStatus: session.httpStatus, refusal: session.refusal, closed: session.closed, frames: session.frames };
    this.streams = this.streams.filter((s) => s.label !== label);
    this.streams.push(record);
    if (session.outcome === 'open') {
      const auth = frameExample('auth');
      if (isRecord(auth.data)) auth.data.token = this.bearer;
      session.send(JSON.stringify(auth));
    }
    this.say(`  stream ${origin ? 'with' : 'without'} Origin: ${session.outcome}${session.httpStatus && session.outcome !== 'open' ? ` (HTTP ${session.httpStatus})` : ''}`);
    return { session, record };
  }

  /**
   * Follows a deployment to its end: its final status on the stream, else by reading it every `pollSeconds`.
   * @param {string} app
   * @param {string} id
   * @param {{ session: StreamSession, record: RecordedStream } | undefined} stream
   * @param {string} label
   * @returns {Promise<{ finalStatus?: string, seconds: number, followedBy?: string, gitRef?: string }>}
   */
  async follow(app, id, stream, label) {
    const started = Date.now();
    const deadline = started + this.config.deployTimeoutSeconds * 1000;
    const isEnd = (/** @type {StreamFrame} */ f) => isRecord(f.json) && f.json.type === 'status' && f.json.id === id && !IN_PROGRESS.includes(String(field(f.json.data, 'status')));
    let current = stream;
    while (Date.now() < deadline) {
      const wait = Math.min(this.config.pollSeconds * 1000, Math.max(0, deadline - Date.now()));
      if (current && !current.session.closed) {
        const end = await current.session.waitFor(isEnd, wait);
        if (end) {
          const shown = await this.request(`${label}-show`, 'deployment-show', 'api', 'GET', `/v1/apps/${encodeURIComponent(app)}/deployments/${encodeURIComponent(id)}`);
          return { finalStatus: String(field(field(end.json, 'data'), 'status')), seconds: Math.round((Date.now() - started) / 1000), followedBy: 'the stream', gitRef: text(field(shown?.body, 'deployment'), 'git_ref') };
        }
        const closed = closedOf(current.session);
        if (closed) this.say(`  the stream closed (${closed.code} ${closed.reason}): reading the deployment instead`);
      } else {
        await sleep(wait);
      }
      const raw = await this.request(`${label}-show`, 'deployment-show', 'api', 'GET', `/v1/apps/${encodeURIComponent(app)}/deployments/${encodeURIComponent(id)}`, { quiet: true });
      const status = text(field(raw?.body, 'deployment'), 'status');
      if (status && !IN_PROGRESS.includes(status)) {
        return { finalStatus: status, seconds: Math.round((Date.now() - started) / 1000), followedBy: 'polling', gitRef: text(field(raw?.body, 'deployment'), 'git_ref') };
      }
    }
    this.fail(`deployment ${id} of ${app} did not end within ${this.config.deployTimeoutSeconds} s`);
    return { seconds: this.config.deployTimeoutSeconds };
  }

  /**
   * Every page of GET /v1/scm_repo_links.
   * @param {string} label
   * @returns {Promise<{ links: unknown[], prev: unknown[], next: unknown[], pages: number, perPageKey: boolean }>}
   */
  async allLinks(label) {
    /** @type {unknown[]} */
    const links = [];
    const prev = [];
    const next = [];
    let perPageKey = false;
    let page = 1;
    for (let pages = 1; pages <= 100; pages++) {
      const raw = await this.request(`${label}-page-${pages}`, 'links-list', 'api', 'GET', `/v1/scm_repo_links?page=${page}&per_page=50`);
      const items = field(raw?.body, 'scm_repo_links');
      if (!ok(raw) || !Array.isArray(items)) break;
      links.push(...items);
      const pagination = field(field(raw?.body, 'meta'), 'pagination');
      prev.push(field(pagination, 'prev_page'));
      next.push(field(pagination, 'next_page'));
      perPageKey ||= isRecord(pagination) && 'per_page' in pagination;
      const nextPage = field(pagination, 'next_page');
      if (typeof nextPage !== 'number' || nextPage <= page || items.length === 0) return { links, prev, next, pages, perPageKey };
      page = nextPage;
    }
    return { links, prev, next, pages: prev.length, perPageKey };
  }

  /** Names of the account seen in an answer become placeholders before anything is printed or written. */
  learnNames(/** @type {unknown} */ link) {
    this.redactor.literal(text(link, 'owner'), 'owner');
    this.redactor.literal(text(link, 'repo'), 'repo');
    this.redactor.literal(text(field(link, 'linker'), 'username'), 'username');
  }
}

/**
 * How a session closed, if it did (read at call time).
 * @param {StreamSession} session
 */
const closedOf = (session) => session.closed;

/**
 * The claims of a JWT, read without verifying it.
 * @param {string} token
 * @returns {unknown}
 */
function jwtClaims(token) {
  try {
    return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * What the with-Origin stream and every later one said about log and new events.
 * @param {LiveRun} run
 */
function observeFrames(run) {
  const frames = run.streams.filter((s) => s.origin).flatMap((s) => s.frames).map((f) => f.json).filter(isRecord);
  const logs = frames.filter((f) => f.type === 'log').map((f) => text(f.data, 'content')).filter((c) => c !== undefined);
  run.obs.logFrames = {
    total: logs.length,
    endingWithNewline: logs.filter((c) => c.endsWith('\n')).length,
    severalLines: logs.filter((c) => c.replace(/\r?\n$/, '').includes('\n')).length,
  };
  const news = frames.filter((f) => f.type === 'new').map((f) => field(f.data, 'deployment'));
  run.obs.newEvents = {
    seen: news.length,
    kinds: [...new Set(news.map((d) => (isRecord(d) ? 'an object' : typeof d === 'string' ? 'a string id' : typeof d)))],
    keys: [...new Set(news.flatMap((d) => (isRecord(d) ? Object.keys(d) : [])))].sort(),
  };
}

/**
 * The read-only part.
 * @param {LiveRun} run
 */
async function readOnly(run) {
  const { app } = run.config;
  const appPath = `/v1/apps/${encodeURIComponent(app)}`;
  run.say('Token exchange and the bearer');
  await run.exchange('token-exchange');
  await run.request('error-401-exchange', 'error-401', 'auth', 'POST', '/v1/tokens/exchange', { body: {}, authorization: basic('tk-us-not-a-token-live-check') });
  await run.request('error-401-bearer', 'error-401', 'api', 'GET', appPath, { authorization: 'Bearer not-a-bearer' });
  const selfAuth = await run.request('users-self', 'users-self', 'auth', 'GET', '/v1/users/self');
  const selfRegional = await run.request('users-self-regional', undefined, 'api', 'GET', '/v1/users/self');
  run.obs.usersSelf = { auth: selfAuth?.status, regional: selfRegional?.status };
  run.redactor.literal(text(field(selfAuth?.body, 'user'), 'username'), 'username');
  const integrations = field(await run.request('integrations-list', 'integrations-list', 'auth', 'GET', '/v1/scm_integrations'), 'body');
  const integrationList = field(integrations, 'scm_integrations');
  for (const integration of Array.isArray(integrationList) ? integrationList : []) {
    run.redactor.literal(text(integration, 'username'), 'scm-user');
    run.redactor.literal(text(integration, 'uid'), 'scm-uid');
  }

  run.say('The app and its link');
  const appAnswer = await run.request('app-show', 'app-show', 'api', 'GET', appPath);
  if (!ok(appAnswer)) throw new Error(`GET ${appPath} answered ${appAnswer?.status ?? 'nothing'}: check SCALINGO_LIVE_APP and the region (SCALINGO_REGION, SCALINGO_API_URL)`);
  const appBody = field(appAnswer?.body, 'app');
  const linkAnswer = await run.request('link-show', 'link-show', 'api', 'GET', `${appPath}/scm_repo_link`);
  const link = field(linkAnswer?.body, 'scm_repo_link');
  run.learnNames(link);
  const lastAuto = field(link, 'last_auto_deploy_at');
  if (link !== undefined) run.obs.linkUnsetDate = { value: lastAuto === null ? 'null' : JSON.stringify(lastAuto) };

  run.say('The list of links, every page');
  const listed = await run.allLinks('links-list');
  run.obs.pagination = { pages: listed.pages, prevPage: listed.prev, nextPage: listed.next, perPageKey: listed.perPageKey };

  run.say('Deployments');
  const deployments = await run.request('deployments-list', 'deployments-list', 'api', 'GET', `${appPath}/deployments?page=1&per_page=10`);
  const list = field(deployments?.body, 'deployments');
  const items = Array.isArray(list) ? list.filter(isRecord) : [];
  const newest = items[0];
  if (newest) {
    const success = items.find((d) => d.status === 'success');
    const last = field(appBody, 'last_deployment_id');
    run.obs.lastDeployment = {
      newest: { id: String(newest.id), status: String(newest.status) },
      ...(success && { newestSuccess: { id: String(success.id) } }),
      lastDeploymentId: typeof last === 'string' || last === null ? last : undefined,
    };
    const id = encodeURIComponent(String(newest.id));
    const shown = await run.request('deployment-show', 'deployment-show', 'api', 'GET', `${appPath}/deployments/${id}`);
    await run.request('deployment-output', 'deployment-output', 'api', 'GET', `${appPath}/deployments/${id}/output`);
    const output = text(field(field(shown?.body, 'deployment'), 'links'), 'output');
    if (output) {
      try {
        const url = new URL(output);
        run.obs.outputLink = { sameHost: url.host === new URL(run.config.apiUrl).host, path: run.redactor.text(url.pathname) };
      } catch {
        run.obs.outputLink = { sameHost: false, path: `not a URL: ${run.redactor.text(output)}` };
      }
    }
  } else {
    run.say('  the app has no deployment: deploy it once (or run with SCALINGO_LIVE_WRITE=1) to record one');
  }
  await run.request('unknown-route', undefined, 'api', 'GET', `${appPath}/scm_repo_link/no-such-endpoint`);
  const unknown = run.records.find((r) => r.label === 'unknown-route');
  if (unknown) run.obs.unknownRoute = { status: unknown.status, body: run.redactor.text(JSON.stringify(unknown.body)).slice(0, 160) };
  await run.request('error-404', 'error-404', 'api', 'GET', `/v1/apps/no-such-app-${Date.now().toString(36)}`);

  run.say('Review apps');
  await reviewAppsSeen(run, 'review-apps-list', listed.links);
}

/**
 * Reads the review app list and each review app's own link (three at most).
 * @param {LiveRun} run
 * @param {string} label
 * @param {unknown[]} links The list of links, to see whether review apps' links are in it.
 */
async function reviewAppsSeen(run, label, links) {
  const appPath = `/v1/apps/${encodeURIComponent(run.config.app)}`;
  const answer = await run.request(label, 'review-apps-list', 'api', 'GET', `${appPath}/scm_repo_link/review_apps`);
  const list = field(answer?.body, 'review_apps');
  const reviewApps = Array.isArray(list) ? list.filter(isRecord) : [];
  for (const [i, ra] of reviewApps.entries()) {
    run.redactor.literal(text(ra, 'app_name'), `review-app-${i + 1}`);
    // A pull request from a fork names the fork's owner.
    run.redactor.literal(text(field(ra, 'pull_request'), 'source_repo_name')?.split('/')[0], 'source-owner');
    run.redactor.literal(text(field(ra, 'pull_request'), 'branch_name')?.split(':')[0], 'source-owner');
  }
  const pulls = reviewApps.map((ra) => field(ra, 'pull_request'));
  run.obs.reviewAppListBranch = { values: pulls.map((p) => text(p, 'branch_name')).filter((v) => v !== undefined).map((v) => run.redactor.text(v)) };
  run.obs.reviewAppDates = {
    onClose: reviewApps.filter((ra) => text(field(ra, 'pull_request'), 'closed_at')?.startsWith('0001-') ?? true).map((ra) => String(field(ra, 'on_close_deletion_date'))),
    closedAt: pulls.map((p) => String(field(p, 'closed_at'))),
    stale: reviewApps.map((ra) => String(field(ra, 'stale_deletion_date'))),
  };
  const listedAppIds = new Set(links.map((l) => text(l, 'app_id')));
  run.obs.reviewAppLinksListed = { reviewApps: reviewApps.length, listed: reviewApps.filter((ra) => listedAppIds.has(text(ra, 'app_id'))).length };
  /** @type {string[]} */
  const branches = [];
  for (const [i, ra] of reviewApps.slice(0, 3).entries()) {
    const name = text(ra, 'app_name');
    if (!name) continue;
    const own = await run.request(`${label}-link-${i + 1}`, 'link-show', 'api', 'GET', `/v1/apps/${encodeURIComponent(name)}/scm_repo_link`);
    const branch = text(field(own?.body, 'scm_repo_link'), 'branch');
    if (branch !== undefined) branches.push(run.redactor.text(branch));
  }
  run.obs.reviewAppLinkBranch = { values: branches };
  return reviewApps;
}

/**
 * Opens the stream without Origin (briefly) and with it (`streamSeconds`), and leaves the second open.
 * @param {LiveRun} run
 * @param {string} url
 */
async function streamProbe(run, url) {
  run.say('The deployments stream');
  const bare = await run.openStream('stream-without-origin', url, false);
  if (bare.session.outcome === 'open') {
    await bare.session.waitFor(() => true, 3_000);
    await bare.session.keepOpen(500);
  }
  run.obs.streamNoOrigin = {
    outcome: bare.session.outcome,
    ...(bare.session.httpStatus !== undefined && { httpStatus: bare.session.httpStatus }),
    framesAfterAuth: bare.session.frames.length,
    closedAfterAuth: bare.session.outcome === 'open' && bare.session.closed !== undefined,
  };
  await bare.session.close();
  bare.record.closed = bare.session.closed;

  const withOrigin = await run.openStream('stream', url, true);
  if (withOrigin.session.outcome === 'open') {
    run.say(`  keeping it open ${run.config.streamSeconds} s`);
    await withOrigin.session.keepOpen(run.config.streamSeconds * 1000);
  }
  const frames = withOrigin.session.frames;
  run.obs.streamWithOrigin = {
    outcome: withOrigin.session.outcome,
    ...(withOrigin.session.httpStatus !== undefined && { httpStatus: withOrigin.session.httpStatus }),
    framesAfterAuth: frames.length,
    ...(frames[0] && { firstFrameType: String(field(frames[0].json, 'type') ?? 'unreadable') }),
    replayedLogs: frames.filter((f) => f.at <= 1_500 && field(f.json, 'type') === 'log').length,
    pings: frames.filter((f) => field(f.json, 'type') === 'ping').map((f) => f.at),
    seconds: run.config.streamSeconds,
  };
  return withOrigin;
}

/**
 * The write part: a manual deploy of the app followed to its end, then (with a pull request) its review app.
 * @param {LiveRun} run
 * @param {{ session: StreamSession, record: RecordedStream } | undefined} stream The app's open stream.
 */
async function writes(run, stream) {
  const { app } = run.config;
  const appPath = `/v1/apps/${encodeURIComponent(app)}`;
  const link = field(run.records.find((r) => r.label === 'link-show')?.body, 'scm_repo_link');
  const branch = run.config.branch ?? text(link, 'branch');
  if (!branch) {
    run.fail('write mode needs the app linked to its repository (or SCALINGO_LIVE_BRANCH): no manual deploy');
    return;
  }
  run.say(`Manual deploy of the app's branch, followed to its end`);
  const deploy = await run.request('manual-deploy', 'manual-deploy', 'api', 'POST', `${appPath}/scm_repo_link/manual_deploy`, { body: { branch } });
  const id = text(field(deploy?.body, 'deployment'), 'id');
  run.obs.appDeploy = { status: deploy?.status ?? 0 };
  if (ok(deploy) && id) {
    const end = await run.follow(app, id, stream, 'manual-deploy-end');
    run.obs.appDeploy = { status: deploy?.status ?? 0, ...end };
    await run.request('manual-deploy-output', 'deployment-output', 'api', 'GET', `${appPath}/deployments/${encodeURIComponent(id)}/output`);
  }
  if (run.config.pr !== undefined) await reviewApp(run, run.config.pr);
}

/**
 * A manual review app of pull request `pr`: its answer, a second call, its own link read and PATCHed, its
 * deployment with the bare branch and once with owner:branch.
 * @param {LiveRun} run
 * @param {number} pr
 */
async function reviewApp(run, pr) {
  const { app } = run.config;
  const appPath = `/v1/apps/${encodeURIComponent(app)}`;
  const before = await run.request('review-apps-before', 'review-apps-list', 'api', 'GET', `${appPath}/scm_repo_link/review_apps`);
  const listBefore = field(before?.body, 'review_apps');
  const existed = Array.isArray(listBefore) && listBefore.some((ra) => Number(field(field(ra, 'pull_request'), 'number')) === pr);

  run.say(`Manual review app of pull request #${pr}${existed ? ' (it exists already)' : ''}`);
  const created = await run.request('manual-review-app', 'manual-review-app', 'api', 'POST', `${appPath}/scm_repo_link/manual_review_app`, { body: { pull_request_id: pr } });
  const summary = (/** @type {RawAnswer | undefined} */ raw) => (raw ? run.redactor.text(raw.content === 'json' ? JSON.stringify(shapeSummary(raw.body)) : JSON.stringify(raw.text.slice(0, 120))) : 'no answer');
  run.obs.reviewAppAnswer = { status: created?.status ?? 0, body: summary(created) };
  const again = await run.request('manual-review-app-again', undefined, 'api', 'POST', `${appPath}/scm_repo_link/manual_review_app`, { body: { pull_request_id: pr } });
  if (again) {
    run.obs.reviewAppAgain = { status: again.status, body: summary(again), existedBefore: existed };
    const record = run.records.find((r) => r.label === 'manual-review-app-again');
    if (record && ok(again)) record.answer = 'manual-review-app';
  }

  // Its name: from the answer, else from the list, else Scalingo's naming.
  let name = text(field(created?.body, 'review_app'), 'app_name');
  const waitUntil = Date.now() + run.config.reviewAppWaitSeconds * 1000;
  /** @type {Record<string, unknown> | undefined} */
  let entry;
  while (Date.now() <= waitUntil) {
    const listed = await run.request('review-apps-after', 'review-apps-list', 'api', 'GET', `${appPath}/scm_repo_link/review_apps`, { quiet: true });
    const items = field(listed?.body, 'review_apps');
    entry = Array.isArray(items) ? items.filter(isRecord).find((ra) => Number(field(field(ra, 'pull_request'), 'number')) === pr) : undefined;
    if (entry) break;
    await sleep(Math.min(run.config.pollSeconds * 1000, 10_000));
  }
  name ??= text(entry, 'app_name') ?? `${app}-pr${pr}`;
  run.redactor.literal(name, 'review-app');
  const raPath = `/v1/apps/${encodeURIComponent(name)}`;

  // Its own link, once it exists.
  /** @type {RawAnswer | undefined} */
  let own;
  while (Date.now() <= waitUntil + run.config.reviewAppWaitSeconds * 1000) {
    own = await run.request('review-app-link-show', 'link-show', 'api', 'GET', `${raPath}/scm_repo_link`);
    if (ok(own) || (own && own.status !== 404)) break;
    await sleep(Math.min(run.config.pollSeconds * 1000, 10_000));
  }
  const ownLink = field(own?.body, 'scm_repo_link');
  const ownBranch = text(ownLink, 'branch');
  if (ownBranch !== undefined) run.obs.reviewAppLinkBranch = { values: [run.redactor.text(ownBranch), ...(run.obs.reviewAppLinkBranch?.values ?? [])] };

  // Deployments Scalingo starts by itself (correction 2), watched for a while before ours.
  const started = Date.now();
  /** @type {number} */
  let early;
  do {
    const listed = await run.request('review-app-deployments', 'deployments-list', 'api', 'GET', `${raPath}/deployments?page=1&per_page=10`, { quiet: true });
    const items = field(listed?.body, 'deployments');
    early = Array.isArray(items) ? items.length : 0;
    if (early > 0 || existed) break;
    await sleep(Math.min(run.config.pollSeconds * 1000, 10_000));
  } while (Date.now() - started < run.config.reviewAppWaitSeconds * 1000);
  run.obs.reviewAppSelfDeploy = { existedBefore: existed, deployments: early, waitedSeconds: Math.round((Date.now() - started) / 1000) };

  if (ok(own)) {
    await run.request('review-app-link-update', 'link-update', 'api', 'PATCH', `${raPath}/scm_repo_link`, { body: { scm_repo_link: { auto_deploy_enabled: false } } });
  }
  const listedAfter = await run.allLinks('links-list-after-review-app');
  const raAppId = text(ownLink, 'app_id');
  if (raAppId) {
    const known = run.obs.reviewAppLinksListed;
    const inList = listedAfter.links.some((l) => text(l, 'app_id') === raAppId);
    run.obs.reviewAppLinksListed = { reviewApps: Math.max(1, known?.reviewApps ?? 0), listed: inList ? Math.max(1, known?.listed ?? 0) : 0 };
  }
  await run.request('review-apps-list-after', 'review-apps-list', 'api', 'GET', `${appPath}/scm_repo_link/review_apps`);

  // Its deployment with the bare branch, then once with the label.
  const label = text(field(entry, 'pull_request'), 'branch_name') ?? ownBranch;
  const bare = run.config.prBranch ?? (label?.includes(':') ? label.slice(label.indexOf(':') + 1) : label);
  if (!bare) {
    run.fail('the pull request\'s head branch is unknown: set SCALINGO_LIVE_PR_BRANCH');
    return;
  }
  const raApp = await run.request('review-app-show', 'app-show', 'api', 'GET', raPath);
  const streamUrl = text(field(field(raApp?.body, 'app'), 'links'), 'deployments_stream');
  const stream = streamUrl ? await run.openStream('review-app-stream', streamUrl, true) : undefined;
  try {
    run.say('The review app deployed with the bare branch');
    const deploy = await run.request('review-app-manual-deploy', 'manual-deploy', 'api', 'POST', `${raPath}/scm_repo_link/manual_deploy`, { body: { branch: bare } });
    const id = text(field(deploy?.body, 'deployment'), 'id');
    run.obs.bareDeploy = { status: deploy?.status ?? 0 };
    let bareRef;
    if (ok(deploy) && id) {
      const end = await run.follow(name, id, stream, 'review-app-manual-deploy-end');
      bareRef = end.gitRef;
      run.obs.bareDeploy = { status: deploy?.status ?? 0, ...end };
    }

    const owner = label?.includes(':') ? label.slice(0, label.indexOf(':')) : text(ownLink, 'owner');
    if (owner) {
      run.say('The review app deployed once with owner:branch, to record the answer');
      const labelled = await run.request('review-app-manual-deploy-label', undefined, 'api', 'POST', `${raPath}/scm_repo_link/manual_deploy`, { body: { branch: `${owner}:${bare}` } });
      const labelId = text(field(labelled?.body, 'deployment'), 'id');
      const record = run.records.find((r) => r.label === 'review-app-manual-deploy-label');
      if (record && ok(labelled)) record.answer = 'manual-deploy';
      run.obs.labelDeploy = { status: labelled?.status ?? 0, body: summary(labelled) };
      if (ok(labelled) && labelId) {
        const end = await run.follow(name, labelId, stream, 'review-app-manual-deploy-label-end');
        run.obs.labelDeploy = { ...run.obs.labelDeploy, ...(end.finalStatus && { finalStatus: end.finalStatus }), ...(end.gitRef && bareRef && { sameCommitAsBare: end.gitRef === bareRef }) };
      }
    }
  } finally {
    await stream?.session.close();
  }
}

/**
 * The documented error an error answer is compared with.
 * @param {number} status
 * @param {unknown} body
 * @returns {string | undefined}
 */
function errorAnswer(status, body) {
  if (status === 404) return isRecord(body) && 'resource' in body ? 'error-404' : 'error-404-unnamed';
  return /** @type {Record<number, string>} */ ({ 401: 'error-401', 402: 'error-402', 422: 'error-422', 429: 'error-429', 500: 'error-500' })[status];
}

/**
 * The keys of a JSON body down two levels, for a one-line summary.
 * @param {unknown} body
 * @param {number} [depth]
 * @returns {unknown}
 */
function shapeSummary(body, depth = 0) {
  if (Array.isArray(body)) return body.length === 0 ? [] : [shapeSummary(body[0], depth)];
  if (!isRecord(body)) return body === null ? null : typeof body === 'string' ? (depth === 0 || body.length <= 60 ? body : `${body.slice(0, 60)}…`) : body;
  if (depth >= 1) return Object.fromEntries(Object.keys(body).map((k) => [k, '…']));
  return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, shapeSummary(v, depth + 1)]));
}

/**
 * The last step: requests until Scalingo rate-limits the token (60 a minute documented), to record that answer.
 * @param {LiveRun} run
 */
async function rateLimitProbe(run) {
  const max = run.config.rateLimitRequests;
  if (max === 0) return;
  run.say(`Rate limit: up to ${max} reads of the app until a 429`);
  const path = `/v1/apps/${encodeURIComponent(run.config.app)}`;
  for (let i = 1; i <= max; i++) {
    let raw;
    try {
      raw = await call(run.config.apiUrl, 'GET', path, { authorization: `Bearer ${run.bearer}` });
    } catch (error) {
      run.fail(`rate-limit probe: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    if (raw.status === 429) {
      const headers = Object.fromEntries(Object.entries(raw.headers).filter(([name]) => KEPT_HEADERS.test(name) && name !== 'content-type' && name !== 'x-request-id'));
      run.records.push({ label: 'rate-limited', answer: 'error-429', request: { service: 'api', method: 'GET', path }, status: raw.status, headers: { ...headers, 'content-type': raw.headers['content-type'] ?? '' }, content: raw.content, body: raw.body, ms: raw.ms });
      run.obs.rateLimit = { requests: i, status: raw.status, contentType: raw.headers['content-type'] ?? '', body: run.redactor.text(JSON.stringify(raw.content === 'json' ? raw.body : raw.text.slice(0, 80))), headers };
      run.say(`  429 after ${i} requests`);
      return;
    }
  }
  run.obs.rateLimit = { requests: max };
  run.say(`  no 429 in ${max} requests`);
}

/**
 * Shapes: every recorded answer against its documented answer, and against the fake's.
 * @param {LiveRun} run
 */
async function compareShapes(run) {
  const expected = expectedAnswers();
  const fake = await collectFakeAnswers();
  /** @type {{ answer: string, label: string, status: number, content: RawAnswer['content'], body: unknown }[]} */
  const real = run.records.filter((r) => r.answer !== undefined).map((r) => ({ answer: /** @type {string} */ (r.answer), label: r.label, status: r.status, content: r.content, body: r.body }));
  for (const stream of run.streams.filter((s) => s.outcome === 'open' && s.origin)) {
    for (const frame of stream.frames.filter((f) => isRecord(f.json)).slice(0, 200)) {
      real.push({ answer: `stream-${String(field(frame.json, 'type'))}`, label: stream.label, status: FRAME_STATUS, content: 'json', body: frame.json });
    }
  }
  /** @type {Map<string, { line: string, labels: Set<string> }>} */
  const againstDocs = new Map();
  /** @type {Set<string>} */
  const listed = new Set();
  /** @type {Set<string>} */
  const unlisted = new Set();
  for (const answer of real) {
    const doc = expected.get(answer.answer);
    if (!doc) {
      againstDocs.set(answer.answer, { line: `${answer.answer}: no documented answer of this name`, labels: new Set([answer.label]) });
      continue;
    }
    for (const d of compareAnswer(doc, answer, doc.rules)) {
      const key = `${answer.answer}|${d.path}|${d.kind}`;
      const known = againstDocs.get(key) ?? { line: formatDifference(answer.answer, d), labels: new Set() };
      known.labels.add(answer.label);
      againstDocs.set(key, known);
    }
    // Scalingo is the expected side, the fake the actual one: the same directions as the list of differences.
    const recorded = { status: answer.status, content: answer.content, shape: shapeOf(answer.body, new Set(Object.keys(doc.rules.maps ?? {}))) };
    for (const fakeAnswer of fake.get(answer.answer) ?? []) {
      if (fakeAnswer.status !== answer.status && answer.status >= 400) continue;
      for (const d of compareAnswer(recorded, fakeAnswer, doc.rules)) {
        const line = formatDifference(answer.answer, d);
        (allowedFor(answer.answer, d, ALLOWED_DIFFERENCES) ? listed : unlisted).add(line);
      }
    }
  }
  const docs = [...againstDocs.values()].map(({ line, labels }) => `${line} (in ${[...labels].sort().join(', ')})`);
  return { againstDocs: docs.sort(), listed: [...listed].sort(), unlisted: [...unlisted].sort() };
}

/**
 * Writes what was recorded, redacted, and the report; removes what an earlier run wrote there.
 * @param {LiveRun} run
 * @param {{ questions: ReturnType<typeof answerQuestions>, shapes: Awaited<ReturnType<typeof compareShapes>> }} report
 */
function writeRecords(run, report) {
  const dir = run.config.recordDir;
  mkdirSync(dir, { recursive: true });
  const index = join(dir, 'run.json');
  if (existsSync(index)) {
    try {
      const previous = JSON.parse(readFileSync(index, 'utf8'));
      if (previous.recordedBy === MARK && Array.isArray(previous.files)) {
        for (const file of previous.files) if (typeof file === 'string' && /^[\w.-]+$/.test(file)) rmSync(join(dir, file), { force: true });
      }
    } catch {
      // not ours
    }
  }
  const r = run.redactor;
  /** @type {string[]} */
  const files = [];
  /** @param {string} name @param {string} content */
  const write = (name, content) => {
    writeFileSync(join(dir, name), content);
    files.push(name);
  };
  for (const record of run.records) {
    write(`${record.label}.json`, `${JSON.stringify(r.value({
      recordedBy: MARK,
      label: record.label,
      comparedWith: record.answer ?? null,
      request: { service: record.request.service, method: record.request.method, path: r.text(record.request.path) },
      status: record.status,
      headers: record.headers,
      content: record.content,
      body: record.content === 'text' && typeof record.body === 'string' && record.body.length > 100_000 ? `${record.body.slice(0, 100_000)}\n[cut at 100000 characters]` : record.body,
      ms: record.ms,
    }), null, 2)}\n`);
  }
  for (const stream of run.streams) {
    write(`${stream.label}.json`, `${JSON.stringify(r.value({
      recordedBy: MARK,
      label: stream.label,
      url: stream.url,
      originSent: stream.origin,
      outcome: stream.outcome,
      httpStatus: stream.httpStatus ?? null,
      refusal: stream.refusal ?? null,
      closed: stream.closed ?? null,
      frames: stream.frames.map((f) => ({ at: f.at, frame: f.json ?? f.text })),
    }), null, 2)}\n`);
  }
  write('questions.json', `${JSON.stringify(r.value(report.questions), null, 2)}\n`);
  write('questions.md', `${r.text(questionsMarkdown(report.questions))}\n`);
  write('shapes.json', `${JSON.stringify(r.value(report.shapes), null, 2)}\n`);
  files.push('run.json');
  writeFileSync(index, `${JSON.stringify({
    recordedBy: MARK,
    date: new Date().toISOString(),
    mode: run.obs.mode,
    pullRequest: run.obs.pullRequest,
    node: process.version,
    failures: run.failures.map((f) => r.text(f)),
    files: files.sort(),
  }, null, 2)}\n`);
  return files.length;
}

/**
 * Runs the live suite with these variables; returns the exit status.
 * @param {NodeJS.ProcessEnv} env
 * @param {(line: string) => void} [print]
 * @returns {Promise<number>}
 */
export async function runLive(env, print = (line) => process.stdout.write(`${line}\n`)) {
  const summary = env.GITHUB_STEP_SUMMARY;
  const parsed = configFrom(env);
  if ('skip' in parsed) {
    print(parsed.skip);
    if (summary) appendFileSync(summary, `## Live check against Scalingo\n\nNothing was done. ${parsed.skip.replace(/^Live suite skipped: /, '')} Set the secret SCALINGO_API_TOKEN and the variable SCALINGO_LIVE_APP in the environment of this workflow to run it.\n`);
    return 0;
  }
  if ('error' in parsed) {
    print(`Live suite not run: ${parsed.error}`);
    return 2;
  }
  const run = new LiveRun(parsed.config, print);
  const { config } = run;
  run.say(`Live suite against ${config.apiUrl} (auth ${config.authUrl}), app ${config.app}, ${config.write ? `WRITE mode${config.pr !== undefined ? `, pull request #${config.pr}` : ''}` : 'read-only'}`);
  try {
    await readOnly(run);
    const url = text(field(field(run.records.find((r) => r.label === 'app-show')?.body, 'app'), 'links'), 'deployments_stream');
    const stream = url ? await streamProbe(run, url) : undefined;
    if (!url) run.fail('the app gives no links.deployments_stream');
    try {
      if (config.write) await writes(run, stream);
    } finally {
      await stream?.session.close();
    }
    observeFrames(run);
    await rateLimitProbe(run);
  } catch (error) {
    run.fail(error instanceof Error ? error.message : String(error));
  }
  observeFrames(run);

  run.say('Comparing the shapes with the documented answers and with the fake');
  /** @type {Awaited<ReturnType<typeof compareShapes>>} */
  let shapes = { againstDocs: [], listed: [], unlisted: [] };
  try {
    shapes = await compareShapes(run);
  } catch (error) {
    run.fail(`shape comparison: ${error instanceof Error ? error.message : String(error)}`);
  }
  const questions = answerQuestions(run.obs);
  const files = writeRecords(run, { questions, shapes });

  run.say('');
  run.say(`Where Scalingo's answers differ from the documented ones (${shapes.againstDocs.length}; the docs are behind, nothing to fix here):`);
  for (const line of shapes.againstDocs) run.say(`  ${line}`);
  run.say(`Where the fake differs from Scalingo as test/contract/differences.js says (${shapes.listed.length})`);
  run.say(`Where the fake differs from Scalingo and test/contract/differences.js does not say so (${shapes.unlisted.length}):`);
  for (const line of shapes.unlisted) run.say(`  ${line}`);
  run.say('');
  run.say('Open questions');
  for (const line of questionsTable(questions).split('\n')) run.say(line);
  run.say('');
  run.say(`Recorded ${files} files, redacted, in ${config.recordDir}`);
  if (run.failures.length > 0) run.say(`${run.failures.length} step(s) failed: ${run.failures.join('; ')}`);
  if (summary) {
    appendFileSync(summary, run.redactor.text([
      `## Live check against Scalingo (${run.obs.mode})`,
      '',
      questionsMarkdown(questions),
      '',
      `Differences between Scalingo and the fake not listed in test/contract/differences.js: ${shapes.unlisted.length}${shapes.unlisted.length ? `\n\n${shapes.unlisted.map((l) => `- ${l}`).join('\n')}` : ''}`,
      run.failures.length ? `\nFailed steps: ${run.failures.join('; ')}` : '',
      '',
    ].join('\n')));
  }
  return run.failures.length > 0 || shapes.unlisted.length > 0 ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runLive(process.env).then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      process.stdout.write(`Live suite crashed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
