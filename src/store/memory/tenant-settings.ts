import type { TenantSettingsStore } from '../../integrations/ports';
import { clone, cloneOrNull } from './tables';
import type { MemoryTables } from './tables';

/** Tenant settings in memory, one record per tenant. */
export function memoryTenantSettings(tables: MemoryTables): TenantSettingsStore {
  return {
    async getTenantSettings(tenantId) {
      return cloneOrNull(tables.tenantSettings.get(tenantId));
    },
    async putTenantSettings(record) {
      tables.tenantSettings.set(record.tenantId, clone(record));
    },
  };
}
