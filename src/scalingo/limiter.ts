/**
 * The request budget of a whole step: Scalingo answers 429 past 60 requests per minute and per user, so every
 * client of a step (one per app) draws from one sliding-window limiter, the token exchange included.
 */

export interface RateLimit {
  /** Requests allowed in any window. */
  limit: number;
  windowMs: number;
}

/**
 * Scalingo's documented limit, 60 requests a minute, counted over 61 s: the server counts arrivals, which come a
 * little after the sends this limiter sees, and unevenly.
 */
export const SCALINGO_RATE_LIMIT: RateLimit = { limit: 60, windowMs: 61_000 };

export interface LimiterClock {
  now: () => number;
  /** Resolves after `ms`, or early when the signal aborts. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export class RateLimiter {
  /** Send times of the requests in the current window, oldest first. */
  private readonly sent: number[] = [];
  /** Requests wait their turn in order: a poll never overtakes a write queued before it. */
  private queue: Promise<void> = Promise.resolve();
  /** Time spent waiting for the budget, summed over requests, for the run's figures. */
  waitedMs = 0;
  /** Requests that had to wait. */
  delayed = 0;

  constructor(readonly rate: RateLimit, private readonly clock: LimiterClock) {
    if (!(rate.limit >= 1) || !(rate.windowMs > 0)) throw new Error(`invalid rate limit ${JSON.stringify(rate)}`);
  }

  /**
   * Resolves when one more request may be sent, and counts it as sent. A request whose signal aborts while it
   * waits is let go at once, uncounted: it fails on its own signal without being sent.
   */
  acquire(signal?: AbortSignal): Promise<void> {
    const turn = this.queue.then(() => this.take(signal));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** Requests counted in the window ending now. */
  inWindow(): number {
    this.expire(this.clock.now());
    return this.sent.length;
  }

  private async take(signal: AbortSignal | undefined): Promise<void> {
    let waited = false;
    for (;;) {
      const now = this.clock.now();
      this.expire(now);
      if (this.sent.length < this.rate.limit) {
        this.sent.push(now);
        if (waited) this.delayed += 1;
        return;
      }
      if (signal?.aborted) return;
      const oldest = this.sent[0] ?? now;
      const wait = Math.max(1, oldest + this.rate.windowMs - now);
      waited = true;
      this.waitedMs += wait;
      await this.clock.sleep(wait, signal);
    }
  }

  private expire(now: number): void {
    while (this.sent.length && (this.sent[0] ?? 0) <= now - this.rate.windowMs) this.sent.shift();
  }
}
