/**
 * A read that rides an outage out to the run's deadline, as the status poll does: a failure that may pass (network,
 * 5xx, 429, garbled bodies: see `isTransient`) is tried again every interval until the deadline; anything else stands
 * at once. Used by the effect check of a write (write-once.ts) and by the lookups of the review app step.
 */
import { CancelledError, isTransient } from '../scalingo/errors.js';

export interface RetryUntilDeadline<T> {
  now: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  signal?: AbortSignal;
  /** Epoch ms. */
  deadline: number;
  /** The time between two tries (the poll interval). */
  retryEveryMs: number;
  /**
   * Failures tried again besides the transient ones, given how many reads were made, this one included (a resource
   * that answers 404 for a moment right after its creation).
   */
  alsoRetry?: (err: unknown, tries: number) => boolean;
  /** An answer to read again, given how many reads were made (a resource not there yet); at the deadline it stands. */
  notYet?: (value: T, tries: number) => boolean;
  /** Told each failure before it is tried again. */
  onRetry?: (err: unknown) => void;
  /** Told each answer `notYet` turned down, before it is read again. */
  onNotYet?: (value: T) => void;
  /** The error thrown when a failure is still there at the deadline; the failure itself when not given. */
  atDeadline?: (err: unknown) => unknown;
}

export async function retryUntilDeadline<T>(read: () => Promise<T>, o: RetryUntilDeadline<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    let failure: unknown;
    try {
      const value = await read();
      if (!o.notYet?.(value, tries) || o.now() >= o.deadline) return value;
      o.onNotYet?.(value);
    } catch (err) {
      if (o.signal?.aborted || !(isTransient(err) || o.alsoRetry?.(err, tries))) throw err;
      if (o.now() >= o.deadline) throw o.atDeadline ? o.atDeadline(err) : err;
      o.onRetry?.(err);
      failure = err;
    }
    await o.sleep(Math.max(0, Math.min(o.retryEveryMs, o.deadline - o.now())), o.signal);
    if (o.signal?.aborted) throw failure ?? new CancelledError('a signal');
  }
}
