import cron from 'node-cron';
import type { ScheduledTask } from 'node-cron';
import { systemClock } from '../core/clock';
import type { Clock } from '../core/clock';
import { errorMessage } from '../core/errors';
import { newId } from '../core/ids';
import type { Logger } from '../core/logger';
import { landedIds } from '../connectors/export-landed';
import type { ConnectorRuntime, Transport } from '../connectors/runtime';
import type { ConnectionService, LoadedConnection } from '../integrations/connection-service';
import type { ExportPatch, ExportRecord } from '../integrations/connection-export';
import { sendPage } from '../integrations/export-page';
import type { PageLink } from '../integrations/export-page';
import type { AccessTokens } from '../integrations/integration-target';
import type { ConnectionPacer } from '../integrations/paced-transport';
import type { ConnectionExports, ExportEvents, ExternalRefStore, Leases } from '../integrations/ports';

export interface ExportJobOptions {
  exports: ConnectionExports;
  events: ExportEvents;
  leases: Leases;
  refs: ExternalRefStore;
  connections: Pick<ConnectionService, 'load' | 'contextFor' | 'markBroken'>;
  tokens: AccessTokens;
  runtime: Pick<ConnectorRuntime, 'run' | 'sendBatch'>;
  /** The connections' limits in this process: an export's requests take their slots as deliveries do. */
  pacer: ConnectionPacer;
  transport: Transport;
  logger: Logger;
  clock?: Clock;
}

/** Bounds of one run of an export (tests take one page of a few events). */
export interface ExportRunLimits {
  /** Events per page, at most (and at most the export action's batch.max_items). */
  pageSize?: number;
  /** Pages per run, at most. */
  pages?: number;
}

/** An export is held this long at most (a crashed holder's lease expires, and another process resumes it). */
const LEASE_MS = 5 * 60_000;
/** A run stops taking pages well before its lease ends; the next run goes on. */
const RUN_BUDGET_MS = LEASE_MS / 2;
/** Exports looked at per run. */
const EXPORTS_PER_RUN = 50;

/**
 * The `jobs` role's runner of exports of past events (POST /v1/connections/:id/export), every
 * minute: each unfinished export under a lease, page after page of its window from its stored
 * cursor. Before a page is sent its event ids are stored (written ahead); after the API answered,
 * the cursor moves past the page and the ids are cleared, in one update. A run that finds ids
 * written ahead (the previous holder stopped between the two) reads which of them landed in the
 * account (the manifest's export.landed) and leaves those events out when they come, keeping the
 * ids ahead of the cursor stored until it passes them: no row twice.
 */
export class ExportJob {
  private readonly owner = newId('proc');
  private readonly clock: Clock;

  constructor(private readonly options: ExportJobOptions) {
    this.clock = options.clock ?? systemClock;
  }

  schedule(): ScheduledTask {
    return cron.schedule('* * * * *', () => this.runAll(), { name: 'connection-exports', noOverlap: true });
  }

  /** One run over the unfinished exports; never throws. */
  async runAll(): Promise<void> {
    try {
      for (const record of await this.options.exports.unfinishedExports(EXPORTS_PER_RUN)) await this.runExport(record.tenantId, record.id);
    } catch (err) {
      this.options.logger.warn({ err: errorMessage(err) }, 'export run failed; it runs again in a minute');
    }
  }

  /** Runs one export under its lease; the export as it stands after, or null when another process holds it. */
  async runExport(tenantId: string, id: string, limits: ExportRunLimits = {}): Promise<ExportRecord | null> {
    const lease = `export:${id}`;
    if (!(await this.options.leases.acquireLease(lease, this.owner, LEASE_MS))) return null;
    try {
      const record = await this.options.exports.getExport(tenantId, id);
      if (!record || record.state === 'done' || record.state === 'failed') return record;
      return await this.run(record, limits);
    } catch (err) {
      this.options.logger.warn({ exportId: id, err: errorMessage(err) }, 'export stopped; it goes on next run');
      await this.save(id, { error: errorMessage(err) }).catch(() => undefined);
      return this.options.exports.getExport(tenantId, id);
    } finally {
      await this.options.leases.releaseLease(lease, this.owner).catch(() => undefined);
    }
  }

  private async run(record: ExportRecord, limits: ExportRunLimits): Promise<ExportRecord> {
    const loaded = await this.options.connections.load(record.connectionId);
    const connector = loaded?.connector;
    const action = connector?.export ? connector.actions.get(connector.export.action) : undefined;
    if (!loaded || loaded.record.tenantId !== record.tenantId) return this.finish(record, 'failed', 'the connection was deleted');
    if (!connector || !action?.batch) return this.finish(record, 'failed', `connector ${loaded.record.connector} is not installed or declares no export`);
    if (loaded.record.status !== 'active') return this.stopped(record, `the connection is ${loaded.record.status} (${loaded.record.lastError ?? 'no detail'}); the export goes on once it is fixed`);
    const link = await this.link(loaded, record);
    const pageSize = Math.min(limits.pageSize ?? action.batch.maxItems, action.batch.maxItems);
    const started = this.clock.now();
    let current: ExportRecord = record.state === 'running' ? record : await this.patch(record, { state: 'running' });
    // Ids found in the account ahead of the cursor: left out when their events come (an event stored late may push one to a later page).
    let landed = new Set<string>();
    if (current.pending !== null && current.pending.length > 0) {
      // The last run stopped between a page's request and storing its progress: read what landed.
      const read = await landedIds(connector, link.context, current.pending, { transport: link.transport, refreshCredentials: link.refreshCredentials });
      if (read.kind === 'stopped') return this.pageStopped(current, loaded, read);
      landed = read.ids;
    }
    for (let pages = 0; pages < (limits.pages ?? Infinity) && this.clock.now() - started < RUN_BUDGET_MS; pages++) {
      const page = await this.options.events.eventsForExport(current.tenantId, current.type, { since: current.since, until: current.until }, current.cursor, pageSize);
      if (page.length === 0) return this.finish(current, 'done', null);
      const ids = new Set(page.map((e) => e.envelope.id));
      const send = page.filter((e) => !landed.has(e.envelope.id));
      const ahead = [...landed].filter((id) => !ids.has(id));
      current = await this.patch(current, { pending: [...ids, ...ahead] });
      let range = current.lastRange;
      if (send.length > 0) {
        const outcome = await sendPage(link, send.map((e) => e.envelope));
        if (outcome.kind === 'stopped') return this.pageStopped(current, loaded, outcome);
        range = outcome.range ?? range;
      }
      landed = new Set(ahead);
      const last = page[page.length - 1] as (typeof page)[number];
      const progress = { cursor: { receivedAt: last.receivedAt, key: last.key }, pending: ahead.length > 0 ? ahead : null, exported: current.exported + page.length, lastRange: range, error: null };
      current = await this.patch(current, progress);
    }
    return current;
  }

  private async link(loaded: LoadedConnection, record: ExportRecord): Promise<PageLink> {
    const connector = loaded.connector as NonNullable<LoadedConnection['connector']>;
    const context = await this.options.connections.contextFor(loaded);
    const id = loaded.record.id;
    return {
      runtime: this.options.runtime,
      connector,
      context,
      transport: this.options.pacer.paced(this.options.transport, connector, id) ?? this.options.transport,
      refreshCredentials: () => this.options.tokens.fresh({ ...loaded, context }, { force: true }),
      refs: { get: (type, key) => this.options.refs.getExternalRef(id, type, key), put: (type, key, externalId) => this.options.refs.putExternalRef(id, type, key, externalId) },
      exportId: record.id,
    };
  }

  /** A page that did not go: retried next run (the ids written ahead stay), or the export fails (a broken link is marked). */
  private async pageStopped(record: ExportRecord, loaded: LoadedConnection, stop: { reason: string; verdict: 'retry' | 'fail' | 'broken' }): Promise<ExportRecord> {
    if (stop.verdict === 'retry') return this.stopped(record, stop.reason);
    if (stop.verdict === 'broken') await this.options.connections.markBroken(loaded.record, stop.reason);
    return this.finish(record, 'failed', stop.reason);
  }

  private stopped(record: ExportRecord, reason: string): Promise<ExportRecord> {
    this.options.logger.info({ exportId: record.id, reason }, 'export paused; it goes on next run');
    return this.patch(record, { error: reason });
  }

  private finish(record: ExportRecord, state: 'done' | 'failed', error: string | null): Promise<ExportRecord> {
    return this.patch(record, { state, error, finishedAt: new Date(this.clock.now()), ...(state === 'done' ? { pending: null } : {}) });
  }

  private async patch(record: ExportRecord, patch: ExportPatch): Promise<ExportRecord> {
    const full = { ...patch, updatedAt: new Date(this.clock.now()) };
    await this.options.exports.updateExport(record.id, full);
    return { ...record, ...full };
  }

  private save(id: string, patch: ExportPatch): Promise<void> {
    return this.options.exports.updateExport(id, { ...patch, updatedAt: new Date(this.clock.now()) });
  }
}
