import type { DeliveryJob } from '../broker/port';
import { systemClock } from '../core/clock';
import type { Clock } from '../core/clock';
import { errorMessage, UnrecoverableError } from '../core/errors';
import { notSentResult } from '../transport/http-sender';
import type { HttpResult, HttpSender } from '../transport/http-sender';
import type { Outcome } from '../transport/outcome';
import type { EventEnvelope } from '../events/envelope';
import { NeedsReauthError, TokenUnavailableError } from './token-manager';
import type { AttemptStep } from '../connectors/attempt-step';
import type { DeadLetterReason, IntegrationSubscription, RoutingResult } from '../subscriptions/model';
import type { ExternalRefStore, SharedRateSlots } from './ports';
import type { LoadedIntegration } from '../subscriptions/subscription-cache';
import type { ConnectionService, LoadedConnection } from './connection-service';
import type { OutgoingRequest } from '../connectors/hooks';
import type { LoadedConnector } from '../connectors/loader';
import { ConnectionPacer, MAX_RATE_WAIT_MS } from './paced-transport';
import { localRateSlots } from './shared-rate-limiter';
import type { ConnectorRuntime, ExternalRefs, Transport } from '../connectors/runtime';
import type { SyncStats } from './sync-stats';
import { batchesRequests, ConnectionBatches } from './connection-batches';
import type { BatchTimers } from '../core/batch-queue';
import type { ConnectorRegistry } from '../connectors/registry';
import type { RecordTracker } from './record-tracker';


/** Credentials good for the next request of a linked account (the token manager); `force` after the API refused them. */
export interface AccessTokens {
  fresh(connection: LoadedConnection, options: { force?: boolean }): Promise<Record<string, unknown>>;
}

/** What an integration's attempt adds to its record. */
export interface IntegrationExtras {
  url: string;
  externalId: string | null;
  steps: AttemptStep[];
  skipped: string | null;
  routing: RoutingResult | null;
}

/** What send resolves to: the pipeline's TargetResult by shape (this floor does not import the pipeline). */
export type IntegrationResult =
  | {
      kind: 'attempted';
      result: HttpResult;
      outcome: Outcome;
      extras: IntegrationExtras;
      /** Why a permanent failure is dead-lettered: parked deliveries resume when the account is linked again. */
      deadReason?: DeadLetterReason;
      /** For a retry: the connection's rate limit lets nothing go for this long, so the retry is no earlier. */
      notBeforeMs?: number;
    }
  | { kind: 'deferred'; delayMs: number };

type Attempted = Extract<IntegrationResult, { kind: 'attempted' }>;

/** Sends connector requests over the hub's guarded HTTP client. */
export class HttpTransport implements Transport {
  constructor(private readonly sender: HttpSender) {}

  send(_action: string, request: OutgoingRequest): Promise<HttpResult> {
    return this.sender.send(request.url, request.headers, request.body, request.method);
  }
}

export interface IntegrationTargetOptions {
  connections: Pick<ConnectionService, 'load' | 'contextFor' | 'missingMessage' | 'markBroken'>;
  tokens: AccessTokens;
  runtime: ConnectorRuntime;
  sender: HttpSender;
  store: ExternalRefStore;
  stats: SyncStats;
  /** Follows the records deliveries create, for connectors that read them back (the pipeline funnel). */
  tracker?: RecordTracker;
  /** Where connector-wide limits (rate_limit.shared) take their slots: the store, shared by every process. */
  rateSlots?: SharedRateSlots;
  /** The connections' limits in this process, shared with the connection service's own requests; default: the target's own. */
  pacer?: ConnectionPacer;
  /** The installed connectors: deliveries of a connector with batched actions hold no endpoint slot each. */
  registry?: Pick<ConnectorRegistry, 'latest'>;
  clock?: Clock;
  /** The batches' timers (max_wait_ms); tests drive them with a ManualClock. */
  timers?: BatchTimers;
}

/** Delivers a job to an integration: lead qualification, then the connector's triggers against the linked account. */
export class IntegrationTarget {
  private readonly pacer: ConnectionPacer;
  private readonly transport: Transport;
  private readonly clock: Clock;
  private readonly batches: ConnectionBatches;

  constructor(private readonly options: IntegrationTargetOptions) {
    this.transport = new HttpTransport(options.sender);
    this.clock = options.clock ?? systemClock;
    this.pacer = options.pacer ?? new ConnectionPacer(options.rateSlots ?? localRateSlots(), this.clock);
    this.batches = new ConnectionBatches(options.runtime, this.transport, this.pacer, this.clock, options.timers);
  }

  /**
   * An integration's deliveries share the concurrency of its connection (the linked account's API);
   * a connector that batches holds none per job (a slot each would cap its batches), its batches
   * bound its requests.
   */
  slotKey(subscription: LoadedIntegration): string | null {
    const connector = this.options.registry?.latest(subscription.record.integration.connector);
    if (connector && batchesRequests(connector)) return null;
    return `connection:${subscription.record.integration.connectionId}`;
  }

  async send(job: DeliveryJob, loaded: LoadedIntegration): Promise<IntegrationResult> {
    const subscription = loaded.record;
    const target = subscription.integration;
    let routing: RoutingResult | null = null;
    let connectionId = target.connectionId;
    if (target.qualification) {
      try {
        routing = await this.qualify(subscription, job.event);
      } catch (err) {
        return notSent(`lead qualification: ${errorMessage(err)}; fix the integration's qualification rules`);
      }
      if (!routing.qualified) return skipped(`not qualified (score ${routing.score ?? 'none'})`, routing);
      connectionId = routing.connectionId;
    }
    const connection = await this.options.connections.load(connectionId);
    if (!connection || connection.record.tenantId !== subscription.tenantId) {
      return notSent('the connection of this integration was deleted; create a new connection and integration', routing);
    }
    if (!connection.connector) return notSent(this.options.connections.missingMessage(connection.record));
    if (connection.record.status === 'needs_reauth') return parked(connection.record.lastError, routing);
    if (connection.record.status === 'broken') return parkedBroken(connection.record.lastError, routing);
    try {
      return await this.run(job, subscription, connection, connection.connector, routing);
    } catch (err) {
      if (err instanceof NeedsReauthError) return parked(err.message, routing);
      // A token that cannot be refreshed now fails this attempt, retried on the subscription's schedule (not the consumer's).
      if (err instanceof TokenUnavailableError) return tokenUnavailable(err, routing, this.clock.now());
      throw err;
    }
  }

  /** The connector's triggers for this event, paced by the connection's rate limit. */
  private async run(job: DeliveryJob, subscription: IntegrationSubscription, connection: LoadedConnection, connector: LoadedConnector, routing: RoutingResult | null): Promise<IntegrationResult> {
    const limit = connector.manifest.rate_limit;
    const key = ConnectionPacer.key(connector, connection.record.id);
    // Go back to the queue before anything is sent when the wait would be long.
    const wait = limit ? this.pacer.local.waitFor(key, limit.requests, limit.per_seconds, this.clock.now()) : 0;
    if (wait > MAX_RATE_WAIT_MS) return { kind: 'deferred', delayMs: wait };
    const context = await this.options.connections.contextFor(connection);
    const paced = this.pacer.paced(this.transport, connector, connection.record.id);
    const refreshCredentials = (): Promise<Record<string, unknown>> => this.options.tokens.fresh({ ...connection, context }, { force: true });
    const batches = this.batches.forJob({ connector, context, webhookId: job.webhookId, refreshCredentials });
    const run = await this.options.runtime.run(connector, job.event, context, {
      webhookId: job.webhookId,
      triggers: subscription.integration.triggers,
      transport: paced ?? this.transport,
      refs: this.refs(connection),
      ...(routing ? { routing: { score: routing.score, qualified: routing.qualified, route: routing.route } } : {}),
      refreshCredentials,
      batches,
    });
    // The run stopped at a request the rate limit had no room for, or its batch was not sent: the whole job comes back later.
    if (paced && paced.deferMs !== null) return { kind: 'deferred', delayMs: paced.deferMs };
    if (batches.deferMs !== null) return { kind: 'deferred', delayMs: batches.deferMs };
    const steps: AttemptStep[] = run.steps;
    for (const step of steps) {
      if (step.objectType && step.result) this.options.stats.record(subscription.tenantId, connection.record.id, step.objectType, step.result);
    }
    await this.options.tracker?.note({ tenantId: subscription.tenantId, connectionId: connection.record.id, connector, event: job.event, steps, route: routing?.route ?? null });
    const lastStep = steps[steps.length - 1];
    const durationMs = steps.reduce((sum, s) => sum + s.durationMs, 0);
    // A run that sent nothing (every action's id was known already) taught the connection's health nothing.
    const base: HttpResult = run.last ? { ...run.last, durationMs } : notSentResult(null);
    const extras: IntegrationExtras = { url: lastStep?.url ?? `connector:${connector.manifest.name}`, externalId: run.externalId, steps, skipped: null, routing };
    const outcome = run.outcome;
    switch (outcome.kind) {
      case 'success':
        return { kind: 'attempted', result: base, outcome: { kind: 'success' }, extras };
      case 'skipped':
        return { kind: 'attempted', result: base, outcome: { kind: 'success' }, extras: { ...extras, externalId: null, skipped: outcome.reason } };
      case 'retry': {
        // The API may have said its budget is spent for longer than the backoff (rate_limit.headers): the retry waits for both.
        const notBeforeMs = limit ? this.pacer.local.waitFor(key, limit.requests, limit.per_seconds, this.clock.now()) : 0;
        const retry: Attempted = { kind: 'attempted', result: { ...base, error: base.error ?? outcome.reason }, outcome: { kind: 'retry', retryAfterMs: outcome.retryAfterMs }, extras };
        return notBeforeMs > 0 ? { ...retry, notBeforeMs } : retry;
      }
      case 'fail':
      case 'refresh':
        return { kind: 'attempted', result: { ...base, error: outcome.reason }, outcome: { kind: 'permanent', reason: outcome.reason }, extras };
      case 'broken': {
        // The API said the link is dead: every later delivery through it parks without a request, until it is fixed.
        await this.options.connections.markBroken(connection.record, outcome.reason);
        const reason = brokenMessage(outcome.reason);
        return { kind: 'attempted', result: { ...base, error: reason }, outcome: { kind: 'permanent', reason }, extras, deadReason: 'connection_broken' };
      }
    }
  }

  private async qualify(subscription: IntegrationSubscription, event: EventEnvelope): Promise<RoutingResult> {
    const target = subscription.integration;
    const q = target.qualification;
    if (!q) throw new UnrecoverableError('no_qualification', 'no qualification rules');
    let score: number | null = null;
    if (q.score) {
      const value = await this.options.runtime.userExpression(q.score).evaluate(event);
      score = typeof value === 'number' && Number.isFinite(value) ? value : null;
    }
    const bindings = { score };
    const qualified = q.qualify ? (await this.options.runtime.userExpression(q.qualify).evaluate(event, bindings)) === true : true;
    for (const route of q.routes) {
      if (route.when === null || (await this.options.runtime.userExpression(route.when).evaluate(event, bindings)) === true) {
        return { score, qualified, route: route.label, connectionId: route.connectionId };
      }
    }
    return { score, qualified, route: null, connectionId: target.connectionId };
  }

  private refs(loaded: LoadedConnection): ExternalRefs {
    const id = loaded.record.id;
    return {
      get: (type, key) => this.options.store.getExternalRef(id, type, key),
      put: (type, key, externalId) => this.options.store.putExternalRef(id, type, key, externalId),
    };
  }
}

function noExtras(routing: RoutingResult | null): IntegrationExtras {
  return { url: '', externalId: null, steps: [], skipped: null, routing };
}

/** Failed for good before anything was sent. */
function notSent(reason: string, routing: RoutingResult | null = null): Attempted {
  return { kind: 'attempted', result: notSentResult(reason), outcome: { kind: 'permanent', reason }, extras: noExtras(routing) };
}

/** Nothing to send for this event, which is a success. */
function skipped(reason: string, routing: RoutingResult): Attempted {
  return { kind: 'attempted', result: notSentResult(null), outcome: { kind: 'success' }, extras: { ...noExtras(routing), skipped: reason } };
}

function brokenMessage(reason: string | null): string {
  return `parked: the connection is broken (${reason ?? 'its API said the link is dead'}); fix its settings or credentials with PATCH /v1/connections/:id and its parked deliveries are replayed`;
}

function parkedBroken(reason: string | null, routing: RoutingResult | null): Attempted {
  return { ...notSent(brokenMessage(reason), routing), deadReason: 'connection_broken' };
}

function tokenUnavailable(err: TokenUnavailableError, routing: RoutingResult | null, now: number): Attempted {
  const retry: Attempted = { kind: 'attempted', result: notSentResult(err.message), outcome: { kind: 'retry', retryAfterMs: null }, extras: noExtras(routing) };
  return err.retryAt > now ? { ...retry, notBeforeMs: err.retryAt - now } : retry;
}

function parked(reason: string | null, routing: RoutingResult | null): Attempted {
  const message = `parked: the connection needs to be linked again (${reason ?? 'its grant was revoked'}); it resumes when the account is linked again`;
  return { ...notSent(message, routing), deadReason: 'connection_needs_reauth' };
}
