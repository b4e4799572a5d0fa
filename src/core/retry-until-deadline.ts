/**
 * A read that rides an outage out to the run's deadline, as the status poll does: a failure that may pass (network,
 * 5xx, 429, garbled bodies: see `isTransient`) is tried again every interval until the deadline; anything else stands
 * at once. Used by the effect check of a write (write-once.ts) and by the lookups of the review app step.
 */
import { isTransient } from '../scalingo/errors.js';

export interface RetryUntilDeadline {
  now: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  signal?: AbortSignal;
  /** Epoch ms. */
  deadline: number;
  /** The time between two tries (the poll interval). */
  retryEveryMs: number;
  /** Told each failure before it is tried again. */
  onRetry?: (err: unknown) => void;
  /** The error thrown when a failure is still there at the deadline; the failure itself when not given. */
  atDeadline?: (err: unknown) => unknown;
}

export async function retryUntilDeadline<T>(read: () => Promise<T>, o: RetryUntilDeadline): Promise<T> {
  for (;;) {
    let failure: unknown;
    try {
      return await read();
    } catch (err) {
      if (o.signal?.aborted || !isTransient(err)) throw err;
      if (o.now() >= o.deadline) throw o.atDeadline ? o.atDeadline(err) : err;
      o.onRetry?.(err);
      failure = err;
    }
    await o.sleep(Math.max(0, Math.min(o.retryEveryMs, o.deadline - o.now())), o.signal);
    if (o.signal?.aborted) throw failure;
  }
}
