// @ts-check
/**
 * @file One run of the live suite: its settings, the answers and streams it recorded, what it observed, and how it
 * speaks (every line through the redactor). Requests and stream connections go through here, so that each is
 * recorded as sent.
 */
import { STREAM_ORIGIN } from '../contract/fake-answers.js';
import { frameExample } from '../contract/fixtures.js';
import { isRecord } from '../contract/shape.js';
import { basic, call, openStream } from '../contract/wire.js';
import { Redactor } from './redact.js';
import { closedOf, errorAnswer, field, IN_PROGRESS, jwtClaims, KEPT_HEADERS, ok, sleep, text } from './util.js';

/** @typedef {import('../contract/wire.js').RawAnswer} RawAnswer */
/** @typedef {import('../contract/wire.js').StreamSession} StreamSession */
/** @typedef {import('../contract/wire.js').StreamFrame} StreamFrame */
/** @typedef {import('./questions.js').Observations} Observations */
/** @typedef {import('./live.js').LiveConfig} LiveConfig */

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

/** The run: its settings, what it recorded and saw, and how it speaks. */
export class LiveRun {
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
    const send = () =>
      call(base, method, path, { authorization: options.authorization ?? `Bearer ${this.bearer}`, body: options.body });
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
    this.records.push({
      label,
      answer: compared,
      request: { service, method, path },
      status: raw.status,
      headers,
      content: raw.content,
      body: raw.body,
      ms: raw.ms,
    });
    if (!options.quiet)
      this.say(
        `  ${method} ${path.split('?')[0]} -> ${raw.status}${raw.content === 'json' ? '' : ` (${raw.content})`}`,
      );
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
    const raw = await this.request(label, 'token-exchange', 'auth', 'POST', '/v1/tokens/exchange', {
      body: {},
      authorization: basic(this.config.token),
    });
    const token = text(raw?.body, 'token');
    if (!ok(raw) || !token)
      throw new Error(
        `the token exchange answered ${raw?.status ?? 'nothing'}: check SCALINGO_API_TOKEN and SCALINGO_AUTH_URL`,
      );
    this.bearer = token;
    this.redactor.secret(token, 'bearer');
    const claims = jwtClaims(token);
    const exp = field(claims, 'exp');
    const iat = field(claims, 'iat');
    this.obs.bearer =
      typeof exp === 'number'
        ? {
            claims: true,
            ...(typeof iat === 'number' ? { lifetimeSeconds: exp - iat } : {}),
            expiresInSeconds: Math.round(exp - Date.now() / 1000),
          }
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
    const record = {
      label,
      url,
      origin,
      outcome: session.outcome,
      httpStatus: session.httpStatus,
      refusal: session.refusal,
      closed: session.closed,
      frames: session.frames,
    };
    this.streams = this.streams.filter((s) => s.label !== label);
    this.streams.push(record);
    if (session.outcome === 'open') {
      const auth = frameExample('auth');
      if (isRecord(auth.data)) auth.data.token = this.bearer;
      session.send(JSON.stringify(auth));
    }
    this.say(
      `  stream ${origin ? 'with' : 'without'} Origin: ${session.outcome}${session.httpStatus && session.outcome !== 'open' ? ` (HTTP ${session.httpStatus})` : ''}`,
    );
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
    const isEnd = (/** @type {StreamFrame} */ f) =>
      isRecord(f.json) &&
      f.json.type === 'status' &&
      f.json.id === id &&
      !IN_PROGRESS.includes(String(field(f.json.data, 'status')));
    let current = stream;
    while (Date.now() < deadline) {
      const wait = Math.min(this.config.pollSeconds * 1000, Math.max(0, deadline - Date.now()));
      if (current && !current.session.closed) {
        const end = await current.session.waitFor(isEnd, wait);
        if (end) {
          const shown = await this.request(
            `${label}-show`,
            'deployment-show',
            'api',
            'GET',
            `/v1/apps/${encodeURIComponent(app)}/deployments/${encodeURIComponent(id)}`,
          );
          return {
            finalStatus: String(field(field(end.json, 'data'), 'status')),
            seconds: Math.round((Date.now() - started) / 1000),
            followedBy: 'the stream',
            gitRef: text(field(shown?.body, 'deployment'), 'git_ref'),
          };
        }
        const closed = closedOf(current.session);
        if (closed) this.say(`  the stream closed (${closed.code} ${closed.reason}): reading the deployment instead`);
      } else {
        await sleep(wait);
      }
      const raw = await this.request(
        `${label}-show`,
        'deployment-show',
        'api',
        'GET',
        `/v1/apps/${encodeURIComponent(app)}/deployments/${encodeURIComponent(id)}`,
        { quiet: true },
      );
      const status = text(field(raw?.body, 'deployment'), 'status');
      if (status && !IN_PROGRESS.includes(status)) {
        return {
          finalStatus: status,
          seconds: Math.round((Date.now() - started) / 1000),
          followedBy: 'polling',
          gitRef: text(field(raw?.body, 'deployment'), 'git_ref'),
        };
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
      const raw = await this.request(
        `${label}-page-${pages}`,
        'links-list',
        'api',
        'GET',
        `/v1/scm_repo_links?page=${page}&per_page=50`,
      );
      const items = field(raw?.body, 'scm_repo_links');
      if (!ok(raw) || !Array.isArray(items)) break;
      links.push(...items);
      const pagination = field(field(raw?.body, 'meta'), 'pagination');
      prev.push(field(pagination, 'prev_page'));
      next.push(field(pagination, 'next_page'));
      perPageKey ||= isRecord(pagination) && 'per_page' in pagination;
      const nextPage = field(pagination, 'next_page');
      if (typeof nextPage !== 'number' || nextPage <= page || items.length === 0)
        return { links, prev, next, pages, perPageKey };
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
