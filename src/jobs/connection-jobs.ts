import cron from 'node-cron';
import type { ScheduledTask } from 'node-cron';
import { errorMessage } from '../core/errors';
import type { Logger } from '../core/logger';
import type { ConnectionService } from '../integrations/connection-service';
import type { Store } from '../store/port';

export interface ConnectionJobsOptions {
  store: Store;
  connections: ConnectionService;
  logger: Logger;
  healthCheckMinutes: number;
}

/** Refresh before expiry, so deliveries rarely wait for a token. */
const REFRESH_WITHIN_MS = 10 * 60_000;

/**
 * node-cron jobs of the `jobs` role: refresh OAuth tokens that expire soon,
 * and run connection health checks so GET /v1/connections shows their state.
 */
export class ConnectionJobs {
  constructor(private readonly o: ConnectionJobsOptions) {}

  schedule(): ScheduledTask[] {
    const every = this.o.healthCheckMinutes;
    const healthPattern = every < 60 ? `*/${every} * * * *` : `0 */${Math.max(1, Math.round(every / 60))} * * *`;
    return [
      cron.schedule('* * * * *', () => this.refreshExpiring(), { name: 'oauth-refresh', noOverlap: true }),
      cron.schedule(healthPattern, () => this.checkHealth(), { name: 'connection-health', noOverlap: true }),
    ];
  }

  /** Refreshes tokens expiring within 10 minutes; returns how many were refreshed. */
  async refreshExpiring(now = Date.now()): Promise<number> {
    let refreshed = 0;
    for (const record of await this.o.store.findConnectionsExpiringBefore(new Date(now + REFRESH_WITHIN_MS), 200)) {
      try {
        const loaded = await this.o.connections.unseal(record);
        const before = loaded.context.credentials['access_token'];
        const credentials = await this.o.connections.tokens.fresh(loaded, { force: true });
        if (credentials['access_token'] !== before) refreshed++;
      } catch (err) {
        this.o.logger.warn({ connectionId: record.id, err: errorMessage(err) }, 'scheduled token refresh failed');
      }
    }
    return refreshed;
  }

  /** Runs the health check of connections not checked for a while; returns how many were checked. */
  async checkHealth(now = Date.now()): Promise<number> {
    let checked = 0;
    for (const record of await this.o.store.findConnectionsToCheck(new Date(now - this.o.healthCheckMinutes * 60_000), 100)) {
      try {
        await this.o.connections.check(record.tenantId, record.id);
        checked++;
      } catch (err) {
        this.o.logger.debug({ connectionId: record.id, err: errorMessage(err) }, 'connection has no health check to run');
      }
    }
    return checked;
  }
}
