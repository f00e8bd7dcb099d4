import type { LoadTestStore } from '../../subscriptions/load-tests';
import { clone, paginate } from './tables';
import type { MemoryTables } from './tables';

/** Load tests in memory, by id. */
export function memoryLoadTests(tables: MemoryTables): LoadTestStore {
  return {
    async insertLoadTest(record) {
      tables.loadTests.set(record.id, clone(record));
    },
    async listLoadTests(tenantId, subscriptionId, page) {
      return paginate([...tables.loadTests.values()].filter((r) => r.tenantId === tenantId && r.subscriptionId === subscriptionId), page);
    },
  };
}
