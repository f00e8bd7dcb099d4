import { Router } from 'express';
import { tenantOf } from '../auth';
import type { ApiDeps } from '../deps';
import { bodyObject } from '../params';
import { route } from '../scopes';
import type { ExportRecord } from '../../integrations/connection-export';

/** An export as the API shows it. */
function exportView(e: ExportRecord): Record<string, unknown> {
  return {
    id: e.id,
    connectionId: e.connectionId,
    type: e.type,
    since: e.since.toISOString(),
    until: e.until.toISOString(),
    state: e.state,
    exported: e.exported,
    cursor: e.cursor ? { receivedAt: e.cursor.receivedAt.toISOString(), key: e.cursor.key } : null,
    // A page was written ahead and not yet recorded as sent: the next run checks what landed before sending it.
    pagePending: e.pending !== null,
    lastRange: e.lastRange,
    error: e.error,
    createdAt: e.createdAt.toISOString(),
    updatedAt: e.updatedAt.toISOString(),
    finishedAt: e.finishedAt?.toISOString() ?? null,
  };
}

/** Exports of a connection's past events into its linked account (run by the jobs role). */
export function exportRoutes(deps: ApiDeps): Router {
  const router = Router();
  route(router, 'POST', '/v1/connections/:id/export', { scope: 'connections:write', audit: 'connection.export' }, async (req, res) => {
    const created = await deps.exports.create(tenantOf(res), req.params['id'] as string, bodyObject(req.body));
    res.status(202).location(`/v1/connections/${created.connectionId}/exports/${created.id}`).json(exportView(created));
  });
  route(router, 'GET', '/v1/connections/:id/exports', { scope: 'subscriptions:read' }, async (req, res) => {
    res.json({ data: (await deps.exports.list(tenantOf(res), req.params['id'] as string)).map(exportView) });
  });
  route(router, 'GET', '/v1/connections/:id/exports/:exportId', { scope: 'subscriptions:read' }, async (req, res) => {
    res.json(exportView(await deps.exports.get(tenantOf(res), req.params['id'] as string, req.params['exportId'] as string)));
  });
  return router;
}
