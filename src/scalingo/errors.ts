/**
 * The errors of the Scalingo API layer, and the one place that classifies a failure: what a 404 names, whether a
 * read may be tried again, whether a write may have been processed, whether it was a timeout.
 */

/** An answer of the Scalingo API that is not the expected one. */
export class ScalingoApiError extends Error {
  constructor(
    readonly status: number,
    readonly method: string,
    readonly path: string,
    /** The API's own message (`error`, or the 422 field errors flattened), or the start of a body that is not JSON. */
    readonly apiMessage: string,
    readonly details: {
      resource?: string;
      /** 402: what Scalingo asks payment for (`free-trial-exceeded`...), and where to pay or upgrade. */
      name?: string;
      url?: string;
      fieldErrors?: Record<string, string[]>;
      requestId?: string;
      attempts?: number;
    } = {},
  ) {
    super(`Scalingo API answered ${status} to ${method} ${path}${apiMessage ? `: ${apiMessage}` : ''}`);
    this.name = 'ScalingoApiError';
  }
}

/** The code of a NetworkError for a read cut short by the run's deadline. */
export const DEADLINE_REACHED = 'no answer before the deadline';

/** The request failed without an HTTP answer (connection refused or reset, timeout). */
export class NetworkError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly code: string,
    /** True when the request surely did not reach the server (nothing could have happened). */
    readonly notSent: boolean,
  ) {
    super(`${method} ${path} failed without an answer (${code})`);
    this.name = 'NetworkError';
  }
}

/** The API answered something that is not what it promises (HTML page, malformed JSON, missing field). */
export class UnexpectedResponseError extends Error {
  constructor(status: number, method: string, path: string, what: string, bodyStart: string) {
    super(`Scalingo API answered ${method} ${path} with ${what} (HTTP ${status}): ${JSON.stringify(bodyStart)}`);
    this.name = 'UnexpectedResponseError';
  }
}

/** BudgetDeadlineError's `what` for an app a step could not start. */
export const NOT_STARTED = 'no request of it';

/**
 * A request not sent: the step's request budget (Scalingo's 60 requests a minute, for the whole step) had no slot
 * for it before the deadline.
 */
export class BudgetDeadlineError extends Error {
  constructor(
    /** What was not sent: "GET /v1/apps/a", or "no request of it" for an app not started. */
    readonly what: string,
    /** How long it would have had to wait. */
    readonly waitMs: number,
  ) {
    super(`${what}: no slot of the request budget before the deadline`);
    this.name = 'BudgetDeadlineError';
  }

  /** No request of the app was sent: it was never started. */
  get startedNothing(): boolean {
    return this.what === NOT_STARTED;
  }
}

/**
 * What a 404 says is missing: the app itself, another resource it names (the link, a deployment), or nothing it
 * names (then only a look at the app tells). Undefined for anything but a 404.
 */
export type NotFound = 'app' | 'other' | 'unnamed';

export function notFound(err: unknown): NotFound | undefined {
  if (!(err instanceof ScalingoApiError) || err.status !== 404) return undefined;
  // A 404 on the app's own path can only be about the app, whatever its body says.
  if (err.details.resource === 'app' || /^\/v1\/apps\/[^/]+$/.test(err.path)) return 'app';
  return err.details.resource ? 'other' : 'unnamed';
}

export function isUnknownApp(err: unknown): boolean {
  return notFound(err) === 'app';
}

/** A host name that does not resolve: a typo in the region or URL, not a passing failure. */
export const UNRESOLVED_CODES: readonly string[] = ['ENOTFOUND', 'EAI_AGAIN'];

/** The code of a NetworkError for an answer cut in the middle of its body (the connection lost after the headers). */
export const BODY_CUT = 'UND_ERR_BODY_CUT';

/** The host of the request does not resolve (ENOTFOUND, EAI_AGAIN). */
export function isUnresolved(err: unknown): boolean {
  return err instanceof NetworkError && UNRESOLVED_CODES.includes(err.code);
}

/** Whether a failed read may succeed when tried again later (network, 5xx, 429, garbled bodies). */
export function isTransient(err: unknown): boolean {
  if (err instanceof NetworkError) return !isUnresolved(err);
  if (err instanceof UnexpectedResponseError) return true;
  if (err instanceof ScalingoApiError) return err.status === 429 || err.status >= 500;
  return false;
}

/** Whether a write that failed this way may or may not have been processed. */
export function isAmbiguous(err: unknown): boolean {
  if (err instanceof NetworkError) return !err.notSent;
  if (err instanceof UnexpectedResponseError) return true;
  return err instanceof ScalingoApiError && err.status >= 500;
}

/** Network error codes of a request that got no answer in time. */
export const TIMEOUT_CODES: readonly string[] = ['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT'];

/** The request timed out: a slow server may still be processing it. */
export function isTimeout(err: unknown): boolean {
  return err instanceof NetworkError && TIMEOUT_CODES.includes(err.code);
}

/** A few words for a failure that may pass: `HTTP 502`, `ECONNRESET`, `unreadable answer`. */
export function describeFailure(err: unknown): string {
  if (err instanceof ScalingoApiError) return `HTTP ${err.status}`;
  if (err instanceof NetworkError) return err.code === BODY_CUT ? 'answer cut short' : err.code;
  if (err instanceof UnexpectedResponseError) return 'unreadable answer';
  return err instanceof Error ? err.message : String(err);
}
