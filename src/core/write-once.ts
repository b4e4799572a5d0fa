/**
 * Never send a write twice. A write that fails without a clear answer (5xx, reset, timeout, an answer cut in the
 * middle of its body) may or may not have been processed: look for its effect first; found, carry on with it; not
 * found, send it once more, and after every unclear answer look again before anything else; no time left to know,
 * stop and say so. When the server may still be working on it (no answer at all, a timeout, a gateway's 502 or
 * 504), its effect may show late: it is looked for during a request timeout (two after a timeout) before it is sent
 * again. A look that fails (the API down for a while) is tried again until the deadline, as the follow loop rides out
 * an outage.
 */
import {
  BODY_CUT,
  describeFailure,
  isAmbiguous,
  isTimeout,
  NetworkError,
  ScalingoApiError,
} from '../scalingo/errors.js';
import { UserError } from './errors.js';
import type { Logger } from './log.js';
import { retryUntilDeadline } from './retry-until-deadline.js';

export interface WriteOnce<T> {
  /** What is sent, for the log and the error: "deploy of branch main of my-app". */
  what: string;
  send: () => Promise<T>;
  /** Looks for the write's effect: what it would have answered, or undefined when there is none (yet). */
  check: () => Promise<T | undefined>;
  log: Logger;
  now: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  signal?: AbortSignal;
  /** Epoch ms. */
  deadline: number;
  /** How long a slow server may take to answer (the request timeout): how long a late effect is looked for. */
  lookAgainMs: number;
  /** The time between two tries of a look that failed (the API down for a while). */
  retryEveryMs: number;
  /** The message when the deadline leaves no time to know, given why the answer was unclear. */
  tooLate: (reason: string) => string;
  /**
   * Called with what a send answered when an earlier send of it got no clear answer: the earlier one may have been
   * processed too, late. Returns what to carry on with.
   */
  afterResend?: (value: T) => Promise<T>;
}

/** Request timeouts a write that timed out is looked for, before it is sent again. */
const TIMEOUTS_LOOKED_AFTER_TIMEOUT = 2;
/** Sends at most, each after a look that found no effect of the ones before. */
export const MAX_SENDS = 3;

/**
 * How long the effect of a write that failed this way may take to show: 0 when the server answered (a 500, an
 * answer cut or garbled: its work is over); a request timeout when it may still be working on it (no answer, a
 * gateway's 502 or 504); two after a timeout.
 */
export function lateEffectWindow(err: unknown, requestTimeoutMs: number): number {
  if (isTimeout(err)) return TIMEOUTS_LOOKED_AFTER_TIMEOUT * requestTimeoutMs;
  if (err instanceof NetworkError) return err.code === BODY_CUT ? 0 : requestTimeoutMs;
  if (err instanceof ScalingoApiError && (err.status === 502 || err.status === 504)) return requestTimeoutMs;
  return 0;
}

export async function writeOnce<T>(w: WriteOnce<T>): Promise<T> {
  for (let sent = 1; ; sent++) {
    let err: unknown;
    try {
      const value = await w.send();
      return sent > 1 && w.afterResend ? await w.afterResend(value) : value;
    } catch (e) {
      if (!isAmbiguous(e)) throw e;
      err = e;
    }
    const reason = describeFailure(err);
    w.log.info(`No clear answer (${reason}): checking whether it took effect before anything else`);
    const lookUntil = w.now() + lateEffectWindow(err, w.lookAgainMs);
    // Looks a few times over the window, never closer than the poll interval.
    const every = Math.max(w.retryEveryMs, w.lookAgainMs / 2);
    let effect = await look(w, reason);
    while (effect === undefined && w.now() < lookUntil && w.now() < w.deadline) {
      w.log.info('Not yet: looking again, in case the server is only slow');
      await w.sleep(Math.min(every, lookUntil - w.now(), w.deadline - w.now()), w.signal);
      if (w.signal?.aborted) throw err;
      effect = await look(w, reason);
    }
    if (effect !== undefined) {
      w.log.info('It did: carrying on with it');
      return effect;
    }
    // Past the deadline there is no time to look again for a slow server's answer: sending it once more could do it
    // twice.
    if (w.now() >= w.deadline) throw new UserError(w.tooLate(reason));
    if (sent >= MAX_SENDS) {
      throw new UserError(
        `The ${w.what} was sent ${sent} times without a clear answer (last: ${reason}) and showed no effect: not sent again; retry later.`,
      );
    }
    w.log.info('It did not: sending it once more');
  }
}

/** One look for the effect, tried again on transient failures until the deadline. */
function look<T>(w: WriteOnce<T>, reason: string): Promise<T | undefined> {
  return retryUntilDeadline(w.check, {
    now: w.now,
    sleep: w.sleep,
    deadline: w.deadline,
    retryEveryMs: w.retryEveryMs,
    ...(w.signal ? { signal: w.signal } : {}),
    onRetry: (err) => w.log.info(`Could not look (${describeFailure(err)}): looking again`),
    atDeadline: () => new UserError(w.tooLate(reason)),
  });
}
