import { setTimeout as sleep } from 'node:timers/promises';
import { isEventType, isOperationalType } from '../events/catalog';
import { sampleData } from '../events/samples';
import { attemptLine } from './attempts';
import type { AttemptView, PageView } from './attempts';
import { ApiError, CliError, EXIT } from './client';
import type { ExitCode, HubClient } from './client';
import type { HubContext, Output } from './output';

const POLL_MS = 500;

export interface SendOptions {
  data?: Record<string, unknown>;
  subscription?: string;
  timeout: number;
  wait: boolean;
}

/** The answer of POST /v1/subscriptions/{id}/test (docs/openapi.json, TestResult). */
interface TestResult {
  success: boolean;
  outcome: string;
  event: { id: string; type: string };
  request: { url: string };
  response: { status: number | null; body: string | null };
  durationMs: number;
  error: string | null;
}

interface SubscriptionView {
  id: string;
  events: string[];
  active: boolean;
}

/** Sends one test event to one subscription, right away, and prints what its endpoint answered. */
export async function sendTest({ client, out }: HubContext, type: string, options: SendOptions & { subscription: string }): Promise<ExitCode> {
  const result = await client.post<TestResult>(`/v1/subscriptions/${encodeURIComponent(options.subscription)}/test`, { type, ...(options.data === undefined ? {} : { data: options.data }) }, { timeoutMs: 60_000 });
  if (out.json) out.data(result);
  else {
    const what = options.data === undefined ? 'sample data' : 'your data';
    const status = result.response.status === null ? 'no answer' : `HTTP ${result.response.status}`;
    const verdict = result.success ? out.paint.green('succeeded') : out.paint.red('failed');
    out.line(`Test event ${result.event.id} (${type}, ${what}) to ${options.subscription} at ${result.request.url}: ${verdict}, ${status} in ${result.durationMs} ms.`);
    if (result.error !== null) out.line(`  ${result.error}`);
    if (result.response.body) out.line(`  response: ${result.response.body.slice(0, 500)}`);
  }
  return result.success ? EXIT.ok : EXIT.failed;
}

/**
 * Publishes an event (with the catalog's sample data when none is given) and prints each delivery
 * attempt as the hub records it, until every matching subscription has one or the time is up.
 */
export async function publish({ client, out }: HubContext, type: string, options: SendOptions): Promise<ExitCode> {
  if (options.data === undefined && !isEventType(type)) throw new CliError(`"${type}" is not a known event type.`, EXIT.usage, 'See GET /v1/event-types for the types and their schemas.');
  const data = options.data ?? sampleData(type);
  const { id } = await client.post<{ id: string }>('/v1/events', { type, data });
  if (!out.json) out.line(`Published ${id} (${type}${options.data === undefined ? ', sample data' : ''}).`);
  if (!options.wait) {
    if (out.json) out.data({ id, type });
    return EXIT.ok;
  }
  const expected = await matchingSubscriptions(client, type, out);
  if (expected?.length === 0) {
    if (out.json) out.data({ id, type, deliveries: [], waitingFor: [] });
    else out.line(`No active subscription of yours takes ${type}: nothing to deliver.`);
    return EXIT.ok;
  }
  const attempts = await watchDeliveries(client, id, expected, options.timeout * 1000, out);
  if (attempts === null) return EXIT.ok;
  const delivered = new Set(attempts.filter((a) => a.status === 'succeeded').map((a) => a.subscriptionId));
  const attempted = new Set(attempts.map((a) => a.subscriptionId));
  const waitingFor = (expected ?? []).filter((s) => !attempted.has(s));
  if (out.json) out.data({ id, type, deliveries: attempts, waitingFor });
  else {
    for (const s of waitingFor) out.line(`${s}: no attempt within ${options.timeout} s (a filter may not match the event, or the delivery is still queued; see hookhub deliveries tail --subscription ${s}).`);
    if (expected === null) out.line(`Waited ${options.timeout} s (this key cannot list subscriptions, so which ones match is unknown).`);
  }
  const allDelivered = expected === null ? attempts.every((a) => a.status === 'succeeded') : expected.every((s) => delivered.has(s));
  return allDelivered ? EXIT.ok : EXIT.failed;
}

/** The ids of the tenant's active subscriptions that take the type; null when the key may not list them. */
async function matchingSubscriptions(client: HubClient, type: string, out: Output): Promise<string[] | null> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    let page: PageView<SubscriptionView>;
    try {
      page = await client.get('/v1/subscriptions', { query: { limit: 250, cursor: cursor ?? undefined } });
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 403)) throw err;
      out.warn('This key cannot list subscriptions (subscriptions:read): waiting for whatever attempts come.');
      return null;
    }
    // `*` takes every directory event; the hub's own events must be named.
    for (const s of page.data) if (s.active && (s.events.includes(type) || (s.events.includes('*') && !isOperationalType(type)))) ids.push(s.id);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return ids;
}

/**
 * Polls GET /v1/events/{id} (404 until the router stored the event), printing each new attempt,
 * until every expected subscription has one or the time is up; the attempts, or null when the key
 * may not read deliveries.
 */
async function watchDeliveries(client: HubClient, id: string, expected: string[] | null, timeoutMs: number, out: Output): Promise<AttemptView[] | null> {
  const deadline = Date.now() + timeoutMs;
  const seen = new Map<string, AttemptView>();
  for (;;) {
    let deliveries: AttemptView[] = [];
    try {
      deliveries = (await client.get<{ deliveries: AttemptView[] }>(`/v1/events/${encodeURIComponent(id)}`)).deliveries;
    } catch (err) {
      if (err instanceof ApiError && err.status === 403) {
        out.warn('This key cannot read deliveries (deliveries:read): the event was published; follow it with a key that can.');
        return null;
      }
      if (!(err instanceof ApiError && err.status === 404)) throw err;
    }
    for (const a of [...deliveries].reverse()) {
      if (seen.has(a.id)) continue;
      seen.set(a.id, a);
      if (!out.json) out.line(attemptLine(a, out.paint));
    }
    const attempted = new Set([...seen.values()].map((a) => a.subscriptionId));
    const done = expected !== null && expected.every((s) => attempted.has(s));
    if (done || Date.now() >= deadline) return [...seen.values()];
    await sleep(POLL_MS);
  }
}
