import mongoose from 'mongoose';
import type { ReceivedRequest } from '../support/receiver';
import { MONGODB_BASE } from '../support/services';

/** Requests beyond the first per webhook-id: what receivers had to drop as duplicates. */
export function duplicateCount(requests: readonly ReceivedRequest[]): number {
  return requests.length - new Set(requests.map(webhookIdOf)).size;
}

export function webhookIdOf(request: ReceivedRequest): string {
  return String(request.headers['webhook-id']);
}

/** The webhook-ids whose success is on record in a hub's database right now. */
export async function recordedSuccesses(database: string): Promise<Set<string>> {
  const connection = await mongoose.createConnection(`${MONGODB_BASE.replace(/\/$/, '')}/${database}`, { serverSelectionTimeoutMS: 5000 }).asPromise();
  try {
    const docs = await connection.db!.collection('delivery_attempts').find({ status: 'succeeded' }).toArray();
    return new Set(docs.map((d) => String((JSON.parse(String(d['detailJson'])) as { webhookId: string }).webhookId)));
  } finally {
    await connection.close();
  }
}

/** Webhook-ids sent again after `since` although their success was already on record then. */
export function resentAfterSuccess(requests: readonly ReceivedRequest[], recorded: ReadonlySet<string>, since: number): string[] {
  return [...new Set(requests.filter((q) => q.at > since && recorded.has(webhookIdOf(q))).map(webhookIdOf))];
}
