/** Follows one deployment to its end, within a deadline. Imports nothing from any platform. */
import { isTransient } from './errors.js';
import { isFinished, type Deployment } from '../scalingo/types.js';

export type FollowOutcome = 'success' | 'failed' | 'timed-out' | 'cancelled';

export interface FollowResult {
  outcome: FollowOutcome;
  /** The last state seen. */
  deployment: Deployment;
  /** Status requests made. */
  polls: number;
  /** When the final status was seen (epoch ms). */
  endedAt: number;
}

export interface FollowOptions {
  initial: Deployment;
  getDeployment: () => Promise<Deployment>;
  intervalMs: number;
  /** Epoch ms. */
  deadline: number;
  now: () => number;
  /** Resolves after `ms`, or early when the signal aborts. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  signal?: AbortSignal;
  /** Called once per status, not once per poll. */
  onStatus: (status: string, elapsedMs: number) => void;
  /** Called when a status request failed and will be tried again. */
  onRetry: (err: unknown) => void;
}

/**
 * Polls at a steady interval, measured from the start of one poll to the next so that slow answers do not stretch
 * it. Transient failures (network, 5xx, 429, garbled bodies) are retried until the deadline; anything else throws.
 */
export async function follow(opts: FollowOptions): Promise<FollowResult> {
  const start = opts.now();
  let deployment = opts.initial;
  let polls = 0;
  opts.onStatus(deployment.status, 0);
  let lastPoll = start;
  while (!isFinished(deployment.status)) {
    if (opts.signal?.aborted) return { outcome: 'cancelled', deployment, polls, endedAt: opts.now() };
    const remaining = opts.deadline - opts.now();
    if (remaining <= 0) return { outcome: 'timed-out', deployment, polls, endedAt: opts.now() };
    await opts.sleep(Math.max(0, Math.min(lastPoll + opts.intervalMs - opts.now(), remaining)), opts.signal);
    if (opts.signal?.aborted) return { outcome: 'cancelled', deployment, polls, endedAt: opts.now() };
    lastPoll = opts.now();
    let next: Deployment;
    try {
      polls += 1;
      next = await opts.getDeployment();
    } catch (err) {
      if (opts.signal?.aborted) return { outcome: 'cancelled', deployment, polls, endedAt: opts.now() };
      if (!isTransient(err)) throw err;
      opts.onRetry(err);
      continue;
    }
    if (next.status !== deployment.status) opts.onStatus(next.status, opts.now() - start);
    deployment = next;
  }
  return { outcome: deployment.status === 'success' ? 'success' : 'failed', deployment, polls, endedAt: opts.now() };
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
