import type { TenantSettingsRecord } from '../../integrations/model';
import type { TenantSettingsStore } from '../../integrations/ports';
import type { MongoDatabase } from './database';
import type { Doc } from './documents';

/** Tenant settings in `tenant_settings`, one document per tenant under its id. */
export function mongoTenantSettings(db: MongoDatabase): TenantSettingsStore {
  return {
    async getTenantSettings(tenantId) {
      const doc = await db.models.tenantSettings.findById(tenantId).lean<Doc>();
      if (!doc) return null;
      return { tenantId, redirectOrigins: ((doc['redirectOrigins'] as string[] | undefined) ?? []).map(String), updatedAt: new Date(doc['updatedAt'] as Date) } satisfies TenantSettingsRecord;
    },
    async putTenantSettings(record) {
      await db.models.tenantSettings.replaceOne({ _id: record.tenantId }, { _id: record.tenantId, redirectOrigins: record.redirectOrigins, updatedAt: record.updatedAt }, { upsert: true });
    },
  };
}
