/**
 * The request budget of a whole step: Scalingo answers 429 past 60 requests per minute and per user, so every
 * client of a step (one per app) draws from one sliding-window limiter, the token exchange included.
 *
 * - Requests wait their turn by priority, then in order: a trigger (a deploy, a write) before a read, a read before
 *   one that can wait (a confirmation, a safety read, the output of a successful run).
 * - A step may reserve slots for an app before it starts it (`reserve`): the app's first requests then never wait
 *   behind other apps' reads, so that an app, once started, reaches its trigger at once.
 * - No request waits past the deadline: one whose turn cannot come before it fails at once (BudgetDeadlineError),
 *   unsent.
 * - A wait longer than `noteAfterMs` is told once (`onWait`), until the queue is empty again.
 */
import { BudgetDeadlineError, NOT_STARTED } from './errors.js';

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

/** A wait for the budget, as told to `onWait`. */
export interface BudgetWait {
  limit: number;
  /** Requests waiting. */
  waiting: number;
  /** Time until the next one may be sent. */
  waitMs: number;
}

export interface LimiterOptions {
  now: () => number;
  /** Resolves after `ms`, or early when the signal aborts. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Epoch ms: no request is sent after it. */
  deadline?: number;
  noteAfterMs?: number;
  onWait?: (wait: BudgetWait) => void;
}

/** Which requests go first when several wait: lower first. */
export type Priority = 'write' | 'read' | 'later';
const RANK: Record<Priority, number> = { write: 0, read: 1, later: 2 };

/** Slots set aside for one app's first requests; what it does not use is given back with `release`. */
export interface Reservation {
  readonly left: number;
  release(): void;
}

interface Waiter {
  rank: number;
  seq: number;
  since: number;
  resolve: () => void;
  reject: (err: unknown) => void;
  signal?: AbortSignal;
  what: string;
}

class Held implements Reservation {
  constructor(
    private readonly limiter: RateLimiter,
    public left: number,
  ) {}
  take(): boolean {
    if (this.left <= 0) return false;
    this.left -= 1;
    return true;
  }
  release(): void {
    const back = this.left;
    this.left = 0;
    this.limiter.giveBack(back);
  }
}

export class RateLimiter {
  /** Send times of the requests in the current window, oldest first. */
  private readonly sent: number[] = [];
  /** Slots reserved and not used yet. */
  private held = 0;
  private readonly waiters: Waiter[] = [];
  private seq = 0;
  /** When the pending wake-up is due, if one is. */
  private wakeAt: number | undefined;
  private noted = false;
  /** Time spent waiting for the budget, summed over requests, for the run's figures. */
  waitedMs = 0;
  /** Requests that had to wait. */
  delayed = 0;

  constructor(
    readonly rate: RateLimit,
    private readonly o: LimiterOptions,
  ) {
    if (!(rate.limit >= 1) || !(rate.windowMs > 0)) throw new Error(`invalid rate limit ${JSON.stringify(rate)}`);
  }

  /** Slots free now, reservations counted as used. */
  free(): number {
    this.expire(this.o.now());
    return Math.max(0, this.rate.limit - this.sent.length - this.held);
  }

  /**
   * The least time between two requests that can wait (status polls), for the budget never to run dry: none while
   * less than half of it is used in the window, then growing to twice the even spacing (about 2 s for Scalingo's
   * 60 a minute) as it fills. A poll far faster than Scalingo allows then slows down instead of spending the budget
   * in a burst and waiting a minute.
   */
  paceMs(): number {
    this.expire(this.o.now());
    const half = this.rate.limit / 2;
    const used = this.sent.length + this.held;
    if (used < half) return 0;
    return ((2 * this.rate.windowMs) / this.rate.limit) * Math.min(1, (used - half) / half);
  }

  /** Requests counted in the window ending now. */
  inWindow(): number {
    this.expire(this.o.now());
    return this.sent.length;
  }

  /**
   * Sets aside up to `n` slots now (as many as are free) for one app's first requests, taken in `acquire` through
   * the reservation.
   */
  reserve(n: number): Reservation {
    const k = Math.min(n, this.free());
    this.held += k;
    return new Held(this, k);
  }

  /**
   * Resolves once `n` slots are free, without taking them (reserve them then); rejects with BudgetDeadlineError
   * when they cannot be before the deadline. Used to start the apps of a step as the budget allows.
   */
  async whenFree(n: number, signal?: AbortSignal): Promise<void> {
    const want = Math.min(n, this.rate.limit);
    for (;;) {
      const now = this.o.now();
      if (this.free() >= want || signal?.aborted) return;
      if (this.o.deadline !== undefined && now >= this.o.deadline) throw new BudgetDeadlineError(NOT_STARTED, 0);
      // Expiries free them, or (held slots in the way) a release does: then looked at again a moment later.
      const best = this.expiryFreeing(want, 0);
      if (this.o.deadline !== undefined && best > this.o.deadline)
        throw new BudgetDeadlineError(NOT_STARTED, Math.max(0, best - now));
      // Held slots may be given back at any time: looked at again at least every quarter of a second.
      const at = Math.min(this.expiryFreeing(want), now + 250, this.o.deadline ?? Infinity);
      await this.o.sleep(Math.max(1, at - now), signal);
    }
  }

  /**
   * Resolves when one more request may be sent, and counts it as sent. A request whose signal aborts while it
   * waits is let go at once, uncounted: it fails on its own signal without being sent.
   */
  acquire(
    opts: { signal?: AbortSignal; priority?: Priority; reservation?: Reservation; what?: string } = {},
  ): Promise<void> {
    const now = this.o.now();
    if (opts.reservation instanceof Held && opts.reservation.take()) {
      this.held -= 1;
      this.expire(now);
      this.sent.push(now);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        rank: RANK[opts.priority ?? 'read'],
        seq: this.seq++,
        since: now,
        resolve,
        reject,
        what: opts.what ?? 'a request',
      };
      if (opts.signal) waiter.signal = opts.signal;
      // In priority order, then in order of arrival.
      const at = this.waiters.findIndex((w) => w.rank > waiter.rank);
      this.waiters.splice(at === -1 ? this.waiters.length : at, 0, waiter);
      opts.signal?.addEventListener('abort', () => this.pump(), { once: true });
      this.pump();
    });
  }

  /** Unused reserved slots, back to everyone. */
  giveBack(n: number): void {
    this.held = Math.max(0, this.held - n);
    this.pump();
  }

  private pump(): void {
    const now = this.o.now();
    this.expire(now);
    for (let i = 0; i < this.waiters.length;) {
      const w = this.waiters[i]!;
      if (w.signal?.aborted) {
        this.waiters.splice(i, 1);
        w.resolve();
      } else i++;
    }
    while (this.waiters.length > 0 && this.sent.length + this.held < this.rate.limit) {
      const w = this.waiters.shift()!;
      this.sent.push(now);
      if (now > w.since) {
        this.delayed += 1;
        this.waitedMs += now - w.since;
      }
      w.resolve();
    }
    if (this.waiters.length === 0) {
      this.noted = false;
      return;
    }
    // The next slot, held ones given back at best: none before the deadline, and the waiters fail now, unsent.
    const best = this.expiryFreeing(1, 0);
    if (this.o.deadline !== undefined && best > this.o.deadline) {
      for (const w of this.waiters.splice(0)) w.reject(new BudgetDeadlineError(w.what, best - now));
      this.noted = false;
      return;
    }
    const at = this.expiryFreeing(1);
    if (!this.noted && at - now >= (this.o.noteAfterMs ?? Infinity)) {
      this.noted = true;
      // Told once the requests asked at the same moment have all joined the queue.
      queueMicrotask(() => {
        if (this.waiters.length > 0)
          this.o.onWait?.({
            limit: this.rate.limit,
            waiting: this.waiters.length,
            waitMs: Math.max(1, at - this.o.now()),
          });
      });
    }
    // Held slots in the way and nothing to expire: their release wakes the waiters.
    if (at === Infinity || (this.wakeAt !== undefined && this.wakeAt <= at)) return;
    this.wakeAt = at;
    void this.o.sleep(Math.max(1, at - now)).then(() => {
      if (this.wakeAt === at) this.wakeAt = undefined;
      this.pump();
    });
  }

  /**
   * When the expiry of sent requests leaves `n` slots free (held slots counted as `held`); Infinity when expiries
   * alone cannot (held slots in the way: only their release frees them).
   */
  private expiryFreeing(n: number, held = this.held): number {
    const now = this.o.now();
    const over = this.sent.length + held + n - this.rate.limit;
    if (over <= 0) return now;
    const oldest = this.sent[over - 1];
    return oldest === undefined ? Infinity : oldest + this.rate.windowMs;
  }

  private expire(now: number): void {
    while (this.sent.length && (this.sent[0] ?? 0) <= now - this.rate.windowMs) this.sent.shift();
  }
}
