import { systemClock } from '../core/clock';
import type { Clock } from '../core/clock';
import { headerDelayMs } from '../transport/retry-policy';

/** A connector's `rate_limit.headers`: which response headers say what is left and when it is back. */
export interface BudgetHeaders {
  remaining: string;
  /** Time until the budget is back. */
  reset?: string;
  reset_format?: 'seconds' | 'millis' | 'epoch_seconds';
  /** The length of a rolling window instead: each request counts for a window after it was sent. */
  window?: string;
  window_format?: 'seconds' | 'millis';
}

/** A count of requests left: a non-negative number (some APIs send "0.0"), whole or not. */
const COUNT = /^\d+(?:\.\d+)?$/;
/** A reset further away than this is not believed: a bad header must not stop a connection for longer. */
const LONGEST_RESET_MS = 60_000;
/** The window assumed when the API says what is left but not when it is back. */
const UNKNOWN_RESET_MS = 1000;

/**
 * What the API's rate-limit headers say is left, and for how long; null when it
 * did not say. The reset (or a rolling window's length) is read like every delay a
 * response gives (headerDelayMs: decimal seconds included), then bounded. The limiter
 * holds a spent budget for that long after the last request sent, which is what a
 * rolling window needs and no shorter than a fixed window's reset.
 */
export function budgetFromHeaders(headers: Record<string, string>, spec: BudgetHeaders, now: number): { remaining: number; resetMs: number } | null {
  const left = headers[spec.remaining.toLowerCase()]?.trim();
  if (left === undefined || !COUNT.test(left)) return null;
  const resetMs = spec.window
    ? headerDelayMs(headers[spec.window.toLowerCase()], spec.window_format ?? 'seconds', now)
    : headerDelayMs(spec.reset ? headers[spec.reset.toLowerCase()] : undefined, spec.reset_format ?? 'seconds', now);
  return { remaining: Number(left), resetMs: resetMs === null ? UNKNOWN_RESET_MS : Math.min(resetMs, LONGEST_RESET_MS) };
}

/**
 * Per-connection request pacing (GCRA): `requests` per `perSeconds`, with a
 * burst of `requests`. reserve() books the next slot and says how long to wait
 * for it; a caller that will not wait that long asks with a limit and books nothing.
 */
export class RateLimiter {
  private readonly tat = new Map<string, number>();
  /** Pauses the API itself asked for (its rate-limit headers said the budget is spent). */
  private readonly blocked = new Map<string, number>();

  /** What the API's own headers said is left, until when; each request booked spends one. */
  private readonly budgets = new Map<string, { remaining: number; resetAt: number; limit: number; windowMs: number; lastSentAt: number }>();

  /** Time comes from `clock` where a caller does not say what time it is. */
  constructor(private readonly clock: Clock = systemClock) {}

  /** No request on `key` before `until` (epoch ms). */
  blockUntil(key: string, until: number): void {
    if (until > (this.blocked.get(key) ?? 0)) this.blocked.set(key, until);
  }

  /** The API said `remaining` requests are left for `resetMs`: requests beyond that wait for the reset. */
  observeBudget(key: string, remaining: number, resetMs: number, now = this.clock.now()): void {
    const known = this.budgets.get(key);
    // The largest budget seen approximates the API's limit per window, for after the reset.
    const limit = Math.max(known?.limit ?? 0, remaining + 1);
    // Within a window an answer can be older than requests booked since (they are still on their
    // way): it never gives back what those booked.
    const left = known && known.resetAt > now ? Math.min(known.remaining, remaining) : remaining;
    this.budgets.set(key, { remaining: left, resetAt: now + resetMs, limit, windowMs: resetMs, lastSentAt: known?.lastSentAt ?? now });
    if (left <= 0) this.blockUntil(key, Math.max(now + resetMs, (known?.lastSentAt ?? now) + resetMs));
  }

  reserve(key: string, requests: number, perSeconds: number, maxWaitMs: number, now = this.clock.now()): number | null {
    const interval = (perSeconds * 1000) / requests;
    const burst = (requests - 1) * interval;
    const tat = Math.max(this.tat.get(key) ?? now, now, this.blocked.get(key) ?? 0);
    const wait = Math.max(0, tat - burst - now, (this.blocked.get(key) ?? 0) - now);
    if (wait > maxWaitMs) return null;
    const budget = this.budgets.get(key);
    if (budget && budget.resetAt <= now && budget.lastSentAt + budget.windowMs <= now) {
      // A new window: about `limit` requests, until the next answer says better.
      budget.remaining = budget.limit - 1;
      budget.resetAt = now + budget.windowMs;
      budget.lastSentAt = now + wait;
    } else if (budget) {
      if (budget.remaining <= 0) {
        // Spent: this request waits until the window has passed since the last request sent (rolling
        // windows count each request for a whole window), and so does everyone after it.
        budget.resetAt = Math.max(budget.resetAt, budget.lastSentAt + budget.windowMs + 50);
        this.blockUntil(key, budget.resetAt);
        const untilReset = budget.resetAt - now;
        if (Math.max(wait, untilReset) > maxWaitMs) return null;
        budget.remaining = budget.limit - 1;
        budget.lastSentAt = now + Math.max(wait, untilReset);
        budget.resetAt = budget.lastSentAt + budget.windowMs;
        this.tat.set(key, Math.max(tat, budget.lastSentAt) + interval);
        return Math.max(wait, untilReset);
      }
      budget.remaining -= 1;
      budget.lastSentAt = now + wait;
    }
    this.tat.set(key, tat + interval);
    if (this.tat.size > 10_000) this.sweep(now);
    return wait;
  }

  /** How long until a slot is free, without booking it. */
  waitFor(key: string, requests: number, perSeconds: number, now = this.clock.now()): number {
    const interval = (perSeconds * 1000) / requests;
    const tat = Math.max(this.tat.get(key) ?? now, now);
    return Math.max(0, tat - (requests - 1) * interval - now, (this.blocked.get(key) ?? 0) - now);
  }

  private sweep(now: number): void {
    for (const [key, tat] of this.tat) if (tat < now) this.tat.delete(key);
    for (const [key, until] of this.blocked) if (until < now) this.blocked.delete(key);
  }
}
