import { setTimeout as sleep } from 'node:timers/promises';
import type { DeliveryJob } from '../broker/port';
import type { HttpResult, HttpSender } from '../delivery/http-sender';
import type { Outcome } from '../delivery/outcome';
import type { AttemptStep, SubscriptionRecord } from '../store/port';
import type { ConnectionService } from './connection-service';
import type { OutgoingRequest } from './hooks';
import { RateLimiter } from './rate-limiter';
import type { ConnectorRuntime, Transport } from './runtime';

/** The longest a request waits in process for its connection's rate limit; longer waits go back to the queue. */
const MAX_RATE_WAIT_MS = 2000;

export type IntegrationDelivery =
  | { kind: 'done'; result: HttpResult; outcome: Outcome; url: string; externalId: string | null; steps: AttemptStep[]; skipped?: string }
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

/** Runs one delivery job of an integration: the connector's triggers against the linked account. */
export class IntegrationDeliverer {
  private readonly limiter = new RateLimiter();
  private readonly transport: Transport;

  constructor(
    private readonly connections: ConnectionService,
    private readonly runtime: ConnectorRuntime,
    sender: HttpSender,
  ) {
    this.transport = new HttpTransport(sender);
  }

  async deliver(job: DeliveryJob, subscription: SubscriptionRecord): Promise<IntegrationDelivery> {
    const target = subscription.integration;
    const loaded = target ? await this.connections.load(target.connectionId) : null;
    if (!target || !loaded || loaded.record.tenantId !== subscription.tenantId) {
      return permanent('the connection of this integration was deleted; create a new connection and integration');
    }
    if (!loaded.connector) return permanent(this.connections.missingMessage(loaded.record));
    if (loaded.record.status === 'needs_reauth') {
      return permanent(`the connection needs to be linked again (${loaded.record.lastError ?? 'its credentials were refused'}); relink it, then replay the dead letter`);
    }
    const connector = loaded.connector;
    const limit = connector.manifest.rate_limit;
    const key = `${connector.manifest.name}:${loaded.record.id}`;
    if (limit) {
      // Go back to the queue before anything is sent when the wait would be long.
      const wait = this.limiter.waitFor(key, limit.requests, limit.per_seconds);
      if (wait > MAX_RATE_WAIT_MS) return { kind: 'defer', delayMs: wait };
    }
    try {
      const run = await this.runtime.run(connector, job.event, loaded.context, {
        webhookId: job.webhookId,
        triggers: target.triggers,
        transport: this.transport,
        beforeSend: async () => {
          if (!limit) return;
          const wait = this.limiter.reserve(key, limit.requests, limit.per_seconds, MAX_RATE_WAIT_MS);
          if (wait === null) throw new RateLimitedError(this.limiter.waitFor(key, limit.requests, limit.per_seconds));
          if (wait > 0) await sleep(wait);
        },
      });
      const steps: AttemptStep[] = run.steps;
      const lastStep = steps[steps.length - 1];
      const durationMs = steps.reduce((sum, s) => sum + s.durationMs, 0);
      const base: HttpResult = run.last
        ? { ...run.last, durationMs }
        : { status: null, headers: {}, body: null, durationMs: 0, error: null, errorCode: null };
      const url = lastStep?.url ?? `connector:${connector.manifest.name}`;
      const o = run.outcome;
      switch (o.kind) {
        case 'success':
          return { kind: 'done', result: base, outcome: { kind: 'success' }, url, externalId: run.externalId, steps };
        case 'skipped':
          return { kind: 'done', result: base, outcome: { kind: 'success' }, url, externalId: null, steps, skipped: o.reason };
        case 'retry':
          return { kind: 'done', result: { ...base, error: base.error ?? o.reason }, outcome: { kind: 'retry', retryAfterMs: o.retryAfterMs }, url, externalId: run.externalId, steps };
        case 'fail':
        case 'refresh':
          return { kind: 'done', result: { ...base, error: o.reason }, outcome: { kind: 'permanent', reason: o.reason }, url, externalId: run.externalId, steps };
      }
    } catch (err) {
      if (err instanceof RateLimitedError) return { kind: 'defer', delayMs: err.delayMs };
      throw err;
    }
  }
}

function permanent(reason: string): IntegrationDelivery {
  return {
    kind: 'done',
    result: { status: null, headers: {}, body: null, durationMs: 0, error: reason, errorCode: 'not_sent' },
    outcome: { kind: 'permanent', reason },
    url: '',
    externalId: null,
    steps: [],
  };
}
