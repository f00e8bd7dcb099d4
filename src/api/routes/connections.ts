import { Router } from 'express';
import { tenantOf } from '../auth';
import type { ApiDeps } from '../deps';
import { bodyObject, dateParam, optionalString } from '../params';
import { route } from '../scopes';
import { connectionView } from '../serializers';
import { funnelOf, funnelsByRoute } from '../../integrations/pipeline-funnel';
import { tenantResourceRoutes } from './tenant-resource';

export function connectionRoutes(deps: ApiDeps): Router {
  const router = Router();
  const service = deps.connections;
  const view = (c: Parameters<typeof connectionView>[0]): Record<string, unknown> => connectionView(c, service.pinned(c));

  route(router, 'POST', '/v1/connections', { scope: 'connections:write', audit: 'connection.create' }, async (req, res) => {
    const record = await service.create(tenantOf(res), bodyObject(req.body));
    res.status(201).location(`/v1/connections/${record.id}`).json(view(record));
  });
  tenantResourceRoutes(router, '/v1/connections', service, view, {
    list: { scope: 'subscriptions:read' },
    get: { scope: 'subscriptions:read' },
    update: { scope: 'connections:write', audit: 'connection.update' },
    remove: { scope: 'connections:write', audit: 'connection.delete' },
  });
  route(router, 'POST', '/v1/connections/:id/check', { scope: 'connections:write', audit: 'connection.check' }, async (req, res) => {
    res.json(await service.check(tenantOf(res), req.params['id'] as string));
  });
  /** Created / updated / failed counts per object type and hour (default: the last 7 days). */
  route(router, 'GET', '/v1/connections/:id/stats', { scope: 'subscriptions:read' }, async (req, res) => {
    const tenantId = tenantOf(res);
    const connection = await service.get(tenantId, req.params['id'] as string);
    const sinceRaw = optionalString(req.query, 'since');
    const since = sinceRaw === undefined ? new Date(Date.now() - 7 * 86_400_000) : dateParam(sinceRaw, 'since');
    const rows = await deps.store.listSyncCounts(tenantId, connection.id, since);
    const totals: Record<string, { created: number; updated: number; failed: number }> = {};
    for (const row of rows) {
      const t = (totals[row.objectType] ??= { created: 0, updated: 0, failed: 0 });
      t.created += row.created;
      t.updated += row.updated;
      t.failed += row.failed;
    }
    res.json({
      since: since.toISOString(),
      totals,
      data: rows.map((r) => ({ objectType: r.objectType, hour: r.hour.toISOString(), created: r.created, updated: r.updated, failed: r.failed })),
    });
  });
  /** The funnel of the records the connection created in its CRM: sent, created, converted, won (default: the last 30 days). */
  route(router, 'GET', '/v1/connections/:id/pipeline', { scope: 'subscriptions:read' }, async (req, res) => {
    const tenantId = tenantOf(res);
    const connection = await service.get(tenantId, req.params['id'] as string);
    const sinceRaw = optionalString(req.query, 'since');
    const since = sinceRaw === undefined ? new Date(Date.now() - 30 * 86_400_000) : dateParam(sinceRaw, 'since');
    const records = await deps.store.listTrackedRecords(tenantId, connection.id, since, PIPELINE_RECORDS_MAX + 1);
    const counted = records.slice(0, PIPELINE_RECORDS_MAX);
    res.json({
      connectionId: connection.id,
      connector: connection.connector,
      since: since.toISOString(),
      // More records than one answer counts: the funnel covers the oldest PIPELINE_RECORDS_MAX; give a later since.
      truncated: records.length > PIPELINE_RECORDS_MAX,
      ...funnelOf(counted),
      routes: funnelsByRoute(counted),
    });
  });
  return router;
}

/** Records one pipeline answer counts at most. */
const PIPELINE_RECORDS_MAX = 50_000;
