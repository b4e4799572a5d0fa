/**
 * One request helper for every call: timeouts, retries, and errors that say what the API answered. Nothing here
 * knows about CI platforms.
 */
import { Agent, request, type Dispatcher } from 'undici';
import { BODY_CUT, DEADLINE_REACHED, NetworkError, ScalingoApiError, UnexpectedResponseError } from './errors.js';
import { DEFAULT_TUNING, GARBLED, NOT_SENT, retryDelay, type AttemptFailure, type RetryTuning } from './retry.js';

export { DEFAULT_TUNING, retryDelay, type AttemptFailure, type RetryTuning } from './retry.js';
import type { Priority, RateLimiter, Reservation } from './limiter.js';

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
  /** The step's request budget, shared by every client of the step (see limiter.ts). */
  limiter?: RateLimiter;
  /** Slots of the budget set aside for this client's first requests. */
  reservation?: Reservation;
}

/** The least time an attempt gets near the deadline, so that a last look still gets an answer. */
const MIN_TIMEOUT_NEAR_DEADLINE_MS = 2000;

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
  /** Its turn in the request budget: writes first, then reads, then reads that can wait (default: by method). */
  priority?: Priority;
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
    this.dispatcher =
      opts.dispatcher ??
      new Agent({ keepAliveTimeout: 10_000, connect: { timeout: Math.min(opts.requestTimeoutMs, 10_000) } });
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
    // Each attempt has `request-timeout-seconds`. A read, retries included, ends at the run's deadline (or 2 s after
    // it starts, so that a last look gets an answer); a write's timeout is cut to the time left (never below 2 s):
    // no request runs long past the deadline.
    const deadline = spec.idempotent
      ? AbortSignal.timeout(Math.ceil(Math.max(MIN_TIMEOUT_NEAR_DEADLINE_MS, this.opts.deadline - this.now())))
      : undefined;
    const signal =
      deadline && this.opts.signal ? AbortSignal.any([this.opts.signal, deadline]) : (deadline ?? this.opts.signal);
    let failures = 0;
    let limited = 0;
    let waitedOnLimit = 0;
    for (let attempt = 1; ; attempt++) {
      // Every attempt, retries included, draws from the step's budget.
      await this.opts.limiter?.acquire({
        ...(signal ? { signal } : {}),
        priority: spec.priority ?? (spec.method === 'GET' ? 'read' : 'write'),
        ...(this.opts.reservation ? { reservation: this.opts.reservation } : {}),
        what: `${spec.method} ${spec.path}`,
      });
      const started = this.now();
      this.count += 1;
      // A read is ended at the deadline by its signal; a write, which has none (cutting it short says nothing more
      // about whether it was processed), by this timeout.
      const timeout = spec.idempotent
        ? this.opts.requestTimeoutMs
        : Math.min(this.opts.requestTimeoutMs, Math.max(MIN_TIMEOUT_NEAR_DEADLINE_MS, this.opts.deadline - started));
      let status: number;
      let text: string;
      let resHeaders: Dispatcher.ResponseData['headers'];
      let headersIn = false;
      try {
        const res = await request(`${base}${spec.path}`, {
          method: spec.method,
          headers,
          body,
          dispatcher: this.dispatcher,
          signal,
          headersTimeout: timeout,
          bodyTimeout: timeout,
        });
        headersIn = true;
        status = res.statusCode;
        resHeaders = res.headers;
        text = await res.body.text();
      } catch (err) {
        const error = this.toError(spec, err, deadline, headersIn);
        const code = error instanceof NetworkError && error.code !== DEADLINE_REACHED ? error.code : undefined;
        failures += 1;
        if (code === undefined || (await this.wait(spec, attempt, failures, { code }, code, signal)) === false)
          throw error;
        continue;
      }
      const requestId = header(resHeaders['x-request-id']);
      this.opts.debug(
        `${spec.method} ${spec.path} -> ${status} (${this.now() - started} ms${requestId ? `, request id ${requestId}` : ''})`,
      );
      const contentType = header(resHeaders['content-type']) ?? '';
      if (spec.expect.includes(status)) {
        if (spec.text || text.trim() === '') return { status, data: undefined, text };
        try {
          return { status, data: parseJson(spec, status, contentType, text), text };
        } catch (err) {
          // A garbled answer to a read is tried again like a lost one; to a write, it goes to the never-twice check.
          failures += 1;
          if (
            !spec.idempotent ||
            (await this.wait(spec, attempt, failures, { code: GARBLED }, 'unreadable answer', signal)) === false
          )
            throw err;
          continue;
        }
      }
      const retryAfter = header(resHeaders['retry-after']);
      const failure: AttemptFailure = retryAfter ? { status, retryAfter } : { status };
      let waited: number | false;
      if (status === 429) {
        limited += 1;
        waited = await this.wait(spec, attempt, limited, failure, String(status), signal, waitedOnLimit);
        if (waited !== false) waitedOnLimit += waited;
      } else {
        failures += 1;
        waited = await this.wait(spec, attempt, failures, failure, String(status), signal);
      }
      if (waited !== false) continue;
      // A failure that would have been retried, had there been attempts or time left, says how many were made.
      const gaveUp = attempt > 1 && retryDelay(failure, 1, spec.idempotent, 0, Infinity, this.tuning) !== undefined;
      throw apiError(spec, status, contentType, text, requestId, gaveUp ? attempt : undefined);
    }
  }

  /**
   * Waits before the next attempt when the policy allows one: the time waited, or false when there is none, or the
   * run was stopped. `nth`: how many failures of this kind (429, or any other) the request had so far.
   */
  private async wait(
    spec: RequestSpec,
    attempt: number,
    nth: number,
    failure: AttemptFailure,
    what: string,
    signal: AbortSignal | undefined,
    waitedMs = 0,
  ): Promise<number | false> {
    if (this.opts.signal?.aborted) return false;
    const delay = retryDelay(failure, nth, spec.idempotent, this.now(), this.opts.deadline, this.tuning, waitedMs);
    if (delay === undefined) return false;
    this.opts.debug(`${spec.method} ${spec.path}: ${what}, attempt ${attempt + 1} in ${(delay / 1000).toFixed(1)} s`);
    await this.sleep(delay, signal);
    return signal?.aborted ? false : delay;
  }

  /** `headersIn`: the status and headers had arrived, so a failure now lost the body of a received request. */
  private toError(spec: RequestSpec, err: unknown, deadline: AbortSignal | undefined, headersIn: boolean): Error {
    // Cancelled by the run (SIGINT/SIGTERM): say that, not a network failure.
    if (this.opts.signal?.aborted)
      return this.opts.signal.reason instanceof Error ? this.opts.signal.reason : (err as Error);
    if (deadline?.aborted) return new NetworkError(spec.method, spec.path, DEADLINE_REACHED, false);
    const e = err as { code?: string; name?: string } | undefined;
    const raw = e?.code ?? e?.name ?? 'unknown error';
    // Connection lost in the middle of the body: transient like a reset, never an answer to report.
    const code = headersIn && raw !== 'UND_ERR_BODY_TIMEOUT' ? BODY_CUT : raw;
    return new NetworkError(spec.method, spec.path, code, !headersIn && NOT_SENT.has(code));
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
    throw new UnexpectedResponseError(
      status,
      spec.method,
      spec.path,
      `a ${contentType || 'non-JSON'} body instead of JSON`,
      bodyStart(text),
    );
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UnexpectedResponseError(status, spec.method, spec.path, 'malformed JSON', bodyStart(text));
  }
}

function apiError(
  spec: RequestSpec,
  status: number,
  contentType: string,
  text: string,
  requestId: string | undefined,
  attempts?: number,
): ScalingoApiError {
  const details: ConstructorParameters<typeof ScalingoApiError>[4] = {};
  if (requestId) details.requestId = requestId;
  if (attempts !== undefined) details.attempts = attempts;
  let message = bodyStart(text);
  if (/json/i.test(contentType) || /^\s*\{/.test(text)) {
    try {
      const parsed = JSON.parse(text) as {
        error?: unknown;
        errors?: unknown;
        resource?: unknown;
        message?: unknown;
        name?: unknown;
        url?: unknown;
      };
      if (typeof parsed.resource === 'string') details.resource = parsed.resource;
      if (status === 402 && typeof parsed.name === 'string') details.name = parsed.name;
      if (status === 402 && typeof parsed.url === 'string' && /^https:\/\//.test(parsed.url)) details.url = parsed.url;
      if (parsed.errors && typeof parsed.errors === 'object' && !Array.isArray(parsed.errors)) {
        const fieldErrors: Record<string, string[]> = {};
        for (const [field, msgs] of Object.entries(parsed.errors as Record<string, unknown>)) {
          fieldErrors[field] = Array.isArray(msgs) ? msgs.map(String) : [String(msgs)];
        }
        details.fieldErrors = fieldErrors;
        message = Object.entries(fieldErrors)
          .map(([f, m]) => `${f} ${m.join(', ')}`)
          .join('; ');
      } else if (typeof parsed.error === 'string') {
        message = parsed.resource ? `${parsed.resource} ${parsed.error}` : parsed.error;
      } else if (typeof parsed.message === 'string') {
        message = parsed.message;
      }
    } catch {
      // not JSON after all: keep the start of the body
    }
  }
  if (attempts !== undefined)
    message = message
      ? `${message}, still failing after ${attempts} attempts`
      : `still failing after ${attempts} attempts`;
  return new ScalingoApiError(status, spec.method, spec.path, message, details);
}
