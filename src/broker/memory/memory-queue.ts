/** A queue inside one process with at-least-once consumer semantics (requeue on handler failure). */
export class MemoryQueue<T> {
  private readonly items: T[] = [];
  private handler: ((item: T) => Promise<void>) | null = null;
  private inFlight = 0;
  private prefetch = 1;
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly requeueDelayMs = 500) {}

  get depth(): number {
    return this.items.length;
  }

  push(item: T): void {
    if (this.closed) throw new Error('queue is closed');
    this.items.push(item);
    this.pump();
  }

  pushLater(item: T, delayMs: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) this.push(item);
    }, delayMs);
    this.timers.add(timer);
  }

  consume(handler: (item: T) => Promise<void>, prefetch: number): () => void {
    this.handler = handler;
    this.prefetch = prefetch;
    this.pump();
    return () => {
      this.handler = null;
    };
  }

  close(): void {
    this.closed = true;
    this.handler = null;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private pump(): void {
    while (this.handler && this.inFlight < this.prefetch && this.items.length > 0) {
      const item = this.items.shift() as T;
      const handler = this.handler;
      this.inFlight += 1;
      setImmediate(() => {
        handler(item)
          .catch(() => {
            if (!this.closed) this.pushLater(item, this.requeueDelayMs);
          })
          .finally(() => {
            this.inFlight -= 1;
            this.pump();
          });
      });
    }
  }
}
