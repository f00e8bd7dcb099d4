/**
 * Requests sent over one connection and waiting for their answers, matched by id: each settles once, with the
 * answer, with what `onTimeout` makes after its deadline, or with what `settleAll` makes when the connection goes.
 * Shared by the WebSocket clients of the hub (`hookhub listen` relays and `hookhub tunnel`).
 */
export class PendingAnswers<T> {
  private readonly pending = new Map<string, { resolve: (value: T) => void; timer: NodeJS.Timeout; started: number }>();

  /** Waits for the answer to `id`; `send` writes the request (its failure settles with `onSendFailed`). */
  wait(id: string, timeoutMs: number, onTimeout: (started: number) => T, send: (failed: (value: T) => void) => void): Promise<T> {
    return new Promise((resolve) => {
      const started = Date.now();
      const timer = setTimeout(() => this.settle(id, onTimeout(started)), timeoutMs);
      this.pending.set(id, { resolve, timer, started });
      send((value) => this.settle(id, value));
    });
  }

  /** When the request `id` was sent (ms since the epoch), or undefined when it is not waiting. */
  startedAt(id: unknown): number | undefined {
    return typeof id === 'string' ? this.pending.get(id)?.started : undefined;
  }

  /** Settles `id` with `value`; false when it was not waiting (answered already, timed out, or never sent). */
  settle(id: string, value: T): boolean {
    const entry = this.pending.get(id);
    if (!entry) return false;
    this.pending.delete(id);
    clearTimeout(entry.timer);
    entry.resolve(value);
    return true;
  }

  /** Settles every request still waiting (the connection closed). */
  settleAll(make: (started: number) => T): void {
    for (const [id, entry] of [...this.pending]) this.settle(id, make(entry.started));
  }

  get size(): number {
    return this.pending.size;
  }
}
