import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../core/clock';
import { notSentResult } from '../transport/http-sender';
import type { HttpResult } from '../transport/http-sender';
import type { OutgoingRequest } from '../connectors/hooks';
import type { LoadedConnector } from '../connectors/loader';
import { parseBody } from '../connectors/response-rules';
import type { Transport } from '../connectors/runtime';
import { ConcurrencyGate } from './concurrency-gate';
import type { SharedRateSlots } from './ports';
import { budgetFromHeaders, RateLimiter } from './rate-limiter';
import { SharedRateLimiter } from './shared-rate-limiter';

/** The longest a request waits in process for its connection's rate limit or a free concurrency slot; longer waits go back to the queue. */
export const MAX_RATE_WAIT_MS = 2000;
/** When a connection had no free concurrency slot: about when one of its requests in flight has answered. */
const BUSY_DEFER_MS = 1000;

/** What paces one connection: its manifest's rate_limit and concurrency (either may be absent). */
export interface Pacing {
  rate: NonNullable<LoadedConnector['manifest']['rate_limit']> | null;
  concurrency: number | null;
  /** rate_limit.pause: how long an answer pauses the connection. */
  pause: LoadedConnector['ratePause'];
}

/**
 * The connection's transport for one run, paced by its rate limit and its concurrency. A request
 * the limit has no slot for within MAX_RATE_WAIT_MS, or that finds no free concurrency slot in
 * that time, is not sent: it answers "not sent", which ends the run there (the runtime stops at a
 * request without an answer), and `deferMs` says when to try the job again.
 */
export class PacedTransport implements Transport {
  deferMs: number | null = null;

  constructor(
    private readonly inner: Transport,
    private readonly limiters: { local: RateLimiter; shared: SharedRateLimiter; gate: ConcurrencyGate },
    /** The connection's key in the local limiter and the gate, and the connector's name for its shared limit. */
    private readonly keys: { key: string; connector: string },
    private readonly pacing: Pacing,
    private readonly clock: Clock,
    /** The longest a request waits for a slot before it is not sent. */
    private readonly maxWaitMs = MAX_RATE_WAIT_MS,
  ) {}

  async send(action: string, request: OutgoingRequest): Promise<HttpResult> {
    const { concurrency } = this.pacing;
    if (concurrency === null) return this.paced(action, request);
    const release = await this.limiters.gate.acquire(this.keys.key, concurrency, this.maxWaitMs);
    if (!release) {
      this.deferMs = BUSY_DEFER_MS;
      return notSentResult(`the connection has ${concurrency} requests in flight, as many as its connector allows at once`);
    }
    try {
      return await this.paced(action, request);
    } finally {
      release();
    }
  }

  private async paced(action: string, request: OutgoingRequest): Promise<HttpResult> {
    const limit = this.pacing.rate;
    if (!limit) return this.inner.send(action, request);
    const { requests, per_seconds: perSeconds, headers, shared } = limit;
    const { local, shared: sharedLimiter } = this.limiters;
    const key = this.keys.key;
    const wait = local.reserve(key, requests, perSeconds, this.maxWaitMs, this.clock.now());
    if (wait === null) {
      this.deferMs = local.waitFor(key, requests, perSeconds, this.clock.now());
      return notSentResult('rate limited');
    }
    // The connector-wide limit after the connection's: a slot claimed there is one every process gives up.
    const sharedWait = shared ? await sharedLimiter.acquire(this.keys.connector, shared.requests, shared.per_seconds, this.maxWaitMs) : 0;
    if (sharedWait === null) {
      this.deferMs = SharedRateLimiter.retryAfterMs(shared?.requests ?? 1, shared?.per_seconds ?? 1, this.maxWaitMs);
      return notSentResult('rate limited (the limit all links of the connector share)');
    }
    if (Math.max(wait, sharedWait) > 0) await sleep(Math.max(wait, sharedWait));
    const result = await this.inner.send(action, request);
    const budget = headers ? budgetFromHeaders(result.headers, headers, this.clock.now()) : null;
    if (budget) local.observeBudget(key, budget.remaining, budget.resetMs, this.clock.now());
    const pauseMs = this.pacing.pause ? await pauseFrom(this.pacing.pause, result) : null;
    if (pauseMs) local.blockUntil(key, this.clock.now() + pauseMs);
    return result;
  }
}

/** The longest pause an answer can put on a connection: a wrong value must not stop it for longer. */
const LONGEST_PAUSE_MS = 3_600_000;

/**
 * How long an answer pauses its connection (rate_limit.pause): the expression's non-negative number of
 * seconds or milliseconds, at most LONGEST_PAUSE_MS; null for nothing, 0, or what it cannot read.
 */
export async function pauseFrom(pause: NonNullable<Pacing['pause']>, result: HttpResult): Promise<number | null> {
  let value: unknown;
  try {
    value = await pause.expression.evaluate(parseBody(result), { status: result.status, headers: result.headers });
  } catch {
    return null;
  }
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) return null;
  return Math.min(Math.ceil(pause.unit === 'milliseconds' ? n : n * 1000), LONGEST_PAUSE_MS);
}

/**
 * The limits of the linked accounts in this process, whatever sends the request: a delivery, a
 * health check, a requirements check or a who-am-I read of a connection all take their slots from
 * its rate limit and concurrency, and from its connector's shared limit (every process's).
 */
export class ConnectionPacer {
  readonly local = new RateLimiter();
  /** Requests in flight per connection, for connectors that declare `concurrency`. */
  readonly gate = new ConcurrencyGate();
  readonly shared: SharedRateLimiter;

  constructor(
    rateSlots: SharedRateSlots,
    readonly clock: Clock,
  ) {
    this.shared = new SharedRateLimiter(rateSlots, clock);
  }

  /** The connection's key in the local limiter and the gate. */
  static key(connector: LoadedConnector, connectionId: string): string {
    return `${connector.manifest.name}:${connectionId}`;
  }

  /** `inner` paced for one connection of `connector`; null when the connector declares neither a rate limit nor a concurrency. */
  paced(inner: Transport, connector: LoadedConnector, connectionId: string, maxWaitMs = MAX_RATE_WAIT_MS): PacedTransport | null {
    const rate = connector.manifest.rate_limit ?? null;
    const concurrency = connector.manifest.concurrency ?? null;
    if (!rate && concurrency === null) return null;
    const pacing = { rate, concurrency, pause: rate ? connector.ratePause : null };
    return new PacedTransport(inner, this, { key: ConnectionPacer.key(connector, connectionId), connector: connector.manifest.name }, pacing, this.clock, maxWaitMs);
  }
}
