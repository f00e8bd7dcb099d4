import { systemClock } from '../core/clock';
import type { Clock } from '../core/clock';
import { HubError, invalid } from '../core/errors';
import { newId } from '../core/ids';
import type { SecretBox } from '../core/secret-box';
import type { ValidationProblem } from '../events/validator';
import type { RetryConfig } from '../transport/retry-policy';
import { generateSigningKey } from '../transport/signing';
import type { FieldFilter, RelaySubscription } from './model';
import type { SubscriptionRepository } from './repository';
import type { SubscriptionCache } from './subscription-cache';
import type { SubscriptionService } from './subscription-service';

/** How long a relay is kept without a client by default (10 minutes), and the bounds of `keepSeconds`. */
export const DEFAULT_RELAY_KEEP_SECONDS = 600;
const MIN_KEEP_SECONDS = 1;
/** A holder that has not confirmed its client for this long is taken to be gone (its process died). */
export const HOLDER_STALE_MS = 60_000;
const MAX_KEEP_SECONDS = 86_400;

/**
 * A relay retries like an endpoint that is down, on a ladder for a developer at work: 2 s doubling to a minute,
 * 15 times (about 10 minutes, the default keep), unless it mirrors a subscription, whose ladder it takes.
 */
export const RELAY_RETRY_CONFIG: RetryConfig = Object.freeze({ maxRetries: 15, initialDelaySeconds: 2, backoffMultiplier: 2, maxBackoffSeconds: 60 });

/** What a listening client asks for when it connects (its first message). */
export interface RelayRequest {
  events?: string[];
  filters?: FieldFilter[];
  filter?: string | null;
  /** Mirror this webhook subscription's events, filters and payload shaping. */
  subscriptionId?: string;
  /** Resume this relay (a reconnect): its events and secret stay. */
  relayId?: string;
  keepSeconds?: number;
}

export interface OpenedRelay {
  record: RelaySubscription;
  /** The whsec_ signing secret, for the client to print. */
  secret: string;
  resumed: boolean;
}

export interface RelayServiceOptions {
  store: SubscriptionRepository;
  secretBox: SecretBox;
  cache: SubscriptionCache;
  subscriptions: SubscriptionService;
  clock?: Clock;
}

/**
 * Relay subscriptions of `hookhub listen`: made (or resumed) when a client connects, told where the client
 * is while it stays, and removed once it has been gone longer than the relay's keep.
 */
export class RelayService {
  private readonly clock: Clock;

  constructor(private readonly options: RelayServiceOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /** A new relay for `request`, or the one it resumes; `holder` (this process) holds its client from now on. */
  async open(tenantId: string, request: RelayRequest, holder: string): Promise<OpenedRelay> {
    const problems = requestProblems(request);
    if (problems.length > 0) throw invalid(problems, 'listen request');
    if (request.relayId !== undefined) {
      const record = await this.get(tenantId, request.relayId);
      const resumed = await this.place(record, holder);
      return { record: resumed, secret: this.options.secretBox.open(record.secretSealed), resumed: true };
    }
    const mirrored = request.subscriptionId === undefined ? null : await this.options.subscriptions.get(tenantId, request.subscriptionId);
    const selection = mirrored ?? { events: request.events ?? ['*'], filters: request.filters ?? [], filter: request.filter ?? null, payload: null };
    await this.options.subscriptions.checkSemantics({ events: selection.events, filters: selection.filters, filter: selection.filter });
    const { secret } = generateSigningKey('hmac-sha256');
    const now = new Date(this.clock.now());
    const record: RelaySubscription = {
      id: newId('rly'),
      tenantId,
      kind: 'relay',
      events: [...selection.events],
      filters: selection.filters,
      filter: selection.filter,
      payload: selection.payload,
      retryConfig: mirrored?.retryConfig ?? RELAY_RETRY_CONFIG,
      active: true,
      description: mirrored ? `hookhub listen, mirroring ${mirrored.id}` : 'hookhub listen',
      disabledReason: null,
      secretSealed: this.options.secretBox.seal(secret),
      relay: { holder, lastSeenAt: now, keepSeconds: request.keepSeconds ?? DEFAULT_RELAY_KEEP_SECONDS },
      createdAt: now,
      updatedAt: now,
    };
    await this.options.store.insertSubscription(record);
    this.options.cache.invalidate();
    return { record, secret, resumed: false };
  }

  /** The holder still has the client (a heartbeat): other processes keep routing its deliveries to it. */
  async seen(relay: RelaySubscription, holder: string): Promise<void> {
    await this.place(relay, holder);
  }

  /** The client left `holder`; unless it is held elsewhere by now, the relay has no client from now on. */
  async left(tenantId: string, id: string, holder: string): Promise<void> {
    const current = await this.options.store.getSubscription(tenantId, id);
    if (current?.kind !== 'relay' || current.relay.holder !== holder) return;
    await this.place(current, null);
  }

  /** Removes the relay when it has had no client for its keep; true when it did. */
  async removeIfIdle(tenantId: string, id: string): Promise<boolean> {
    const current = await this.options.store.getSubscription(tenantId, id);
    if (current?.kind !== 'relay' || !this.idle(current)) return false;
    const removed = await this.options.store.deleteSubscription(tenantId, id);
    this.options.cache.invalidate();
    return removed;
  }

  /** Removes every relay idle past its keep, also those whose holder died without saying its client left; how many. */
  async sweep(): Promise<number> {
    const candidates = await this.options.store.findRelaysSeenBefore(new Date(this.clock.now() - MIN_KEEP_SECONDS * 1000));
    let removed = 0;
    for (const relay of candidates.filter((r) => this.idle(r))) {
      if (await this.removeIfIdle(relay.tenantId, relay.id)) removed += 1;
    }
    return removed;
  }

  /** No client (none recorded, or its holder stopped confirming it) for longer than the relay's keep. */
  private idle(relay: RelaySubscription): boolean {
    const since = this.clock.now() - relay.relay.lastSeenAt.getTime();
    return (relay.relay.holder === null || since >= HOLDER_STALE_MS) && since >= relay.relay.keepSeconds * 1000;
  }

  private async get(tenantId: string, id: string): Promise<RelaySubscription> {
    const record = await this.options.store.getSubscription(tenantId, id);
    if (record?.kind !== 'relay') {
      throw new HubError('relay_not_found', `No relay "${id}" exists for this tenant: it was removed after its keep without a client. Start hookhub listen again for a new one.`, { status: 404 });
    }
    return record;
  }

  private async place(relay: RelaySubscription, holder: string | null): Promise<RelaySubscription> {
    const patch = { relay: { ...relay.relay, holder, lastSeenAt: new Date(this.clock.now()) } };
    const updated = await this.options.store.updateSubscription(relay.tenantId, relay.id, patch);
    this.options.cache.invalidate();
    return updated?.kind === 'relay' ? updated : { ...relay, ...patch };
  }
}

/** What is wrong with a listen request's shape (its event types, filters and JSONata are checked as a subscription's). */
function requestProblems(request: RelayRequest): ValidationProblem[] {
  const problems: ValidationProblem[] = [];
  const { events, keepSeconds } = request;
  if (events !== undefined && (!Array.isArray(events) || events.length === 0 || !events.every((e) => typeof e === 'string'))) {
    problems.push({ path: '/events', message: 'must be a non-empty list of event types, e.g. ["business.created"], or ["*"] for all' });
  }
  if (request.filters !== undefined && !Array.isArray(request.filters)) problems.push({ path: '/filters', message: 'must be a list of {field, operator, value}' });
  if (request.filter !== undefined && request.filter !== null && typeof request.filter !== 'string') problems.push({ path: '/filter', message: 'must be a JSONata expression' });
  for (const key of ['subscriptionId', 'relayId'] as const) {
    if (request[key] !== undefined && typeof request[key] !== 'string') problems.push({ path: `/${key}`, message: 'must be an id string' });
  }
  if (request.subscriptionId !== undefined && (events !== undefined || request.filters !== undefined || request.filter !== undefined)) {
    problems.push({ path: '/subscriptionId', message: 'takes the events, filters and payload of that subscription: leave out events and filters' });
  }
  if (keepSeconds !== undefined && (!Number.isInteger(keepSeconds) || keepSeconds < MIN_KEEP_SECONDS || keepSeconds > MAX_KEEP_SECONDS)) {
    problems.push({ path: '/keepSeconds', message: `must be a whole number of seconds from ${MIN_KEEP_SECONDS} to ${MAX_KEEP_SECONDS}` });
  }
  return problems;
}
