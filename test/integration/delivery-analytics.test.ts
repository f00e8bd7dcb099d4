import { freePort } from '../support/local-server';
import { waitUntil } from '../support/receiver';
import { businessCreated, hubPerFile, waitForAttempts } from '../support/test-hub';
import type { TenantApi } from '../support/test-hub';
import { sampleData } from '../../src/events/samples';

/**
 * Delivery analytics end to end: real receivers with known answers (200s with known delays,
 * 500s, 404s, one that outlasts the delivery timeout, a port nobody listens on), on RabbitMQ
 * and FerretDB. The analytics must give the exact counts per outcome class and per bucket
 * that the delivery log shows, and latency percentiles within one histogram bucket (a factor
 * 2^(1/4)) of the true ones.
 */
type Json = Record<string, unknown>;

const hub = hubPerFile({ env: { HOOKHUB_DELIVERY_TIMEOUT_MS: '1500', HOOKHUB_ATTEMPT_REQUEST_BODY_BYTES: '64' } });
const EVENTS = 6;
// Well within the delivery timeout, even on a busy machine: these must all succeed.
const OK_DELAYS = [0, 10, 40, 80, 160, 5, 25, 60];

let api: TenantApi;
const subs: Record<'ok' | 's500' | 's404' | 'timeout' | 'refused', string> = { ok: '', s500: '', s404: '', timeout: '', refused: '' };
let attempts: Json[] = [];

beforeAll(async () => {
  api = await hub.tenant();
  const ok = await hub.receiver((_req, nth) => ({ status: 200, delayMs: OK_DELAYS[(nth - 1) % OK_DELAYS.length] ?? 0 }));
  const s500 = await hub.receiver(() => ({ status: 500, body: 'down' }));
  const s404 = await hub.receiver(() => ({ status: 404 }));
  const slow = await hub.receiver(() => ({ status: 200, delayMs: 6000 }));
  const nobody = await freePort();
  const once = { retryConfig: { maxRetries: 0 } };
  const create = async (endpointUrl: string, events: string[], extra: Json = once): Promise<string> => {
    const made = await api('POST', '/v1/subscriptions', { endpointUrl, events, ...extra });
    expect(made.status).toBe(201);
    return String(made.body['id']);
  };
  subs.ok = await create(`${ok.url}/ok`, ['business.created', 'review.created'], { headers: { 'X-Receiver-Token': { value: 'tok-SECRET-7', secret: true } } });
  subs.s500 = await create(`${s500.url}/h`, ['business.created']);
  subs.s404 = await create(`${s404.url}/h`, ['business.created']);
  subs.timeout = await create(`${slow.url}/h`, ['business.created']);
  subs.refused = await create(`http://127.0.0.1:${nobody}/h`, ['business.created']);
  for (let i = 0; i < EVENTS; i++) expect((await api('POST', '/v1/events', businessCreated())).status).toBe(202);
  for (let i = 0; i < 2; i++) expect((await api('POST', '/v1/events', { type: 'review.created', data: sampleData('review.created') })).status).toBe(202);
  const each = await Promise.all([
    waitForAttempts(api, subs.ok, EVENTS + 2, 30_000),
    waitForAttempts(api, subs.s500, EVENTS, 30_000),
    waitForAttempts(api, subs.s404, EVENTS, 30_000),
    waitForAttempts(api, subs.timeout, EVENTS, 30_000),
    waitForAttempts(api, subs.refused, EVENTS, 30_000),
  ]);
  attempts = each.flat();
  // The counters are written alongside the attempts: wait until they have every one.
  await waitUntil(async () => (((await api('GET', '/v1/analytics/deliveries?interval=hour')).body['totals'] as Json)['attempts'] as number) >= attempts.length, 20_000);
}, 60_000);

const classOf = (a: Json): string => {
  const status = a['httpStatus'] as number | null;
  if (status !== null) return status >= 500 ? '5xx' : status >= 400 ? '4xx' : status < 300 ? 'ok' : 'other';
  return a['errorCode'] === 'timeout' ? 'timeout' : a['errorCode'] === 'ECONNREFUSED' ? 'refused' : 'network';
};

/** Counts per class, as the analytics answer them, of these attempts. */
function expectedCounts(of: Json[]): Json {
  const n = (c: string): number => of.filter((a) => classOf(a) === c).length;
  return {
    attempts: of.length,
    succeeded: n('ok'),
    failed: { '4xx': n('4xx'), '5xx': n('5xx'), timeout: n('timeout'), network: n('network'), refused: n('refused'), other: n('other'), not_sent: 0 },
    successRate: of.length === 0 ? null : Math.round((n('ok') / of.length) * 10_000) / 10_000,
  };
}

const minuteOf = (a: Json): string => `${String(a['createdAt']).slice(0, 16)}:00.000Z`;

/** The true q-quantile of durations, by the rank the histogram uses. */
function trueQuantile(durations: number[], q: number): number {
  const sorted = [...durations].sort((x, y) => x - y);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1] as number;
}

function expectWithinBucket(estimate: number, truth: number): void {
  // One bucket spans a factor 2^(1/4); a value under 1 ms is in bucket [0, 1), reported as 0.5.
  expect([truth, estimate, Math.abs(Math.log2(estimate / Math.max(truth, 0.5))) <= 0.25]).toEqual([truth, estimate, true]);
}

describe('GET /v1/analytics/deliveries', () => {
  it('gives the exact counts per outcome class in each minute, as the delivery log has them', async () => {
    expect(new Set(attempts.map(classOf))).toEqual(new Set(['ok', '5xx', '4xx', 'timeout', 'refused']));
    const from = attempts.map(minuteOf).sort()[0] as string;
    const to = new Date(Date.now() + 60_000).toISOString();
    const res = await api('GET', `/v1/analytics/deliveries?interval=minute&from=${from}&to=${to}`);
    expect(res.status).toBe(200);
    expect(res.body['totals']).toMatchObject(expectedCounts(attempts));
    const buckets = res.body['data'] as Json[];
    expect(buckets[0]?.['start']).toBe(from);
    for (const bucket of buckets) {
      const inIt = attempts.filter((a) => minuteOf(a) === bucket['start']);
      expect([bucket['start'], bucket]).toEqual([bucket['start'], expect.objectContaining(expectedCounts(inIt))]);
      if (inIt.length === 0) expect(bucket['latencyMs']).toBeNull();
    }
    expect(buckets.reduce((n, b) => n + (b['attempts'] as number), 0)).toBe(attempts.length);
  });

  it('gives latency p50/p95/p99 within one histogram bucket of the true percentiles', async () => {
    const check = async (query: string, of: Json[]): Promise<void> => {
      const res = await api('GET', `/v1/analytics/deliveries?interval=day${query}`);
      const latency = (res.body['totals'] as Json)['latencyMs'] as Record<'p50' | 'p95' | 'p99', number>;
      const durations = of.map((a) => a['durationMs'] as number);
      for (const [name, q] of [['p50', 0.5], ['p95', 0.95], ['p99', 0.99]] as const) expectWithinBucket(latency[name], trueQuantile(durations, q));
    };
    await check('', attempts);
    await check(`&subscriptionId=${subs.ok}`, attempts.filter((a) => a['subscriptionId'] === subs.ok));
    await check(`&subscriptionId=${subs.timeout}`, attempts.filter((a) => a['subscriptionId'] === subs.timeout));
  });

  it('sums minutes into hours and days', async () => {
    const from = new Date(Date.now() - 3 * 86_400_000).toISOString();
    const [minutes, hours, days] = await Promise.all(
      ['minute&from=' + new Date(Date.now() - 86_400_000).toISOString(), `hour&from=${from}`, `day&from=${from}`].map((q) => api('GET', `/v1/analytics/deliveries?interval=${q}`)),
    );
    const { latencyMs: _m, ...minuteTotals } = minutes!.body['totals'] as Json;
    for (const res of [hours!, days!]) {
      expect(res.status).toBe(200);
      expect(res.body['totals']).toMatchObject({ ...minuteTotals, ...expectedCounts(attempts) });
      // Each non-empty bucket is the sum of the minutes in it.
      const size = res.body['interval'] === 'hour' ? 3_600_000 : 86_400_000;
      for (const bucket of res.body['data'] as Json[]) {
        const start = Date.parse(String(bucket['start']));
        const inIt = attempts.filter((a) => Date.parse(String(a['createdAt'])) >= start && Date.parse(String(a['createdAt'])) < start + size);
        expect([bucket['start'], bucket]).toEqual([bucket['start'], expect.objectContaining(expectedCounts(inIt))]);
      }
    }
    expect((days!.body['data'] as Json[]).length).toBe(4);
    expect((hours!.body['data'] as Json[]).length).toBe(73);
  });

  it('narrows to one subscription and to one event type', async () => {
    const [one, reviews, both] = await Promise.all([
      api('GET', `/v1/analytics/deliveries?subscriptionId=${subs.s404}`),
      api('GET', '/v1/analytics/deliveries?type=review.created'),
      api('GET', `/v1/analytics/deliveries?type=business.created&subscriptionId=${subs.ok}`),
    ]);
    expect(one.body['totals']).toMatchObject(expectedCounts(attempts.filter((a) => a['subscriptionId'] === subs.s404)));
    expect(reviews.body['totals']).toMatchObject({ attempts: 2, succeeded: 2, successRate: 1 });
    expect(both.body['totals']).toMatchObject({ attempts: EVENTS, succeeded: EVENTS });
    const none = await api('GET', '/v1/analytics/deliveries?subscriptionId=sub_unknown');
    expect(none.body['totals']).toMatchObject({ attempts: 0, successRate: null, latencyMs: null });
  });

  it('refuses an unknown interval, a window that ends before it starts, and too many buckets, saying what to do', async () => {
    const [interval, inherited, backwards, tooMany] = await Promise.all([
      api('GET', '/v1/analytics/deliveries?interval=week'),
      api('GET', '/v1/analytics/deliveries?interval=toString'),
      api('GET', '/v1/analytics/deliveries?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z'),
      api('GET', '/v1/analytics/deliveries?interval=minute&from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z'),
    ]);
    expect([interval.status, (interval.body['error'] as Json)['code']]).toEqual([400, 'validation_failed']);
    expect((interval.body['error'] as Json)['message']).toContain('"minute", "hour" or "day"');
    expect(inherited.status).toBe(400);
    expect(backwards.status).toBe(400);
    expect((tooMany.body['error'] as Json)['message']).toMatch(/44640 minutes; at most 1500 buckets .* Narrow from\/to or use a longer interval/);
  });
});

describe('GET /v1/analytics/sla', () => {
  it('reports per subscription the success rate after retries, time to first attempt and to success, against the targets', async () => {
    const res = await api('GET', '/v1/analytics/sla');
    expect(res.status).toBe(200);
    expect(res.body['targets']).toEqual({ successRate: 0.98, averageTimeToDeliveryMs: 5000 });
    const rows = new Map((res.body['data'] as Json[]).map((r) => [r['subscriptionId'], r]));
    const ok = rows.get(subs.ok) as Json;
    expect(ok).toMatchObject({ settled: EVENTS + 2, succeeded: EVENTS + 2, successRate: 1, meetsTargets: { successRate: true, averageTimeToDelivery: true } });
    const toSuccess = ok['timeToSuccessMs'] as Record<string, number>;
    // Accepted → success is at least the endpoint's answer time, and well within the test's time.
    const okAttempts = attempts.filter((a) => a['subscriptionId'] === subs.ok);
    const exact = okAttempts.map((a) => Date.parse(String(a['createdAt'])) - Date.parse(String(a['acceptedAt'])));
    expect(toSuccess['average']).toBe(Math.round(exact.reduce((s, x) => s + x, 0) / exact.length));
    expectWithinBucket(toSuccess['p50'] as number, trueQuantile(exact, 0.5));
    const first = ok['timeToFirstAttemptMs'] as Record<string, number>;
    const firstExact = okAttempts.map((a) => Date.parse(String(a['createdAt'])) - (a['durationMs'] as number) - Date.parse(String(a['acceptedAt'])));
    expectWithinBucket(first['p99'] as number, Math.max(0, trueQuantile(firstExact, 0.99)));
    for (const id of [subs.s500, subs.s404, subs.timeout, subs.refused]) {
      expect(rows.get(id)).toMatchObject({ settled: EVENTS, succeeded: 0, successRate: 0, timeToSuccessMs: null, meetsTargets: { successRate: false, averageTimeToDelivery: null } });
      expect((rows.get(id)?.['timeToFirstAttemptMs'] as Json)['p50']).toEqual(expect.any(Number));
    }
    expect(res.body['tenant']).toMatchObject({ settled: 5 * EVENTS + 2, succeeded: EVENTS + 2, successRate: Math.round(((EVENTS + 2) / (5 * EVENTS + 2)) * 10_000) / 10_000 });
    // A window longer than a day is read from hour rows: the same deliveries.
    const week = await api('GET', `/v1/analytics/sla?from=${new Date(Date.now() - 7 * 86_400_000).toISOString()}`);
    expect(week.body['tenant']).toEqual(res.body['tenant']);
  });
});

describe('the request as sent, on each attempt', () => {
  it('keeps method, URL, headers with secret values masked, and the body cut to HOOKHUB_ATTEMPT_REQUEST_BODY_BYTES', async () => {
    const one = attempts.find((a) => a['subscriptionId'] === subs.ok) as Json;
    const full = await api('GET', `/v1/deliveries/${String(one['id'])}`);
    const request = full.body['request'] as Json;
    expect(request).toMatchObject({ method: 'POST', url: one['url'], bodyTruncated: true });
    const headers = request['headers'] as Record<string, string>;
    expect(headers).toMatchObject({ 'X-Receiver-Token': '********', 'content-type': 'application/json', 'webhook-id': one['webhookId'] });
    expect(headers['webhook-signature']).toMatch(/^v1,/);
    expect(Buffer.byteLength(String(request['body']))).toBeLessThanOrEqual(64);
    expect(String(request['body'])).toMatch(/^\{"id":"evt_/);
    expect(JSON.stringify(full.body)).not.toContain('tok-SECRET-7');
    // When the hub accepted the event: what the SLA's times count from.
    expect(Date.parse(String(full.body['acceptedAt']))).toBeLessThanOrEqual(Date.parse(String(full.body['createdAt'])));
  });

  it('keeps it for test sends too, which the analytics do not count', async () => {
    const sent = await api('POST', `/v1/subscriptions/${subs.ok}/test`, { type: 'business.created' });
    expect(sent.body['success']).toBe(true);
    const listed = (await api('GET', `/v1/deliveries?subscriptionId=${subs.ok}&limit=1`)).body['data'] as Json[];
    expect(listed[0]).toMatchObject({ test: true, request: { method: 'POST', headers: { 'X-Receiver-Token': '********' }, bodyTruncated: true } });
    const totals = (await api('GET', '/v1/analytics/deliveries')).body['totals'] as Json;
    expect(totals['attempts']).toBe(attempts.length);
  });
});

describe('GET /metrics', () => {
  it('has the analytics families, labelled by event type and outcome class only', async () => {
    const text = await (await fetch(`${hub.th.hub.url}/metrics`)).text();
    const count = (family: string, labels: string): number => Number(new RegExp(`^${family}\\{${labels}\\} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
    expect(count('hookhub_delivery_attempts_by_class_total', 'type="business.created",class="5xx"')).toBe(EVENTS);
    expect(count('hookhub_delivery_attempts_by_class_total', 'type="business.created",class="refused"')).toBe(EVENTS);
    expect(count('hookhub_delivery_attempts_by_class_total', 'type="business.created",class="timeout"')).toBe(EVENTS);
    expect(count('hookhub_delivery_attempts_by_class_total', 'type="review.created",class="success"')).toBe(2);
    expect(count('hookhub_deliveries_settled_total', 'type="business.created",result="failed"')).toBe(4 * EVENTS);
    expect(count('hookhub_delivery_time_to_success_seconds_count', 'type="business.created"')).toBe(EVENTS);
    expect(count('hookhub_delivery_first_attempt_delay_seconds_count', 'type="business.created"')).toBe(5 * EVENTS);
    expect(count('hookhub_delivery_latency_seconds_count', 'type="business.created"')).toBe(5 * EVENTS);
    // Bounded labels: no subscription, tenant or endpoint in any of these families.
    const families = /^hookhub_(delivery_attempts_by_class|deliveries_settled|delivery_latency|delivery_first_attempt_delay|delivery_time_to_success)\w*\{([^}]*)\}/gm;
    const labelNames = new Set<string>();
    for (const m of text.matchAll(families)) for (const pair of (m[2] ?? '').split(',')) labelNames.add(pair.split('=')[0] as string);
    expect([...labelNames].sort()).toEqual(['class', 'le', 'result', 'type']);
    for (const id of Object.values(subs)) expect(text).not.toContain(id);
  });
});
