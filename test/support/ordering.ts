import { randomBytes } from 'node:crypto';
import type { ReceivedRequest, Responder } from './receiver';
import { businessCreated } from './test-hub';
import type { TenantApi } from './test-hub';

/** Per-key ordering tests: events spread over keys, and what an endpoint made of them. */
export interface KeyedEvents {
  /** Every event envelope body, in publish order. */
  events: Array<Record<string, unknown>>;
  /** Each key's event ids in publish order. */
  byKey: Map<string, string[]>;
}

/** `count` business.created events over `keys` keys (data.id), in a shuffled but known order; `data` is added to each. */
export function keyedEvents(count: number, keys: number, tag: string, data: Record<string, unknown> = {}): KeyedEvents {
  const events: Array<Record<string, unknown>> = [];
  const byKey = new Map<string, string[]>();
  for (let i = 0; i < count; i++) {
    const key = `biz_${tag}_${Math.floor(Math.random() * keys)}`;
    const id = `evt_${tag}_${i}_${randomBytes(3).toString('hex')}`;
    events.push({ id, version: '1.0', timestamp: new Date().toISOString(), ...businessCreated({}, { ...data, id: key, name: `event ${i}` }) });
    byKey.set(key, [...(byKey.get(key) ?? []), id]);
  }
  return { events, byKey };
}

/** Publishes events through POST /v1/events/batch, 100 a request, one request after the other: the route hands a request's events to the broker in the order given. */
export async function publishInOrder(api: TenantApi, events: ReadonlyArray<Record<string, unknown>>): Promise<void> {
  for (let i = 0; i < events.length; i += 100) {
    const sent = await api('POST', '/v1/events/batch', { events: events.slice(i, i + 100) });
    expect(sent.status).toBe(200);
    expect(sent.body['accepted']).toBe(Math.min(100, events.length - i));
  }
}

/** An endpoint that fails a share of requests at random, keeping what it accepted (2xx) in the order it accepted them. */
export function flakyEndpoint(failShare: number): { responder: Responder; accepted: ReceivedRequest[] } {
  const accepted: ReceivedRequest[] = [];
  const responder: Responder = (req) => {
    if (Math.random() < failShare) return { status: 503 };
    accepted.push(req);
    return { status: 200 };
  };
  return { responder, accepted };
}

interface Delivered {
  key: string;
  id: string;
  webhookId: string;
}

function delivered(req: ReceivedRequest): Delivered {
  const body = req.json as { id?: string; data?: { id?: string } };
  return { id: String(body.id), key: String(body.data?.id), webhookId: String(req.headers['webhook-id']) };
}

/**
 * Each key's accepted event ids in acceptance order, a repeat of one webhook-id counted once
 * (where it was first accepted), and the ids accepted more than once.
 */
export function acceptedByKey(accepted: readonly ReceivedRequest[]): { byKey: Map<string, string[]>; repeated: string[] } {
  const seen = new Set<string>();
  const byKey = new Map<string, string[]>();
  const repeated: string[] = [];
  for (const req of accepted) {
    const d = delivered(req);
    if (seen.has(d.webhookId)) {
      repeated.push(d.id);
      continue;
    }
    seen.add(d.webhookId);
    byKey.set(d.key, [...(byKey.get(d.key) ?? []), d.id]);
  }
  return { byKey, repeated };
}

/** Ids of all keys' events. */
export function countOf(byKey: ReadonlyMap<string, readonly string[]>): number {
  let n = 0;
  for (const ids of byKey.values()) n += ids.length;
  return n;
}
