/**
 * Per-connection request pacing (GCRA): `requests` per `perSeconds`, with a
 * burst of `requests`. reserve() books the next slot and says how long to wait
 * for it; a caller that will not wait that long asks with a limit and books nothing.
 */
export class RateLimiter {
  private readonly tat = new Map<string, number>();

  reserve(key: string, requests: number, perSeconds: number, maxWaitMs: number, now = Date.now()): number | null {
    const interval = (perSeconds * 1000) / requests;
    const burst = (requests - 1) * interval;
    const tat = Math.max(this.tat.get(key) ?? now, now);
    const wait = Math.max(0, tat - burst - now);
    if (wait > maxWaitMs) return null;
    this.tat.set(key, tat + interval);
    if (this.tat.size > 10_000) this.sweep(now);
    return wait;
  }

  /** How long until a slot is free, without booking it. */
  waitFor(key: string, requests: number, perSeconds: number, now = Date.now()): number {
    const interval = (perSeconds * 1000) / requests;
    const tat = Math.max(this.tat.get(key) ?? now, now);
    return Math.max(0, tat - (requests - 1) * interval - now);
  }

  private sweep(now: number): void {
    for (const [key, tat] of this.tat) if (tat < now) this.tat.delete(key);
  }
}
