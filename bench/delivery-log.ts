/**
 * The delivery log at scale (GET /v1/deliveries), run by hand: `npx tsx bench/delivery-log.ts`.
 * Seeds BENCH_ATTEMPTS attempts (1,000,000) into a fresh database on the local MongoDB-protocol server
 * (FerretDB in development) through the store's own write path, in insertMany batches, then times the
 * first page and a deep cursor page (half-way down the log) of each filter the API offers. Prints one
 * line per query (median of BENCH_REPEATS, 5), with what the server's explain says it did (filter, sort
 * and limit pushed down or not: FerretDB 1.x sorts in its own process), and drops the database
 * (BENCH_KEEP=1 keeps it).
 * Spread: 20 subscriptions, 12 event types, 1 attempt in 10 failed, 3 attempts per event, over 30 days;
 * a second tenant holds a tenth as many rows, so every query also proves it reads one tenant's rows only.
 */
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { newIdAt } from '../src/core/ids';
import { ALL_EVENT_TYPES } from '../src/events/catalog';
import type { AttemptQuery, AttemptRecord } from '../src/pipeline/model';
import { createMongoStore } from '../src/store/mongo/mongo-store';
import { dropDatabase, mongoUrlFor } from '../test/support/services';
import { envInt } from './support';

const TOTAL = envInt('BENCH_ATTEMPTS', 1_000_000);
const BATCH = envInt('BENCH_BATCH', 5000);
const REPEATS = envInt('BENCH_REPEATS', 5);
const TENANT = 'bench';
const DAYS = 30;
const START = Date.UTC(2026, 10, 1);
const SPAN_MS = DAYS * 86_400_000;
const SUBSCRIPTIONS = Array.from({ length: 20 }, (_, i) => `sub_bench${String(i).padStart(2, '0')}`);
const TYPES = ALL_EVENT_TYPES.slice(0, 12);

function row(i: number, count: number, tenantId: string): AttemptRecord {
  const createdAt = new Date(START + Math.floor((i / count) * SPAN_MS));
  const failed = i % 10 === 3;
  return {
    id: newIdAt('att', createdAt),
    tenantId,
    subscriptionId: SUBSCRIPTIONS[i % SUBSCRIPTIONS.length] as string,
    eventId: `evt_bench${tenantId}_${Math.floor(i / 3)}`,
    eventType: TYPES[Math.floor(i / 3) % TYPES.length] as string,
    webhookId: `msg_bench_${i}`,
    attempt: 1 + (i % 3),
    status: failed ? 'failed' : 'succeeded',
    next: failed ? 'retry' : 'none',
    nextAttemptAt: failed ? new Date(createdAt.getTime() + 60_000) : null,
    url: 'https://receiver.example/hooks',
    httpStatus: failed ? 503 : 200,
    durationMs: 20 + (i % 80),
    responseHeaders: { 'content-type': 'text/plain' },
    responseBody: failed ? 'unavailable' : 'ok',
    error: null,
    replay: false,
    createdAt,
  };
}

async function main(): Promise<void> {
  const database = `hhbench_log_${randomBytes(4).toString('hex')}`;
  const store = createMongoStore({ url: mongoUrlFor(database) });
  await store.connect();
  try {
    console.log(`delivery log bench: ${TOTAL.toLocaleString('en')} attempts of tenant "${TENANT}" (+${(TOTAL / 10).toLocaleString('en')} of another) into ${database}, batches of ${BATCH}`);
    const seeding = performance.now();
    for (const [tenantId, count] of [
      [TENANT, TOTAL],
      ['bench-other', Math.floor(TOTAL / 10)],
    ] as const) {
      for (let start = 0; start < count; start += BATCH * 2) {
        // Two batches in flight, as the hub's attempt batcher keeps a few.
        await Promise.all(
          [start, start + BATCH]
            .filter((s) => s < count)
            .map((s) => store.recordAttempts(Array.from({ length: Math.min(BATCH, count - s) }, (_, k) => row(s + k, count, tenantId)))),
        );
        if (tenantId === TENANT && (start / (BATCH * 2)) % 20 === 0) process.stdout.write(`  seeded ${start.toLocaleString('en')} in ${Math.round((performance.now() - seeding) / 1000)} s\n`);
      }
    }
    const seedSeconds = (performance.now() - seeding) / 1000;
    console.log(`seeded in ${seedSeconds.toFixed(0)} s (${Math.round((TOTAL * 1.1) / seedSeconds).toLocaleString('en')} rows/s)`);

    // Half-way down the log: the cursor a client holds after paging through half of it.
    const deep = newIdAt('att', new Date(START + SPAN_MS / 2));
    const day = { since: new Date(START + 10 * 86_400_000), until: new Date(START + 11 * 86_400_000) };
    const filters: Array<[string, Omit<AttemptQuery, 'limit'>]> = [
      ['no filter', {}],
      ['status=failed', { status: 'failed' }],
      ['status=succeeded', { status: 'succeeded' }],
      ['subscriptionId', { subscriptionId: SUBSCRIPTIONS[7] }],
      ['type', { eventType: TYPES[5] }],
      ['eventId', { eventId: `evt_bench${TENANT}_${Math.floor(TOTAL / 6)}` }],
      ['since+until (1 day)', day],
      ['status=failed+type', { status: 'failed', eventType: TYPES[5] }],
    ];
    const client = new MongoClient(mongoUrlFor(database));
    await client.connect();
    const collection = client.db().collection('delivery_attempts');
    console.log(`\n${'filter'.padEnd(22)}${'first page'.padStart(12)}${'deep page'.padStart(12)}   rows (first/deep)   explain`);
    for (const [name, filter] of filters) {
      const time = async (cursor: string | undefined): Promise<{ ms: number; rows: number }> => {
        const runs: number[] = [];
        let rows = 0;
        for (let r = 0; r < REPEATS; r += 1) {
          const started = performance.now();
          const page = await store.listAttempts(TENANT, { limit: 50, ...filter, ...(cursor === undefined ? {} : { cursor }) });
          runs.push(performance.now() - started);
          rows = page.data.length;
          if (page.data.some((a) => a.tenantId !== TENANT)) throw new Error(`${name}: another tenant's row in the page`);
        }
        runs.sort((a, b) => a - b);
        return { ms: runs[Math.floor(runs.length / 2)] as number, rows };
      };
      const first = await time(undefined);
      // The query listAttempts sends, as the server plans it.
      const mongoFilter: Record<string, unknown> = { tenantId: TENANT };
      if (filter.status) mongoFilter['status'] = filter.status;
      if (filter.subscriptionId) mongoFilter['subscriptionId'] = filter.subscriptionId;
      if (filter.eventType) mongoFilter['eventType'] = filter.eventType;
      if (filter.eventId) mongoFilter['eventId'] = filter.eventId;
      const plan = (await collection.find(mongoFilter).sort({ _id: -1 }).limit(51).explain()) as Record<string, unknown>;
      const winning = JSON.stringify((plan['queryPlanner'] as Record<string, unknown> | undefined)?.['winningPlan'] ?? {});
      const how =
        'sortPushdown' in plan
          ? `filter ${plan['filterPushdown'] ?? plan['pushdown'] ? 'pushed' : 'not pushed'}, sort ${plan['sortPushdown'] ? 'pushed' : 'not pushed'}, limit ${plan['limitPushdown'] ? 'pushed' : 'not pushed'}`
          : /IXSCAN/.test(winning) ? `index ${/"indexName":"([^"]+)"/.exec(winning)?.[1] ?? ''}` : 'no index';
      const deepPage = filter.eventId !== undefined || filter.until !== undefined ? null : await time(deep);
      console.log(
        `${name.padEnd(22)}${`${first.ms.toFixed(1)} ms`.padStart(12)}${(deepPage ? `${deepPage.ms.toFixed(1)} ms` : 'n/a').padStart(12)}   ${`${first.rows}/${deepPage?.rows ?? '-'}`.padEnd(20)}${how}`,
      );
    }
    await client.close();
  } finally {
    await store.close();
    if (process.env['BENCH_KEEP'] !== '1') await dropDatabase(database);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
