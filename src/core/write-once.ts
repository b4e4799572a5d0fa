/**
 * Never send a write twice. A write that fails without a clear answer may or may not have been processed: look for
 * its effect first; found, carry on with it; not found, send it once more; no time left to know, stop and say so.
 */
import { describeFailure, isAmbiguous, isTimeout } from '../scalingo/errors.js';
import { UserError } from './errors.js';
import type { Logger } from './log.js';

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
  /** How long a slow server may take to answer: the time between two more looks after a timeout. */
  lookAgainMs: number;
  /** The message when the deadline leaves no time to know, given why the answer was unclear. */
  tooLate: (reason: string) => string;
}

/** How many more looks a timed-out write gets, a timeout apart, before it is sent again. */
const LOOKS_AFTER_TIMEOUT = 2;

export async function writeOnce<T>(w: WriteOnce<T>): Promise<T> {
  try {
    return await w.send();
  } catch (err) {
    if (!isAmbiguous(err)) throw err;
    w.log.info(`No clear answer (${describeFailure(err)}): checking whether it took effect before anything else`);
    let effect = await w.check();
    // A server slower than our timeout may still be processing it: look twice more, a timeout apart.
    for (let look = 0; effect === undefined && isTimeout(err) && look < LOOKS_AFTER_TIMEOUT && w.now() < w.deadline; look++) {
      w.log.info('Not yet: looking again, in case the server is only slow');
      await w.sleep(Math.min(w.lookAgainMs, w.deadline - w.now()), w.signal);
      effect = await w.check();
    }
    if (effect !== undefined) {
      w.log.info('It did: carrying on with it');
      return effect;
    }
    // Past the deadline there is no time to look again for a slow server's answer: sending it once more could do it
    // twice.
    if (w.now() >= w.deadline) throw new UserError(w.tooLate(describeFailure(err)));
    w.log.info('It did not: sending it once more');
    return w.send();
  }
}
