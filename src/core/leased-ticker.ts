import { errorMessage } from './errors';
import { newId } from './ids';
import type { Logger } from './logger';

/** Named leases with an owner and a time to live, kept where every process sees them (the store's Leases port). */
export interface LeaseStore {
  acquireLease(name: string, owner: string, ttlMs: number): Promise<boolean>;
  releaseLease(name: string, owner: string): Promise<void>;
}

export interface LeasedTickerOptions {
  /** The lease's name: one holder at a time among every process running this work. */
  lease: string;
  /** Prefix of this process's owner id for the lease. */
  ownerPrefix: string;
  everyMs: number;
  leases: LeaseStore;
  logger: Logger;
  /** Logged (with the error) when a run throws; the next interval runs again. */
  failureMessage: string;
  /** The work of one tick, run only while this process holds the lease. */
  run(): Promise<void>;
}

/**
 * Work that runs on a clock in one process at a time: each tick takes (or renews) a lease
 * before running, ticks never overlap, a failed tick is logged and the next one tries
 * again, and stopping waits for the running tick and gives the lease up so another
 * process takes over at once. The lease outlives five intervals, so a holder that dies is
 * replaced within that.
 */
export class LeasedTicker {
  private readonly owner: string;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly options: LeasedTickerOptions) {
    this.owner = newId(options.ownerPrefix);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.running = this.running
        .then(async () => {
          await this.tick();
        })
        .catch((err: unknown) => {
          this.options.logger.warn({ err: errorMessage(err) }, this.options.failureMessage);
        });
    }, this.options.everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
    await this.options.leases.releaseLease(this.options.lease, this.owner).catch(() => undefined);
  }

  /** One run, if this process holds (or now takes) the lease. Returns whether it ran. */
  async tick(): Promise<boolean> {
    const ttl = Math.max(5 * this.options.everyMs, 2000);
    if (!(await this.options.leases.acquireLease(this.options.lease, this.owner, ttl))) return false;
    await this.options.run();
    return true;
  }
}
