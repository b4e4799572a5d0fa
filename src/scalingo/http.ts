/**
 * One request helper for every call: timeouts, retries (undici's RetryAgent with our policy), bearer token
 * refresh, and errors that say what the API answered. Nothing here knows about CI platforms.
 */
import { Agent, RetryAgent, request, type Dispatcher } from 'undici';
import { DEADLINE_REACHED, NetworkError, ScalingoApiError, UnexpectedResponseError } from '../core/errors.js';
import { sleep } from '../core/follow.js';

export type Service = 'auth' | 'api';

export interface HttpOptions {
  apiUrl: string;
  authUrl: string;
  requestTimeoutMs: number;
  /** Epoch ms after which no retry is attempted. */
  deadline: number;
  userAgent: string;
  debug: (message: string) => void;
  /** The dispatcher requests go through before retries are added (tests pass a MockAgent). */
  dispatcher?: Dispatcher;
  signal?: AbortSignal;
  /** Retry tuning, for tests. */
  retry?: Partial<RetryTuning>;
}

export interface RetryTuning {
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Longest Retry-After honoured, in ms. */
  maxRetryAfterMs: number;
}

const DEFAULT_TUNING: RetryTuning = { maxRetries: 4, baseDelayMs: 500, maxDelayMs: 8000, maxRetryAfterMs: 60_000 };

/** Errors after which a request surely never reached the server. */
const NOT_SENT = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ENETDOWN', 'EHOSTDOWN']);
/** Errors after which a read may simply be tried again. */
const TRANSIENT = new Set([...NOT_SENT, 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT', 'UND_ERR_CLOSED']);
const RETRY_STATUSES_READ = [429, 500, 502, 503, 504];
const MIN_TIMEOUT_NEAR_DEADLINE_MS = 2000;
/** A write is repeated only when it surely was not processed: rate limited, or never sent. */
const RETRY_STATUSES_WRITE = [429];

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

type RetryCallback = (err?: Error | null) => void;
interface RetryError extends Error {
  code?: string;
  statusCode?: number;
  headers?: Record<string, string | string[] | undefined>;
  /** Set by our policy: the retries are spent but one attempt is left, to be made in this many ms. */
  lastAttemptInMs?: number;
}

export class Http {
  private readonly base: Dispatcher;
  private readonly reads: Dispatcher;
  private readonly writes: Dispatcher;
  private readonly tuning: RetryTuning;
  /** Every request sent, retries included, for the run's figures. */
  count = 0;

  constructor(private readonly opts: HttpOptions) {
    this.tuning = { ...DEFAULT_TUNING, ...opts.retry };
    const base = opts.dispatcher ?? new Agent({ keepAliveTimeout: 10_000, connect: { timeout: Math.min(opts.requestTimeoutMs, 10_000) } });
    this.base = base;
    this.reads = new RetryAgent(base, {
      statusCodes: RETRY_STATUSES_READ,
      retry: this.policy(true),
    });
    this.writes = new RetryAgent(base, {
      statusCodes: RETRY_STATUSES_WRITE,
      retry: this.policy(false),
    });
  }

  private policy(idempotent: boolean) {
    return (err: Error, { state, opts }: { state: { counter: number }; opts: { method?: string; path?: string } }, cb: RetryCallback): void => {
      const e = err as RetryError;
      const status = e.code === 'UND_ERR_REQ_RETRY' ? e.statusCode : undefined;
      const retryable = status !== undefined
        ? (idempotent ? RETRY_STATUSES_READ : RETRY_STATUSES_WRITE).includes(status)
        : (idempotent ? TRANSIENT : NOT_SENT).has(e.code ?? '');
      if (!retryable || state.counter > this.tuning.maxRetries || this.opts.signal?.aborted) {
        cb(err);
        return;
      }
      const delay = this.delay(state.counter, e.headers?.['retry-after']);
      if (Date.now() + delay > this.opts.deadline) {
        cb(err);
        return;
      }
      // The retry interceptor drops the body of an answer it retries: the last attempt is made without it (see
      // send), so that a final error says what the server answered.
      if (status !== undefined && state.counter >= this.tuning.maxRetries) {
        e.lastAttemptInMs = delay;
        cb(err);
        return;
      }
      this.opts.debug(`${opts.method} ${opts.path}: ${status ?? e.code}, attempt ${state.counter + 1} in ${(delay / 1000).toFixed(1)} s`);
      const signal = this.opts.signal;
      const onAbort = (): void => {
        clearTimeout(timer);
        cb(err);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        this.count += 1;
        cb(null);
      }, delay);
      signal?.addEventListener('abort', onAbort, { once: true });
    };
  }

  /** Exponential backoff with equal jitter; `Retry-After` (seconds or a date) wins when present. */
  private delay(attempt: number, retryAfter: string | string[] | undefined): number {
    const header = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter;
    if (header) {
      const seconds = Number(header);
      const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
      if (Number.isFinite(ms) && ms >= 0) return Math.min(ms, this.tuning.maxRetryAfterMs);
    }
    const ceiling = Math.min(this.tuning.maxDelayMs, this.tuning.baseDelayMs * 2 ** (attempt - 1));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  async send(spec: RequestSpec): Promise<HttpResponse> {
    const base = spec.service === 'auth' ? this.opts.authUrl : this.opts.apiUrl;
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': this.opts.userAgent,
      ...spec.headers,
    };
    let body: string | undefined;
    if (spec.body !== undefined) {
      body = JSON.stringify(spec.body);
      headers['content-type'] = 'application/json';
    }
    const started = Date.now();
    this.count += 1;
    // Each attempt has `request-timeout-seconds`. A read, retries included, also ends at the run's deadline (or 2 s
    // after it starts, so a last look gets an answer); a write keeps its whole timeout: a clear answer to it is worth
    // more than stopping on time.
    const deadline = spec.idempotent ? AbortSignal.timeout(Math.max(MIN_TIMEOUT_NEAR_DEADLINE_MS, this.opts.deadline - started)) : undefined;
    const signal = deadline && this.opts.signal ? AbortSignal.any([this.opts.signal, deadline]) : deadline ?? this.opts.signal;
    const attempt = (dispatcher: Dispatcher): Promise<Dispatcher.ResponseData> => request(`${base}${spec.path}`, {
      method: spec.method,
      headers,
      body,
      dispatcher,
      headersTimeout: this.opts.requestTimeoutMs,
      bodyTimeout: this.opts.requestTimeoutMs,
      signal,
    });
    const fail = (err: unknown): Error => this.toError(spec, err, deadline);
    let res: Dispatcher.ResponseData;
    let lastAttempt = false;
    try {
      res = await attempt(spec.idempotent ? this.reads : this.writes);
    } catch (err) {
      const wait = (err as RetryError).lastAttemptInMs;
      if (wait === undefined) throw fail(err);
      this.opts.debug(`${spec.method} ${spec.path}: ${(err as RetryError).statusCode}, last attempt in ${(wait / 1000).toFixed(1)} s`);
      await sleep(wait, signal);
      if (signal?.aborted) throw fail(err);
      this.count += 1;
      lastAttempt = true;
      try {
        res = await attempt(this.base);
      } catch (err2) {
        throw fail(err2);
      }
    }
    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      throw fail(err);
    }
    const requestId = header(res.headers['x-request-id']);
    this.opts.debug(`${spec.method} ${spec.path} -> ${res.statusCode} (${Date.now() - started} ms${requestId ? `, request id ${requestId}` : ''})`);
    const contentType = header(res.headers['content-type']) ?? '';

    if (spec.expect.includes(res.statusCode)) {
      if (spec.text || text.trim() === '') return { status: res.statusCode, data: undefined, text };
      return { status: res.statusCode, data: parseJson(spec, res.statusCode, contentType, text), text };
    }
    throw apiError(spec, res.statusCode, contentType, text, requestId, lastAttempt ? this.tuning.maxRetries + 1 : undefined);
  }

  private toError(spec: RequestSpec, err: unknown, deadline?: AbortSignal): Error {
    const e = err as RetryError;
    if (e?.code === 'UND_ERR_REQ_RETRY' && e.statusCode !== undefined) {
      const attempts = (e as RetryError & { data?: { count?: number } }).data?.count;
      const what = e.statusCode === 429 ? 'rate limited (Retry later)' : 'server error';
      return new ScalingoApiError(e.statusCode, spec.method, spec.path, `${what}, still failing after ${attempts ?? 'several'} attempts`, attempts ? { attempts } : {});
    }
    // Cancelled by the run (SIGINT/SIGTERM): say that, not a network failure.
    if (this.opts.signal?.aborted) return this.opts.signal.reason instanceof Error ? this.opts.signal.reason : e;
    if (deadline?.aborted) return new NetworkError(spec.method, spec.path, DEADLINE_REACHED, false);
    const code = e?.code ?? e?.name ?? 'unknown error';
    return new NetworkError(spec.method, spec.path, code, NOT_SENT.has(code));
  }
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
