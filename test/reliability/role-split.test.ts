import { randomBytes } from 'node:crypto';
import { acceptedByKey, keyedEvents, publishInOrder } from '../support/ordering';
import { receiverPool, waitUntil } from '../support/receiver';
import type { ReceivedRequest, Receiver } from '../support/receiver';
import { findDocuments } from '../support/services';
import { startSplitHub } from '../support/split-hub';
import type { SplitHub } from '../support/split-hub';
import { businessCreated } from '../support/test-hub';

/**
 * A hub split by role over five processes sharing one queue prefix and one database: one API (with
 * the jobs), one router, three delivery workers. The workers share the load of plain subscriptions,
 * the rate limit of a rate-limited one (slots claimed in the store) and the shards of an ordered one.
 */
type Json = Record<string, unknown>;

const PLAIN_EVENTS = 300;
const LIMITED_EVENTS = 40;
const LIMIT = 10;
const ORDERED_EVENTS = 200;
const KEYS = 10;
const WORKERS = 3;

let hub: SplitHub | undefined;
const receivers = receiverPool();

afterAll(async () => {
  // What went wrong in any process, for a failure's story: warnings and errors of every process.
  const warnings = (hub?.processes ?? []).flatMap((p, i) => p.logs.filter((l) => /"level":(40|50|60)/.test(l)).map((l) => `process ${i}: ${l}`));
  if (warnings.length > 0) console.log(warnings.slice(0, 50).join('\n'));
  await hub?.destroy();
  await receivers.closeAll();
});

/** Events of one kind: the subscriptions tell them apart by data.category. */
function events(count: number, category: string): Json[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `evt_${category}_${i}_${randomBytes(3).toString('hex')}`,
    version: '1.0',
    timestamp: new Date().toISOString(),
    ...businessCreated({}, { category }),
  }));
}

/** The lists merged one item of each in turn: each list's order is kept. */
function interleave(...lists: Json[][]): Json[] {
  const merged: Json[] = [];
  for (let i = 0; i < Math.max(...lists.map((l) => l.length)); i++) for (const list of lists) if (i < list.length) merged.push(list[i] as Json);
  return merged;
}

const eventIdOf = (req: ReceivedRequest): string => String(req.json['id']);

/** Event ids received more than once under the same webhook-id (the receiver's view of a duplicate). */
function repeated(r: Receiver): string[] {
  const seen = new Set<string>();
  const again: string[] = [];
  for (const req of r.requests) {
    const webhookId = String(req.headers['webhook-id']);
    if (seen.has(webhookId)) again.push(eventIdOf(req));
    seen.add(webhookId);
  }
  return again;
}

const idsOf = (list: ReadonlyArray<Json>): string[] => list.map((e) => String(e['id'])).sort();
const receivedIds = (r: Receiver): string[] => [...new Set(r.requests.map(eventIdOf))].sort();

it('1 API, 1 router and 3 workers share the load: nothing lost, nothing twice, rate limit and per-key order kept', async () => {
  hub = await startSplitHub(['api,jobs', 'router', ...Array.from({ length: WORKERS }, () => 'worker')], { env: { HOOKHUB_INGEST_RATE_LIMIT: '100000', HOOKHUB_OPS_PORT: '0' } });
  const api = hub.api;
  const plainA = await receivers.start();
  const plainB = await receivers.start();
  const limited = await receivers.start();
  const ordered = await receivers.start();
  const only = (category: string): Json => ({ events: ['business.created'], filters: [{ field: 'data.category', operator: 'equals', value: category }] });
  const subscribe = async (body: Json): Promise<string> => {
    const created = await api('POST', '/v1/subscriptions', body);
    expect(created.status).toBe(201);
    return String(created.body['id']);
  };
  const plainIds = [await subscribe({ endpointUrl: plainA.url, ...only('plain') }), await subscribe({ endpointUrl: plainB.url, ...only('plain') })];
  const limitedId = await subscribe({ endpointUrl: limited.url, ...only('limited'), rateLimit: { requestsPerSecond: LIMIT } });
  await subscribe({ endpointUrl: ordered.url, ...only('ordered'), ordering: { key: 'data.id' } });

  const plainEvents = events(PLAIN_EVENTS, 'plain');
  const limitedEvents = events(LIMITED_EVENTS, 'limited');
  const keyed = keyedEvents(ORDERED_EVENTS, KEYS, 'split', { category: 'ordered' });
  // Through the API process, each request's events handed to the broker in order: the ordered ones in publish order.
  await publishInOrder(api, interleave(limitedEvents, keyed.events, plainEvents));

  const expected = new Map<Receiver, string[]>([
    [plainA, idsOf(plainEvents)],
    [plainB, idsOf(plainEvents)],
    [limited, idsOf(limitedEvents)],
    [ordered, idsOf(keyed.events)],
  ]);
  const missing = (): number => [...expected].reduce((n, [r, ids]) => n + ids.length - receivedIds(r).length, 0);
  await waitUntil(() => missing() === 0, 90_000, () => `${missing()} deliveries missing`);
  // Workers serve no API, but their health and metrics are scraped on HOOKHUB_OPS_PORT: each is ready and counts
  // the deliveries it made, and together they count every delivery the endpoints received.
  const workers = hub.processes.slice(2);
  const delivered = [...expected.values()].reduce((n, ids) => n + ids.length, 0);
  const succeededPerWorker = async (): Promise<number[]> =>
    Promise.all(
      workers.map(async (worker) => {
        const metrics = await (await fetch(`http://127.0.0.1:${worker.port()}/metrics`)).text();
        return Number(/^hookhub_delivery_attempts_total\{outcome="success"\} (\d+)$/m.exec(metrics)?.[1] ?? 0);
      }),
    );
  let perWorker: number[] = [];
  await waitUntil(async () => (perWorker = await succeededPerWorker()).reduce((a, b) => a + b, 0) >= delivered, 15_000, () => `workers' metrics count ${perWorker.join(' + ')} of ${delivered}`);
  for (const n of perWorker) expect(n).toBeGreaterThan(0);
  for (const worker of workers) {
    expect((await fetch(`http://127.0.0.1:${worker.port()}/readyz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${worker.port()}/v1/subscriptions`)).status).toBe(404);
  }
  // Every process stops gracefully: in-flight work finished, attempts and delivery analytics stored.
  expect(await hub.stop()).toEqual(hub.processes.map(() => 0));

  // No delivery lost, and nothing delivered that was not published for the endpoint.
  for (const [r, ids] of expected) expect(receivedIds(r)).toEqual(ids);
  // Nothing crashed, so a repeat is allowed only for an event whose earlier attempt failed (a timeout, say).
  const attempts = await findDocuments(hub.database, 'delivery_attempts');
  const failed = new Set(attempts.filter((a) => a['status'] !== 'succeeded').map((a) => String(a['eventId'])));
  const repeats = [...expected.keys()].flatMap(repeated);
  expect(repeats.filter((id) => !failed.has(id))).toEqual([]);

  // Per-key order.
  const got = acceptedByKey(ordered.requests);
  for (const [key, ids] of keyed.byKey) expect({ key, ids: got.byKey.get(key) }).toEqual({ key, ids });

  // Each worker process delivered some of the plain subscriptions' events (delivery analytics rows are per process).
  const stats = await findDocuments(hub.database, 'delivery_stats', { resolution: 'm' });
  const succeededBy = (subscriptionIds: readonly string[]): Map<string, number> => {
    const by = new Map<string, number>();
    for (const row of stats.filter((s) => subscriptionIds.includes(String(s['subscriptionId'])))) {
      const writer = String(row['writer']);
      by.set(writer, (by.get(writer) ?? 0) + Number((row['c'] as Json | undefined)?.['succeeded'] ?? 0));
    }
    return by;
  };
  const plainBy = succeededBy(plainIds);
  expect([...plainBy.values()].reduce((a, b) => a + b, 0)).toBe(2 * PLAIN_EVENTS);
  expect(plainBy.size).toBe(WORKERS);
  for (const n of plainBy.values()) expect(n).toBeGreaterThan(0);
  // The rate-limited subscription's deliveries came from more than one process: its slots were shared.
  const limitedBy = succeededBy([limitedId]);
  expect(limitedBy.size).toBeGreaterThanOrEqual(2);

  // The rate limit, on the limiter's own clock: a request goes once it holds a slot of a one-second bucket (LIMIT
  // evenly spaced slots a bucket, claimed in the store by whichever worker comes first), at the slot's time and within
  // its bucket, and is signed with the time it went: no webhook-timestamp second holds more than LIMIT requests.
  const perSecond = new Map<string, number>();
  for (const q of limited.requests) perSecond.set(String(q.headers['webhook-timestamp']), (perSecond.get(String(q.headers['webhook-timestamp'])) ?? 0) + 1);
  expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(LIMIT);
  const slots = (await findDocuments(hub.database, 'rate_slots'))
    .map((doc) => String(doc['_id']))
    .filter((id) => id.startsWith(`${limitedId}:`))
    .map((id) => {
      const [key, bucket, slot] = id.split('|');
      return { key, bucket: Number(bucket), slot: Number(slot) };
    });
  expect(new Set(slots.map((s) => s.key))).toEqual(new Set([`${limitedId}:1000`]));
  for (const s of slots) expect(s.slot).toBeLessThan(LIMIT);
  // No request went before its slot's time: the k-th request to arrive came no earlier than the k-th slot claimed (a
  // claim that came back too late to use is not used, so there can be more slots than requests).
  const slotTimes = slots.map((s) => s.bucket * 1000 + Math.floor((s.slot * 1000) / LIMIT)).sort((a, b) => a - b);
  const arrivals = limited.requests.map((q) => q.at).sort((a, b) => a - b);
  expect(slotTimes.length).toBeGreaterThanOrEqual(arrivals.length);
  const lag = arrivals.map((at, k) => at - (slotTimes[k] as number));
  expect(lag.filter((ms) => ms < 0)).toEqual([]);

  // A calendar second or a sliding one counted at the receiver can hold more than LIMIT: a request sent late in its
  // slot (a busy process, the network) arrives in the next second.
  const receiverSecond = new Map<number, number>();
  for (const at of arrivals) receiverSecond.set(Math.floor(at / 1000), (receiverSecond.get(Math.floor(at / 1000)) ?? 0) + 1);
  const window = Math.max(...arrivals.map((at, i) => arrivals.filter((b, j) => j >= i && b < at + 1000).length));
  console.log(
    `role split: ${2 * PLAIN_EVENTS} plain deliveries by worker ${JSON.stringify([...plainBy.values()])}, rate-limited by worker ${JSON.stringify([...limitedBy.values()])}` +
      `, ${repeats.length} repeated; rate limit ${LIMIT}/s: ${limited.requests.length} requests, ${slots.length} slots claimed, at most ${Math.max(...perSecond.values())} a signed second` +
      `, arrivals ${Math.min(...lag)}..${Math.max(...lag)} ms after the slots, at most ${Math.max(...receiverSecond.values())} in a calendar second and ${window} in a sliding second at the receiver`,
  );
}, 240_000);
