/**
 * One request helper for every call: timeouts, retries, and errors that say what the API answered. Nothing here
 * knows about CI platforms.
 */
import { Agent, request, type Dispatcher } from 'undici';
import { DEADLINE_REACHED, NetworkError, ScalingoApiError, UnexpectedResponseError } from './errors.js';

export type Service = 'auth' | 'api';

export interface HttpOptions {
  apiUrl: string;
  authUrl: string;
  requestTimeoutMs: number;
  /** Epoch ms after which no retry is attempted. */
  deadline: number;
  userAgent: string;
  debug: (message: string) => void;
  /** The dispatcher requests go through (tests pass a MockAgent). */
  dispatcher?: Dispatcher;
  signal?: AbortSignal;
  /** Retry tuning, for tests. */
  retry?: Partial<RetryTuning>;
  /** The clock retries wait on (tests pass a virtual one). */
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface RetryTuning {
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Longest Retry-After honoured, in ms. */
  maxRetryAfterMs: number;
  /** A number in [0, 1) for the jitter. */
  random: () => number;
}

export const DEFAULT_TUNING: RetryTuning = { maxRetries: 4, baseDelayMs: 500, maxDelayMs: 8000, maxRetryAfterMs: 60_000, random: Math.random };

/** Errors after which a request surely never reached the server. */
const NOT_SENT = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ENETDOWN', 'EHOSTDOWN']);
/** Errors after which a read may simply be tried again. */
const TRANSIENT = new Set([...NOT_SENT, 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT', 'UND_ERR_CLOSED']);
const RETRY_STATUSES_READ = [429, 500, 502, 503, 504];
/** A write is repeated only when it surely was not processed: rate limited, or never sent. */
const RETRY_STATUSES_WRITE = [429];
const MIN_TIMEOUT_NEAR_DEADLINE_MS = 2000;

/** What one attempt ended with, as far as retrying goes. */
export type AttemptFailure = { status: number; retryAfter?: string } | { code: string };

/**
 * The retry policy, pure: after failed attempt number `attempt` (1 for the first), the delay before the next one,
 * or undefined to stop. Reads retry network failures, 429 and 5xx; writes only what surely was not processed.
 * Exponential backoff with equal jitter; `Retry-After` (seconds or a date) wins when present; never past the deadline.
 */
export function retryDelay(failure: AttemptFailure, attempt: number, idempotent: boolean, now: number, deadline: number, tuning: RetryTuning): number | undefined {
  const retryable = 'status' in failure
    ? (idempotent ? RETRY_STATUSES_READ : RETRY_STATUSES_WRITE).includes(failure.status)
    : (idempotent ? TRANSIENT : NOT_SENT).has(failure.code);
  if (!retryable || attempt > tuning.maxRetries) return undefined;
  const delay = backoff(attempt, 'status' in failure ? failure.retryAfter : undefined, now, tuning);
  return now + delay > deadline ? undefined : delay;
}

function backoff(attempt: number, retryAfter: string | undefined, now: number, tuning: RetryTuning): number {
  if (retryAfter) {
    const seconds = Number(retryAfter);
    const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(retryAfter) - now;
    if (Number.isFinite(ms) && ms >= 0) return Math.min(ms, tuning.maxRetryAfterMs);
  }
  const ceiling = Math.min(tuning.maxDelayMs, tuning.baseDelayMs * 2 ** (attempt - 1));
  return ceiling / 2 + tuning.random() * (ceiling / 2);
}

export interface RequestSpec {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  service: Service;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Reads, updates, deletes and the token exchange: safe to repeat. Creations are not. */
  idempotent: boolean;
  /** Statuses that count as success. */
  expect: readonly number[];
  /** Accept a non-JSON success body (deployment output). */
  text?: boolean;
}

export interface HttpResponse {
  status: number;
  data: unknown;
  text: string;
}

export class Http {
  private readonly dispatcher: Dispatcher;
  private readonly tuning: RetryTuning;
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Every request sent, retries included, for the run's figures. */
  count = 0;

  constructor(private readonly opts: HttpOptions) {
    this.tuning = { ...DEFAULT_TUNING, ...opts.retry };
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? sleep;
    this.dispatcher = opts.dispatcher ?? new Agent({ keepAliveTimeout: 10_000, connect: { timeout: Math.min(opts.requestTimeoutMs, 10_000) } });
  }

  async send(spec: RequestSpec): Promise<HttpResponse> {
    const base = spec.service === 'auth' ? this.opts.authUrl : this.opts.apiUrl;
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': this.opts.userAgent, ...spec.headers };
    let body: string | undefined;
    if (spec.body !== undefined) {
      body = JSON.stringify(spec.body);
      headers['content-type'] = 'application/json';
    }
    // Each attempt has `request-timeout-seconds`. A read, retries included, also ends at the run's deadline (or 2 s
    // after it starts, so a last look gets an answer); a write keeps its whole timeout: a clear answer to it is worth
    // more than stopping on time.
    const deadline = spec.idempotent ? AbortSignal.timeout(Math.max(MIN_TIMEOUT_NEAR_DEADLINE_MS, this.opts.deadline - this.now())) : undefined;
    const signal = deadline && this.opts.signal ? AbortSignal.any([this.opts.signal, deadline]) : deadline ?? this.opts.signal;
    for (let attempt = 1; ; attempt++) {
      const started = this.now();
      this.count += 1;
      let status: number;
      let text: string;
      let resHeaders: Dispatcher.ResponseData['headers'];
      try {
        const res = await request(`${base}${spec.path}`, {
          method: spec.method, headers, body, dispatcher: this.dispatcher, signal,
          headersTimeout: this.opts.requestTimeoutMs, bodyTimeout: this.opts.requestTimeoutMs,
        });
        status = res.statusCode;
        resHeaders = res.headers;
        text = await res.body.text();
      } catch (err) {
        const error = this.toError(spec, err, deadline);
        const code = error instanceof NetworkError && error.code !== DEADLINE_REACHED ? error.code : undefined;
        if (code === undefined || !(await this.wait(spec, attempt, { code }, code, signal))) throw error;
        continue;
      }
      const requestId = header(resHeaders['x-request-id']);
      this.opts.debug(`${spec.method} ${spec.path} -> ${status} (${this.now() - started} ms${requestId ? `, request id ${requestId}` : ''})`);
      const contentType = header(resHeaders['content-type']) ?? '';
      if (spec.expect.includes(status)) {
        if (spec.text || text.trim() === '') return { status, data: undefined, text };
        return { status, data: parseJson(spec, status, contentType, text), text };
      }
      const retryAfter = header(resHeaders['retry-after']);
      const failure: AttemptFailure = retryAfter ? { status, retryAfter } : { status };
      if (await this.wait(spec, attempt, failure, String(status), signal)) continue;
      // A failure that would have been retried, had there been attempts or time left, says how many were made.
      const gaveUp = attempt > 1 && retryDelay(failure, 1, spec.idempotent, 0, Infinity, this.tuning) !== undefined;
      throw apiError(spec, status, contentType, text, requestId, gaveUp ? attempt : undefined);
    }
  }

  /** Waits before the next attempt when the policy allows one; false when there is none, or the run was stopped. */
  private async wait(spec: RequestSpec, attempt: number, failure: AttemptFailure, what: string, signal: AbortSignal | undefined): Promise<boolean> {
    if (this.opts.signal?.aborted) return false;
    const delay = retryDelay(failure, attempt, spec.idempotent, this.now(), this.opts.deadline, this.tuning);
    if (delay === undefined) return false;
    this.opts.debug(`${spec.method} ${spec.path}: ${what}, attempt ${attempt + 1} in ${(delay / 1000).toFixed(1)} s`);
    await this.sleep(delay, signal);
    return !signal?.aborted;
  }

  private toError(spec: RequestSpec, err: unknown, deadline?: AbortSignal): Error {
    // Cancelled by the run (SIGINT/SIGTERM): say that, not a network failure.
    if (this.opts.signal?.aborted) return this.opts.signal.reason instanceof Error ? this.opts.signal.reason : (err as Error);
    if (deadline?.aborted) return new NetworkError(spec.method, spec.path, DEADLINE_REACHED, false);
    const e = err as { code?: string; name?: string } | undefined;
    const code = e?.code ?? e?.name ?? 'unknown error';
    return new NetworkError(spec.method, spec.path, code, NOT_SENT.has(code));
  }
}

/** setTimeout as a promise that ends early (without error) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function bodyStart(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > 120 ? `${oneLine.slice(0, 120)}...` : oneLine;
}

function parseJson(spec: RequestSpec, status: number, contentType: string, text: string): unknown {
  if (!/json/i.test(contentType) && !/^\s*[{[]/.test(text)) {
    throw new UnexpectedResponseError(status, spec.method, spec.path, `a ${contentType || 'non-JSON'} body instead of JSON`, bodyStart(text));
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UnexpectedResponseError(status, spec.method, spec.path, 'malformed JSON', bodyStart(text));
  }
}

function apiError(spec: RequestSpec, status: number, contentType: string, text: string, requestId: string | undefined, attempts?: number): ScalingoApiError {
  const details: ConstructorParameters<typeof ScalingoApiError>[4] = {};
  if (requestId) details.requestId = requestId;
  if (attempts !== undefined) details.attempts = attempts;
  let message = bodyStart(text);
  if (/json/i.test(contentType) || /^\s*\{/.test(text)) {
    try {
      const parsed = JSON.parse(text) as { error?: unknown; errors?: unknown; resource?: unknown; message?: unknown };
      if (typeof parsed.resource === 'string') details.resource = parsed.resource;
      if (parsed.errors && typeof parsed.errors === 'object' && !Array.isArray(parsed.errors)) {
        const fieldErrors: Record<string, string[]> = {};
        for (const [field, msgs] of Object.entries(parsed.errors as Record<string, unknown>)) {
          fieldErrors[field] = Array.isArray(msgs) ? msgs.map(String) : [String(msgs)];
        }
        details.fieldErrors = fieldErrors;
        message = Object.entries(fieldErrors).map(([f, m]) => `${f} ${m.join(', ')}`).join('; ');
      } else if (typeof parsed.error === 'string') {
        message = parsed.resource ? `${parsed.resource} ${parsed.error}` : parsed.error;
      } else if (typeof parsed.message === 'string') {
        message = parsed.message;
      }
    } catch {
      // not JSON after all: keep the start of the body
    }
  }
  if (attempts !== undefined) message = message ? `${message}, still failing after ${attempts} attempts` : `still failing after ${attempts} attempts`;
  return new ScalingoApiError(status, spec.method, spec.path, message, details);
}
