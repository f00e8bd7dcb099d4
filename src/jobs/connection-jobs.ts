import cron from 'node-cron';
import type { ScheduledTask } from 'node-cron';
import { systemClock } from '../core/clock';
import type { Clock } from '../core/clock';
import { errorMessage } from '../core/errors';
import type { Logger } from '../core/logger';
import type { ConnectionService } from '../integrations/connection-service';
import type { TokenManager } from '../integrations/token-manager';
import type { ConnectionRepository } from '../integrations/ports';

export interface ConnectionJobsOptions {
  store: ConnectionRepository;
  connections: Pick<ConnectionService, 'unseal' | 'check'>;
  tokens: Pick<TokenManager, 'fresh'>;
  logger: Logger;
  healthCheckMinutes: number;
  /** Decides which tokens expire soon and which checks are due. */
  clock?: Clock;
}

/** Refresh before expiry, so deliveries rarely wait for a token. */
const REFRESH_WITHIN_MS = 10 * 60_000;

/**
 * node-cron jobs of the `jobs` role: refresh OAuth tokens that expire soon,
 * and run connection health checks so GET /v1/connections shows their state.
 */
export class ConnectionJobs {
  private readonly clock: Clock;

  constructor(private readonly options: ConnectionJobsOptions) {
    this.clock = options.clock ?? systemClock;
  }

  schedule(): ScheduledTask[] {
    const every = this.options.healthCheckMinutes;
    const healthPattern = every < 60 ? `*/${every} * * * *` : `0 */${Math.max(1, Math.round(every / 60))} * * *`;
    return [
      cron.schedule('* * * * *', () => this.refreshExpiring(), { name: 'oauth-refresh', noOverlap: true }),
      cron.schedule(healthPattern, () => this.checkHealth(), { name: 'connection-health', noOverlap: true }),
    ];
  }

  /** Refreshes tokens expiring within 10 minutes; returns how many were refreshed. */
  async refreshExpiring(now = this.clock.now()): Promise<number> {
    let refreshed = 0;
    for (const record of await this.options.store.findConnectionsExpiringBefore(new Date(now + REFRESH_WITHIN_MS), 200)) {
      try {
        const loaded = this.options.connections.unseal(record);
        const before = loaded.context.credentials['access_token'];
        const credentials = await this.options.tokens.fresh(loaded, { force: true });
        if (credentials['access_token'] !== before) refreshed++;
      } catch (err) {
        this.options.logger.warn({ connectionId: record.id, err: errorMessage(err) }, 'scheduled token refresh failed');
      }
    }
    return refreshed;
  }

  /** Runs the health check of connections not checked for a while; returns how many were checked. */
  async checkHealth(now = this.clock.now()): Promise<number> {
    let checked = 0;
    for (const record of await this.options.store.findConnectionsToCheck(new Date(now - this.options.healthCheckMinutes * 60_000), 100)) {
      try {
        await this.options.connections.check(record.tenantId, record.id);
        checked++;
      } catch (err) {
        this.options.logger.debug({ connectionId: record.id, err: errorMessage(err) }, 'connection has no health check to run');
      }
    }
    return checked;
  }
}
