/** Errors that reach the user. Each message is one line that says what happened and what to do. */

/** A bad input, found before any request is sent. */
export class InputError extends Error {
  constructor(
    readonly input: string,
    readonly value: string,
    allowed: string,
  ) {
    const shown = /^source$|-url$/.test(input) ? hideCredentials(value) : value;
    super(shown === '' ? `Input \`${input}\` is missing: ${allowed}.` : `Input \`${input}\` has value ${JSON.stringify(shown)}: ${allowed}.`);
    this.name = 'InputError';
  }
}

/** A URL's `user:password@` part becomes `***@`: an error message is no place for credentials. */
export function hideCredentials(value: string): string {
  // Up to the last `@`: a password may hold `/` or `@` (then the value is no valid URL, but it is still secret).
  return value.replace(/^([a-z][\w+.-]*:\/\/)?.*@/is, '$1***@');
}

/** A failure the user can act on, already explained. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

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

export class CancelledError extends Error {
  constructor(signal: string) {
    super(`cancelled by ${signal}`);
    this.name = 'CancelledError';
  }
}

/** Whether a failed read may succeed when tried again later (used while following a deployment). */
export function isTransient(err: unknown): boolean {
  if (err instanceof NetworkError) return true;
  if (err instanceof UnexpectedResponseError) return true;
  if (err instanceof ScalingoApiError) return err.status === 429 || err.status >= 500;
  return false;
}
