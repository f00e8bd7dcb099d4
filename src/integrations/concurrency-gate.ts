/**
 * At most `max` requests per key in flight in this process (a connection's manifest `concurrency`,
 * e.g. Mailchimp's 10 simultaneous connections per user). A request waits in order for a freed
 * slot, at most `maxWaitMs`; then it gives up and the caller puts its delivery back for later.
 */
export class ConcurrencyGate {
  private readonly keys = new Map<string, { held: number; waiters: Array<() => void> }>();

  /** A release function once a slot is held (call it exactly once; later calls do nothing), or null when none freed in time. */
  async acquire(key: string, max: number, maxWaitMs: number): Promise<(() => void) | null> {
    let entry = this.keys.get(key);
    if (!entry) {
      entry = { held: 0, waiters: [] };
      this.keys.set(key, entry);
    }
    if (entry.held < max) {
      entry.held += 1;
      return this.releaser(key, entry);
    }
    const waiting = entry;
    const granted = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        const at = waiting.waiters.indexOf(waiter);
        if (at >= 0) waiting.waiters.splice(at, 1);
        resolve(false);
      }, maxWaitMs);
      const waiter = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      waiting.waiters.push(waiter);
    });
    return granted ? this.releaser(key, waiting) : null;
  }

  /** Requests holding a slot of `key` now. */
  held(key: string): number {
    return this.keys.get(key)?.held ?? 0;
  }

  private releaser(key: string, entry: { held: number; waiters: Array<() => void> }): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // The slot goes straight to the next waiter; the count stays.
      const next = entry.waiters.shift();
      if (next) return next();
      entry.held -= 1;
      if (entry.held === 0 && this.keys.get(key) === entry) this.keys.delete(key);
    };
  }
}
