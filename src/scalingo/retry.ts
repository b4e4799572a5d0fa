/**
 * The retry policy of every request, pure: which failures are retried, for reads and for writes, and how long to
 * wait before the next attempt. http.ts applies it.
 */
import { BODY_CUT, UNRESOLVED_CODES } from './errors.js';

export interface RetryTuning {
  /** Retries after a network failure or a 5xx (a 429 has its own budget). */
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Longest Retry-After honoured, in ms. */
  maxRetryAfterMs: number;
  /**
   * 429 without Retry-After: Scalingo allows 60 requests per rolling minute and says nothing of when to come back,
   * so the waits grow from `rateLimitBaseDelayMs` to `rateLimitMaxDelayMs` until they add up to this (about a
   * minute: the window is then surely over).
   */
  rateLimitBudgetMs: number;
  rateLimitBaseDelayMs: number;
  rateLimitMaxDelayMs: number;
  /** A number in [0, 1) for the jitter. */
  random: () => number;
}

export const DEFAULT_TUNING: RetryTuning = {
  maxRetries: 4,
  baseDelayMs: 500,
  maxDelayMs: 8000,
  maxRetryAfterMs: 60_000,
  rateLimitBudgetMs: 65_000,
  rateLimitBaseDelayMs: 2000,
  rateLimitMaxDelayMs: 16_000,
  random: Math.random,
};

/** A host name that does not resolve: a typo in the region or URL, not a passing failure. */
const UNRESOLVED: ReadonlySet<string> = new Set(UNRESOLVED_CODES);
/** Errors after which a request surely never reached the server. */
export const NOT_SENT = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  ...UNRESOLVED,
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENETDOWN',
  'EHOSTDOWN',
]);
/** Not a network code: an expected status whose body is not the JSON promised (retried like a lost answer). */
export const GARBLED = 'garbled answer';
/**
 * Errors after which a request may simply be tried again: not sent, or an answer lost on the way (reset, timeout,
 * connection lost in the middle of the body). A write whose answer was lost goes through the never-twice check.
 */
const TRANSIENT = new Set([
  ...NOT_SENT,
  'ECONNRESET',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
  'UND_ERR_CLOSED',
  BODY_CUT,
  GARBLED,
]);
const RETRY_STATUSES_READ = [429, 500, 502, 503, 504];
/** A write is repeated only when it surely was not processed: rate limited, or never sent. */
const RETRY_STATUSES_WRITE = [429];

/** What one attempt ended with, as far as retrying goes. */
export type AttemptFailure = { status: number; retryAfter?: string } | { code: string };

/**
 * The retry policy, pure: after failed attempt number `attempt` (1 for the first; for a 429, the number of 429s in a
 * row), the delay before the next one, or undefined to stop. Reads retry network failures, 429 and 5xx; writes only
 * what surely was not processed (a 429 was refused before processing; a request never sent). Exponential backoff
 * with equal jitter; `Retry-After` (seconds or a date) wins when present. A 429 without it backs off until
 * `rateLimitBudgetMs` (`waitedMs`: what this request already waited on 429s) is spent: about a minute, Scalingo's
 * window. Never past the deadline. A host name that does not resolve is never retried.
 */
export function retryDelay(
  failure: AttemptFailure,
  attempt: number,
  idempotent: boolean,
  now: number,
  deadline: number,
  tuning: RetryTuning,
  waitedMs = 0,
): number | undefined {
  const retryable =
    'status' in failure
      ? (idempotent ? RETRY_STATUSES_READ : RETRY_STATUSES_WRITE).includes(failure.status)
      : (idempotent ? TRANSIENT : NOT_SENT).has(failure.code) && !UNRESOLVED.has(failure.code);
  if (!retryable) return undefined;
  const given =
    'status' in failure && failure.retryAfter !== undefined ? retryAfterMs(failure.retryAfter, now, tuning) : undefined;
  let delay: number;
  if ('status' in failure && failure.status === 429 && given === undefined) {
    if (waitedMs >= tuning.rateLimitBudgetMs) return undefined;
    const ceiling = Math.min(tuning.rateLimitMaxDelayMs, tuning.rateLimitBaseDelayMs * 2 ** (attempt - 1));
    delay = Math.min(
      ceiling / 2 + tuning.random() * (ceiling / 2),
      Math.max(tuning.rateLimitBaseDelayMs / 2, tuning.rateLimitBudgetMs - waitedMs),
    );
  } else {
    if (attempt > tuning.maxRetries) return undefined;
    delay = given ?? jittered(attempt, tuning);
  }
  return now + delay > deadline ? undefined : delay;
}

function retryAfterMs(retryAfter: string, now: number, tuning: RetryTuning): number | undefined {
  const seconds = Number(retryAfter);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(retryAfter) - now;
  return Number.isFinite(ms) && ms >= 0 ? Math.min(ms, tuning.maxRetryAfterMs) : undefined;
}

function jittered(attempt: number, tuning: RetryTuning): number {
  const ceiling = Math.min(tuning.maxDelayMs, tuning.baseDelayMs * 2 ** (attempt - 1));
  return ceiling / 2 + tuning.random() * (ceiling / 2);
}
