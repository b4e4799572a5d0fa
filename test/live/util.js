// @ts-check
/** @file Small helpers of the live suite: reading answers, the documented error an answer is compared with. */
import { isRecord } from '../contract/shape.js';

/** @typedef {import('../contract/wire.js').RawAnswer} RawAnswer */
/** @typedef {import('../contract/wire.js').StreamSession} StreamSession */

export const IN_PROGRESS = ['queued', 'building', 'pushing', 'starting'];
/** Response headers worth keeping: what the body is, and anything about limits and retries. */
export const KEPT_HEADERS = /^(content-type|retry-after|x-request-id|www-authenticate)$|rate|limit|retry/i;

/** @param {unknown} value @param {string} key */
export const field = (value, key) => (isRecord(value) ? value[key] : undefined);
/** @param {unknown} value @param {string} key */
export const text = (value, key) => {
  const found = field(value, key);
  return typeof found === 'string' ? found : undefined;
};
/** @param {RawAnswer | undefined} raw */
export const ok = (raw) => raw !== undefined && raw.status >= 200 && raw.status < 300;
/** @param {number} ms */
export const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

/**
 * How a session closed, if it did (read at call time).
 * @param {StreamSession} session
 */
export const closedOf = (session) => session.closed;

/**
 * The claims of a JWT, read without verifying it.
 * @param {string} token
 * @returns {unknown}
 */
export function jwtClaims(token) {
  try {
    return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The documented error an error answer is compared with.
 * @param {number} status
 * @param {unknown} body
 * @returns {string | undefined}
 */
export function errorAnswer(status, body) {
  if (status === 404) return isRecord(body) && 'resource' in body ? 'error-404' : 'error-404-unnamed';
  return /** @type {Record<number, string>} */ ({
    401: 'error-401',
    402: 'error-402',
    422: 'error-422',
    429: 'error-429',
    500: 'error-500',
  })[status];
}

/**
 * The keys of a JSON body down two levels, for a one-line summary.
 * @param {unknown} body
 * @param {number} [depth]
 * @returns {unknown}
 */
export function shapeSummary(body, depth = 0) {
  if (Array.isArray(body)) return body.length === 0 ? [] : [shapeSummary(body[0], depth)];
  if (!isRecord(body))
    return body === null
      ? null
      : typeof body === 'string'
        ? depth === 0 || body.length <= 60
          ? body
          : `${body.slice(0, 60)}…`
        : body;
  if (depth >= 1) return Object.fromEntries(Object.keys(body).map((k) => [k, '…']));
  return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, shapeSummary(v, depth + 1)]));
}
