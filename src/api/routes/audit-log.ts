import { Router } from 'express';
import type { AuditEntry } from '../../access/model';
import { principalOf } from '../auth';
import type { ApiDeps } from '../deps';
import { optionalString, pageFrom } from '../params';
import { route } from '../scopes';

export function auditEntryView(e: AuditEntry): Record<string, unknown> {
  return {
    id: e.id,
    action: e.action,
    resourceType: e.resourceType,
    resourceId: e.resourceId,
    fields: e.fields,
    apiKey: { id: e.apiKeyId, name: e.apiKeyName },
    ip: e.ip,
    userAgent: e.userAgent,
    status: e.status,
    at: e.at.toISOString(),
    ...(e.details ? { details: e.details } : {}),
  };
}

/** The tenant's audit trail, newest first (admin scope). */
export function auditLogRoutes(deps: ApiDeps): Router {
  const router = Router();
  route(router, 'GET', '/v1/audit-log', { scope: 'admin' }, async (req, res) => {
    const page = await deps.store.listAuditEntries(principalOf(res).tenantId, {
      ...pageFrom(req.query),
      resourceType: optionalString(req.query, 'resourceType'),
      resourceId: optionalString(req.query, 'resourceId'),
      action: optionalString(req.query, 'action'),
    });
    res.json({ data: page.data.map(auditEntryView), nextCursor: page.nextCursor });
  });
  return router;
}
