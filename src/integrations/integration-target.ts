import { setTimeout as sleep } from 'node:timers/promises';
import type { DeliveryJob } from '../broker/port';
import { errorMessage, UnrecoverableError } from '../core/errors';
import type { HttpResult, HttpSender } from '../transport/http-sender';
import type { Outcome } from '../transport/outcome';
import type { EventEnvelope } from '../events/envelope';
import { NeedsReauthError } from './token-manager';
import type { AttemptStep, DeadLetterReason, RoutingResult, Store, SubscriptionRecord } from '../store/port';
import type { ConnectionService, LoadedConnection } from './connection-service';
import type { OutgoingRequest } from '../connectors/hooks';
import { RateLimiter } from './rate-limiter';
import type { ConnectorRuntime, ExternalRefs, Transport } from '../connectors/runtime';
import type { SyncStats } from './sync-stats';

/** The longest a request waits in process for its connection's rate limit; longer waits go back to the queue. */
const MAX_RATE_WAIT_MS = 2000;

export type IntegrationDelivery =
  | {
      kind: 'done';
      result: HttpResult;
      outcome: Outcome;
      url: string;
      externalId: string | null;
      steps: AttemptStep[];
      skipped?: string;
      routing?: RoutingResult;
      /** Why a permanent failure is dead-lettered: parked deliveries resume when the account is linked again. */
      deadReason?: DeadLetterReason;
    }
  | { kind: 'defer'; delayMs: number };

class RateLimitedError extends Error {
  constructor(readonly delayMs: number) {
    super('rate limited');
  }
}

/** Sends connector requests over the hub's guarded HTTP client. */
export class HttpTransport implements Transport {
  constructor(private readonly sender: HttpSender) {}

  send(_action: string, request: OutgoingRequest): Promise<HttpResult> {
    return this.sender.send(request.url, request.headers, request.body, request.method);
  }
}

export interface IntegrationDelivererOptions {
  connections: ConnectionService;
  runtime: ConnectorRuntime;
  sender: HttpSender;
  store: Store;
  stats: SyncStats;
}

/** Runs one delivery job of an integration: lead qualification, then the connector's triggers against the linked account. */
export class IntegrationDeliverer {
  private readonly limiter = new RateLimiter();
  private readonly transport: Transport;

  constructor(private readonly o: IntegrationDelivererOptions) {
    this.transport = new HttpTransport(o.sender);
  }

  async deliver(job: DeliveryJob, subscription: SubscriptionRecord): Promise<IntegrationDelivery> {
    const target = subscription.integration;
    if (!target) return permanent('the integration has no connection');
    let routing: RoutingResult | undefined;
    let connectionId = target.connectionId;
    if (target.qualification) {
      try {
        routing = await this.qualify(subscription, job.event);
      } catch (err) {
        return permanent(`lead qualification: ${errorMessage(err)}; fix the integration's qualification rules`);
      }
      if (!routing.qualified) return { ...skipped(`not qualified (score ${routing.score ?? 'none'})`), routing };
      connectionId = routing.connectionId;
    }
    const loaded = await this.o.connections.load(connectionId);
    if (!loaded || loaded.record.tenantId !== subscription.tenantId) {
      return { ...permanent('the connection of this integration was deleted; create a new connection and integration'), ...(routing ? { routing } : {}) };
    }
    if (!loaded.connector) return permanent(this.o.connections.missingMessage(loaded.record));
    if (loaded.record.status === 'needs_reauth') return parked(loaded.record.lastError, routing);
    const connector = loaded.connector;
    const limit = connector.manifest.rate_limit;
    const key = `${connector.manifest.name}:${loaded.record.id}`;
    if (limit) {
      // Go back to the queue before anything is sent when the wait would be long.
      const wait = this.limiter.waitFor(key, limit.requests, limit.per_seconds);
      if (wait > MAX_RATE_WAIT_MS) return { kind: 'defer', delayMs: wait };
    }
    try {
      const context = await this.o.connections.contextFor(loaded);
      const headers = limit?.headers;
      const transport: Transport = !headers
        ? this.transport
        : {
            send: async (action, request) => {
              const result = await this.transport.send(action, request);
              const budget = budgetOf(result.headers, headers);
              if (budget) this.limiter.observeBudget(key, budget.remaining, budget.resetMs);
              return result;
            },
          };
      const run = await this.o.runtime.run(connector, job.event, context, {
        webhookId: job.webhookId,
        triggers: target.triggers,
        transport,
        refs: this.refs(loaded),
        ...(routing ? { routing: { score: routing.score, qualified: routing.qualified, route: routing.route } } : {}),
        refreshCredentials: () => this.o.connections.tokens.fresh({ ...loaded, context }, { force: true }),
        beforeSend: async () => {
          if (!limit) return;
          const wait = this.limiter.reserve(key, limit.requests, limit.per_seconds, MAX_RATE_WAIT_MS);
          if (wait === null) throw new RateLimitedError(this.limiter.waitFor(key, limit.requests, limit.per_seconds));
          if (wait > 0) await sleep(wait);
        },
      });
      const steps: AttemptStep[] = run.steps;
      for (const step of steps) {
        if (step.objectType && step.result) this.o.stats.record(subscription.tenantId, loaded.record.id, step.objectType, step.result);
      }
      const lastStep = steps[steps.length - 1];
      const durationMs = steps.reduce((sum, s) => sum + s.durationMs, 0);
      const base: HttpResult = run.last ? { ...run.last, durationMs } : { status: null, headers: {}, body: null, durationMs: 0, error: null, errorCode: null };
      const common = { url: lastStep?.url ?? `connector:${connector.manifest.name}`, externalId: run.externalId, steps, ...(routing ? { routing } : {}) };
      const o = run.outcome;
      switch (o.kind) {
        case 'success':
          return { kind: 'done', result: base, outcome: { kind: 'success' }, ...common };
        case 'skipped':
          return { kind: 'done', result: base, outcome: { kind: 'success' }, ...common, externalId: null, skipped: o.reason };
        case 'retry':
          return { kind: 'done', result: { ...base, error: base.error ?? o.reason }, outcome: { kind: 'retry', retryAfterMs: o.retryAfterMs }, ...common };
        case 'fail':
        case 'refresh':
          return { kind: 'done', result: { ...base, error: o.reason }, outcome: { kind: 'permanent', reason: o.reason }, ...common };
      }
    } catch (err) {
      if (err instanceof RateLimitedError) return { kind: 'defer', delayMs: err.delayMs };
      if (err instanceof NeedsReauthError) return parked(err.message, routing);
      throw err;
    }
  }

  private async qualify(subscription: SubscriptionRecord, event: EventEnvelope): Promise<RoutingResult> {
    const target = subscription.integration;
    const q = target?.qualification;
    if (!target || !q) throw new UnrecoverableError('no_qualification', 'no qualification rules');
    let score: number | null = null;
    if (q.score) {
      const value = await this.o.runtime.userExpression(q.score).evaluate(event);
      score = typeof value === 'number' && Number.isFinite(value) ? value : null;
    }
    const bindings = { score };
    const qualified = q.qualify ? (await this.o.runtime.userExpression(q.qualify).evaluate(event, bindings)) === true : true;
    for (const route of q.routes) {
      if (route.when === null || (await this.o.runtime.userExpression(route.when).evaluate(event, bindings)) === true) {
        return { score, qualified, route: route.label, connectionId: route.connectionId };
      }
    }
    return { score, qualified, route: null, connectionId: target.connectionId };
  }

  private refs(loaded: LoadedConnection): ExternalRefs {
    const id = loaded.record.id;
    return {
      get: (type, key) => this.o.store.getExternalRef(id, type, key),
      put: (type, key, externalId) => this.o.store.putExternalRef(id, type, key, externalId),
    };
  }
}

/** What the API's rate-limit headers say is left, and for how long; null when it did not say. */
function budgetOf(headers: Record<string, string>, spec: { remaining: string; reset: string; reset_format?: 'seconds' | 'millis' | 'epoch_seconds' }): { remaining: number; resetMs: number } | null {
  const remaining = Number(headers[spec.remaining.toLowerCase()]);
  if (headers[spec.remaining.toLowerCase()] === undefined || !Number.isFinite(remaining)) return null;
  const reset = Number(headers[spec.reset.toLowerCase()]);
  if (!Number.isFinite(reset)) return { remaining, resetMs: 1000 };
  const format = spec.reset_format ?? 'seconds';
  const ms = format === 'millis' ? reset : format === 'seconds' ? reset * 1000 : reset * 1000 - Date.now();
  return { remaining, resetMs: Math.min(Math.max(ms, 0), 60_000) };
}

function permanent(reason: string): Extract<IntegrationDelivery, { kind: 'done' }> {
  return {
    kind: 'done',
    result: { status: null, headers: {}, body: null, durationMs: 0, error: reason, errorCode: 'not_sent' },
    outcome: { kind: 'permanent', reason },
    url: '',
    externalId: null,
    steps: [],
  };
}

function skipped(reason: string): Extract<IntegrationDelivery, { kind: 'done' }> {
  return { kind: 'done', result: { status: null, headers: {}, body: null, durationMs: 0, error: null, errorCode: null }, outcome: { kind: 'success' }, url: '', externalId: null, steps: [], skipped: reason };
}

function parked(reason: string | null, routing: RoutingResult | undefined): IntegrationDelivery {
  const message = `parked: the connection needs to be linked again (${reason ?? 'its grant was revoked'}); it resumes when the account is linked again`;
  return { ...permanent(message), deadReason: 'connection_needs_reauth', ...(routing ? { routing } : {}) };
}
