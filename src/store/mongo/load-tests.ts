import type { LoadTestResult } from '../../transport/loadtest/engine';
import type { LoadTestRecord, LoadTestStore } from '../../subscriptions/load-tests';
import type { MongoDatabase } from './database';
import { findPage } from './documents';
import type { Doc } from './documents';

/** Load tests in `load_tests`; the result as JSON text (its status codes are keys such as "200"). */
export function mongoLoadTests(db: MongoDatabase): LoadTestStore {
  const toRecord = (doc: Doc): LoadTestRecord => ({
    id: String(doc['_id']),
    tenantId: String(doc['tenantId']),
    subscriptionId: String(doc['subscriptionId']),
    rate: Number(doc['rate']),
    seconds: Number(doc['seconds']),
    createdAt: new Date(doc['createdAt'] as Date),
    result: JSON.parse(String(doc['resultJson'])) as LoadTestResult,
  });
  return {
    async insertLoadTest(record) {
      const { id, result, ...rest } = record;
      await db.models.loadTests.collection.insertOne({ _id: id, ...rest, resultJson: JSON.stringify(result) } as never);
    },
    async listLoadTests(tenantId, subscriptionId, page) {
      return findPage(db.models.loadTests, { tenantId, subscriptionId }, page, toRecord);
    },
  };
}
