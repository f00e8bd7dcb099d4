import cron from 'node-cron';
import type { ScheduledTask } from 'node-cron';
import { systemClock } from '../core/clock';
import type { Clock } from '../core/clock';
import { errorMessage } from '../core/errors';
import { newId } from '../core/ids';
import type { Logger } from '../core/logger';
import { readBack } from '../connectors/readback';
import type { ReadbackRow } from '../connectors/readback';
import type { Transport } from '../connectors/runtime';
import type { OperationalEvents } from '../events/operational-events';
import type { ConnectionService, LoadedConnection } from '../integrations/connection-service';
import type { AccessTokens } from '../integrations/integration-target';
import type { ConnectionPacer } from '../integrations/paced-transport';
import type { Leases, TrackedRecords } from '../integrations/ports';
import { transition } from '../integrations/tracked-record';
import type { TrackedRecord } from '../integrations/tracked-record';

export interface ReadbackJobOptions {
  records: TrackedRecords;
  leases: Leases;
  connections: Pick<ConnectionService, 'load' | 'contextFor'>;
  tokens: AccessTokens;
  /** The connections' limits in this process: the read-back takes its requests' slots as deliveries do. */
  pacer: ConnectionPacer;
  transport: Transport;
  operational: Pick<OperationalEvents, 'emit'>;
  logger: Logger;
  /** How often the job runs (default every 10 minutes). */
  everyMinutes?: number;
  clock?: Clock;
}

/** What one run did for a connection. */
export interface ReadbackRun {
  connectionId: string;
  read: number;
  requests: number;
  converted: number;
  won: number;
  /** Why the run stopped before reading every record it took (rate limit, an API error); null when it did not. */
  stopped: string | null;
}

/** A connection's read-back is held this long at most (a crashed holder's lease expires). */
const LEASE_MS = 5 * 60_000;
/** Connections read per run, at most. */
const CONNECTIONS_PER_RUN = 200;

/**
 * The `jobs` role's read-back of the records connections created in CRMs (manifest `readback`):
 * per connection, under a lease so one process reads it at a time, the open records read longest
 * ago first, at most the manifest's per_run, in batches, through the connection's rate limit.
 * Each record that reaches converted or won is announced once (crm.lead_converted,
 * crm.opportunity_won): the state change is stored first, guarded by the state it was read in.
 */
export class ReadbackJob {
  private readonly owner = newId('proc');
  private readonly clock: Clock;

  constructor(private readonly options: ReadbackJobOptions) {
    this.clock = options.clock ?? systemClock;
  }

  schedule(): ScheduledTask {
    const every = Math.max(1, Math.min(59, this.options.everyMinutes ?? 10));
    return cron.schedule(`*/${every} * * * *`, () => this.runAll(), { name: 'crm-readback', noOverlap: true });
  }

  /** One run over every connection with open records; never throws. */
  async runAll(): Promise<ReadbackRun[]> {
    const runs: ReadbackRun[] = [];
    try {
      for (const connectionId of await this.options.records.connectionsWithOpenRecords(CONNECTIONS_PER_RUN)) {
        const run = await this.runConnection(connectionId);
        if (run) runs.push(run);
      }
    } catch (err) {
      this.options.logger.warn({ err: errorMessage(err) }, 'CRM read-back failed; it runs again on schedule');
    }
    return runs;
  }

  /** Reads back one connection's open records; null when another process holds it or it has nothing to read back. */
  async runConnection(connectionId: string): Promise<ReadbackRun | null> {
    const lease = `readback:${connectionId}`;
    if (!(await this.options.leases.acquireLease(lease, this.owner, LEASE_MS))) return null;
    try {
      const loaded = await this.options.connections.load(connectionId);
      if (!loaded?.connector?.readback || loaded.record.status !== 'active') return null;
      return await this.read(loaded);
    } catch (err) {
      this.options.logger.warn({ connectionId, err: errorMessage(err) }, 'CRM read-back of a connection failed; it is tried again next run');
      return { connectionId, read: 0, requests: 0, converted: 0, won: 0, stopped: errorMessage(err) };
    } finally {
      await this.options.leases.releaseLease(lease, this.owner).catch(() => undefined);
    }
  }

  private async read(loaded: LoadedConnection): Promise<ReadbackRun> {
    const connector = loaded.connector;
    const readback = connector?.readback;
    const run: ReadbackRun = { connectionId: loaded.record.id, read: 0, requests: 0, converted: 0, won: 0, stopped: null };
    if (!connector || !readback) return run;
    const records = (await this.options.records.openRecords(loaded.record.id, readback.perRun)).filter((r) => r.externalId !== null);
    const context = await this.options.connections.contextFor(loaded);
    const transport = this.options.pacer.paced(this.options.transport, connector, loaded.record.id) ?? this.options.transport;
    for (let i = 0; i < records.length; i += readback.batch) {
      const batch = records.slice(i, i + readback.batch);
      const outcome = await readBack(connector, readback, context, batch.map((r) => r.externalId as string), {
        transport,
        refreshCredentials: () => this.options.tokens.fresh({ ...loaded, context }, { force: true }),
      });
      run.requests += outcome.requests;
      if (outcome.kind === 'stopped') {
        run.stopped = outcome.reason;
        this.options.logger.warn({ connectionId: loaded.record.id, reason: outcome.reason }, 'CRM read-back stopped; the rest is read next run');
        break;
      }
      const rows = new Map(outcome.rows.map((row) => [row.externalId, row]));
      for (const record of batch) await this.apply(record, rows.get(record.externalId as string), connector.manifest.name, run);
      run.read += batch.length;
    }
    return run;
  }

  /** Stores what a read found of one record, then announces the changes it made (once: only the writer that moved the state does). */
  private async apply(record: TrackedRecord, row: ReadbackRow | undefined, connector: string, run: ReadbackRun): Promise<void> {
    const now = new Date(this.clock.now());
    if (!row) {
      await this.options.records.updateTrackedRecord(record.id, record.state, { checkedAt: now });
      return;
    }
    const { patch, events } = transition(record, row, now);
    if (!(await this.options.records.updateTrackedRecord(record.id, record.state, patch))) return;
    const after = { ...record, ...patch };
    for (const type of events) {
      if (type === 'crm.lead_converted') run.converted++;
      else run.won++;
      await this.options.operational.emit(record.tenantId, type, {
        connection_id: record.connectionId,
        connector,
        object_type: record.objectType,
        external_id: record.externalId,
        opportunity_id: after.opportunityId,
        stage: after.stage,
        amount: after.amount,
        currency: after.currency,
        route: record.route,
        event_id: record.eventId,
        subject_id: record.subjectId,
        converted_at: (after.convertedAt ?? now).toISOString(),
        ...(type === 'crm.opportunity_won' ? { won_at: (after.closedAt ?? now).toISOString() } : {}),
      });
    }
  }
}
