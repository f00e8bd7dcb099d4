import { systemClock } from '../core/clock';
import type { Clock } from '../core/clock';
import { HubError, invalid, NotFoundError } from '../core/errors';
import type { ValidationProblem } from '../core/errors';
import { newId } from '../core/ids';
import type { ConnectionService } from './connection-service';
import type { ExportRecord } from './connection-export';
import type { ConnectionExports } from './ports';

/** Exports listed per connection, at most. */
const LIST_MAX = 100;

/**
 * Exports of a connection's past events (POST /v1/connections/:id/export {type, since, until}):
 * checked and queued here, run by the jobs role (src/jobs/export-job.ts). Only connectors whose
 * manifest declares `export` take one, for an event type one of their triggers handles.
 */
export class ConnectionExportService {
  private readonly clock: Clock;

  constructor(
    private readonly store: ConnectionExports,
    private readonly connections: Pick<ConnectionService, 'get' | 'pinned'>,
    clock?: Clock,
  ) {
    this.clock = clock ?? systemClock;
  }

  async create(tenantId: string, connectionId: string, body: Record<string, unknown>): Promise<ExportRecord> {
    const now = new Date(this.clock.now());
    const { type, since, until } = exportWindow(body, now);
    const connection = await this.connections.get(tenantId, connectionId);
    const connector = this.connections.pinned(connection);
    if (!connector) throw new HubError('connector_not_installed', `Connector ${connection.connector} (major ${connection.connectorVersion}) of this connection is not installed; nothing can be exported through it.`, { status: 409 });
    if (!connector.export) {
      throw new HubError('export_not_supported', `Connector ${connector.manifest.name} cannot export past events (its manifest declares no export). Use a connector that can, e.g. google-sheets.`, { status: 409 });
    }
    const handled = [...new Set(connector.triggers.map((t) => t.event))];
    if (!handled.includes(type) && !handled.includes('*')) {
      throw new HubError('export_type_not_handled', `Connector ${connector.manifest.name} has no trigger for ${type}; it exports ${handled.join(', ')}.`, { status: 422, details: [{ path: '/type', message: `not one of ${handled.join(', ')}` }] });
    }
    if (connection.status !== 'active') {
      throw new HubError('connection_not_active', `The connection is ${connection.status} (${connection.lastError ?? 'no detail'}); fix or link it again before exporting.`, { status: 409 });
    }
    const record: ExportRecord = {
      id: newId('exp'), tenantId, connectionId: connection.id, type, since, until, state: 'queued', exported: 0,
      cursor: null, pending: null, lastRange: null, error: null, createdAt: now, updatedAt: now, finishedAt: null,
    };
    await this.store.insertExport(record);
    return record;
  }

  async get(tenantId: string, connectionId: string, id: string): Promise<ExportRecord> {
    const found = await this.store.getExport(tenantId, id);
    if (!found || found.connectionId !== connectionId) throw new NotFoundError('export', id);
    return found;
  }

  async list(tenantId: string, connectionId: string): Promise<ExportRecord[]> {
    const connection = await this.connections.get(tenantId, connectionId);
    return this.store.listExports(tenantId, connection.id, LIST_MAX);
  }
}

/** The body's type and window; `until` defaults to now and is cut to now (an export is of past events only). */
function exportWindow(body: Record<string, unknown>, now: Date): { type: string; since: Date; until: Date } {
  const problems: ValidationProblem[] = [];
  const type = body['type'];
  if (typeof type !== 'string' || !/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/.test(type)) problems.push({ path: '/type', message: 'must be an event type, e.g. business.created' });
  const date = (name: string, fallback?: Date): Date => {
    const raw = body[name];
    if (raw === undefined && fallback) return fallback;
    const value = typeof raw === 'string' ? new Date(raw) : new Date(NaN);
    if (Number.isNaN(value.getTime())) problems.push({ path: `/${name}`, message: 'must be an ISO 8601 date-time, e.g. 2026-01-31T12:00:00Z' });
    return value;
  };
  const since = date('since');
  const until = new Date(Math.min(date('until', now).getTime(), now.getTime()));
  for (const key of Object.keys(body)) if (!['type', 'since', 'until'].includes(key)) problems.push({ path: `/${key}`, message: 'is not a field of an export (type, since, until)' });
  if (problems.length === 0 && since.getTime() >= until.getTime()) problems.push({ path: '/since', message: 'must be before until (and before now)' });
  if (problems.length > 0) throw invalid(problems, 'export');
  return { type: type as string, since, until };
}
