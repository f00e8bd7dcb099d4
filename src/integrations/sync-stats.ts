import type { Logger } from '../core/logger';
import { newId } from '../core/ids';
import type { SyncCounts } from './ports';
import type { SyncCountRow } from './model';

const HOUR_MS = 3_600_000;

/**
 * Per-connection counts of objects created, updated and failed in the
 * third-party API, per object type and hour. Each process keeps its own counts
 * and writes its own rows (no read-modify-write shared between processes);
 * readers sum the rows.
 */
export class SyncStats {
  private readonly processId = newId('proc');
  private readonly rows = new Map<string, SyncCountRow>();
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: SyncCounts,
    private readonly logger: Logger,
    private readonly flushMs = 2000,
  ) {}

  record(tenantId: string, connectionId: string, objectType: string, result: 'created' | 'updated' | 'failed', at = Date.now()): void {
    const hour = new Date(Math.floor(at / HOUR_MS) * HOUR_MS);
    const key = `${connectionId}|${objectType}|${hour.getTime()}`;
    const row = this.rows.get(key) ?? { tenantId, connectionId, objectType, hour, created: 0, updated: 0, failed: 0 };
    row[result] += 1;
    this.rows.set(key, row);
    this.dirty.add(key);
    this.timer ??= setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, this.flushMs);
  }

  /** Writes the changed rows; on failure they stay dirty for the next flush. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const keys = [...this.dirty];
      if (keys.length === 0) return;
      this.dirty.clear();
      const rows = keys.map((k) => this.rows.get(k)).filter((r): r is SyncCountRow => r !== undefined).map((r) => ({ ...r }));
      try {
        await this.store.saveSyncCounts(this.processId, rows);
      } catch (err) {
        for (const k of keys) this.dirty.add(k);
        this.logger.warn({ err: (err as Error).message }, 'could not save sync statistics; will try again');
      }
      // Rows of past hours are final once written.
      const current = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
      for (const [key, row] of this.rows) if (row.hour.getTime() < current - HOUR_MS && !this.dirty.has(key)) this.rows.delete(key);
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
  }
}
