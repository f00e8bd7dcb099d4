import type { Page, PageRequest } from '../core/page';
import type { LoadTestResult } from '../transport/loadtest/engine';

/** One load test the hub ran against a subscription's endpoint, with what it measured. */
export interface LoadTestRecord {
  id: string;
  tenantId: string;
  subscriptionId: string;
  rate: number;
  seconds: number;
  createdAt: Date;
  result: LoadTestResult;
}

/** Where the hub keeps the load tests of subscriptions. */
export interface LoadTestStore {
  insertLoadTest(record: LoadTestRecord): Promise<void>;
  /** A subscription's load tests, newest first; only the tenant's own. */
  listLoadTests(tenantId: string, subscriptionId: string, page: PageRequest): Promise<Page<LoadTestRecord>>;
}
