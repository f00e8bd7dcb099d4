import type { AuditEntry } from '../../access/model';
import type { AuditLog } from '../../access/ports';
import type { MongoDatabase } from './database';
import { findPage, insertManySkippingDuplicates } from './documents';
import type { Doc } from './documents';

/** The audit trail in `audit_log`: insert only. */
export function mongoAuditLog(db: MongoDatabase): AuditLog {
  return {
    async recordAuditEntries(entries) {
      if (entries.length === 0) return;
      await insertManySkippingDuplicates(
        db.models.auditLog,
        entries.map(({ id, ...rest }) => ({ _id: id, ...rest })),
      );
    },

    async listAuditEntries(tenantId, query) {
      const filter: Doc = { tenantId };
      if (query.resourceType !== undefined) filter['resourceType'] = query.resourceType;
      if (query.resourceId !== undefined) filter['resourceId'] = query.resourceId;
      if (query.action !== undefined) filter['action'] = query.action;
      return findPage(db.models.auditLog, filter, query, fromAuditDoc);
    },
  };
}

function fromAuditDoc(doc: Doc): AuditEntry {
  return {
    id: String(doc['_id']),
    tenantId: String(doc['tenantId']),
    action: String(doc['action']),
    resourceType: String(doc['resourceType']),
    resourceId: (doc['resourceId'] as string | null | undefined) ?? null,
    fields: Array.isArray(doc['fields']) ? (doc['fields'] as unknown[]).map(String) : [],
    apiKeyId: String(doc['apiKeyId']),
    apiKeyName: String(doc['apiKeyName']),
    ip: (doc['ip'] as string | null | undefined) ?? null,
    userAgent: (doc['userAgent'] as string | null | undefined) ?? null,
    status: Number(doc['status']),
    at: doc['at'] as Date,
    ...(doc['details'] ? { details: doc['details'] as Record<string, string> } : {}),
  };
}
