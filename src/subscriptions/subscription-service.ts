import type { ValidateFunction } from 'ajv';
import { systemClock } from '../core/clock';
import type { Clock } from '../core/clock';
import { invalid, NotFoundError } from '../core/errors';
import { newId } from '../core/ids';
import { compileJsonata } from '../core/jsonata';
import { DOTTED_PATH } from '../core/json-path';
import type { SecretBox } from '../core/secret-box';
import { isEventType } from '../events/catalog';
import { loadJsonSchema } from '../events/catalog';
import { createAjv, describeErrors } from '../events/validator';
import type { ValidationProblem } from '../events/validator';
import { DEFAULT_RETRY_CONFIG } from '../transport/retry-policy';
import { generateSigningKey } from '../transport/signing';
import { checkEncryption } from '../transport/payload-encryption';
import { urlProblem } from '../transport/network-guard';
import type { Page, PageRequest } from '../core/page';
import type { SubscriptionRepository } from './repository';
import type { BatchOptions, Subscription, WebhookPatch, WebhookSubscription } from './model';
import { networkRules, openTls } from './network-rules';
import type { ClientTls } from './network-rules';
import { headerFields, headerValue, withSecretHeaders } from './secret-headers';
import type { HeaderFields } from './secret-headers';
import type { SubscriptionCreateInput, SubscriptionInput } from './subscription-input';
import type { NetworkFields } from './network-rules';
import type { SubscriptionCache } from './subscription-cache';

/** How long a rotated-out secret keeps signing by default (a day), and at most (a week). */
export const DEFAULT_ROTATION_OVERLAP_SECONDS = 86_400;
export const MAX_ROTATION_OVERLAP_SECONDS = 604_800;

/** Headers the hub sets itself; a subscription cannot override them. */
export const RESERVED_HEADERS = new Set([
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'x-webhook-signature',
  'x-webhook-timestamp',
  'content-type',
  'content-length',
  'content-encoding',
  'transfer-encoding',
  'host',
  'connection',
  'user-agent',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
]);

const HEADER_NAME = /^[!#$%&'*+^_`|~0-9A-Za-z-]+$/;

export interface SubscriptionServiceOptions {
  store: SubscriptionRepository;
  secretBox: SecretBox;
  cache: SubscriptionCache;
  allowPrivateNetworks: boolean;
  requireHttps: boolean;
  /** Stamps creation and the end of a rotated-out secret's overlap; default the system's. */
  clock?: Clock;
  /** Checks a subscription or integration being created or changed against the tenant's plan (403 plan_limit). */
  checkPlan?: PlanCheck;
}

/** What the tenant's plan is asked about: the fields of the request, and whether it creates one more subscription. */
export type PlanCheck = (tenantId: string, change: Readonly<Record<string, unknown>> & { creating: boolean }) => Promise<void>;

/** Registration and changes of subscriptions, with every check a client should hear about at once. */
export class SubscriptionService {
  private readonly validateCreate: ValidateFunction<SubscriptionCreateInput>;
  private readonly validatePatch: ValidateFunction<SubscriptionInput>;
  private readonly clock: Clock;

  constructor(private readonly options: SubscriptionServiceOptions) {
    this.clock = options.clock ?? systemClock;
    const ajv = createAjv();
    const schema = loadJsonSchema('subscription.schema.json');
    this.validateCreate = ajv.compile<SubscriptionCreateInput>({ ...schema, $id: String(schema['$id']).replace('.schema.json', '.create.schema.json'), required: ['endpointUrl', 'events'] });
    this.validatePatch = ajv.compile<SubscriptionInput>({ ...schema, $id: String(schema['$id']).replace('.schema.json', '.patch.schema.json'), minProperties: 1 });
  }

  /** `secret` is the whsec_ secret of an HMAC subscription; null for Ed25519, whose record carries the publicKey instead. */
  async create(tenantId: string, body: Record<string, unknown>): Promise<{ record: WebhookSubscription; secret: string | null }> {
    if (!this.validateCreate(body)) throw invalid(describeErrors(this.validateCreate.errors), 'subscription');
    const input: SubscriptionCreateInput = body;
    await this.checkSemantics(input);
    checkOrderingWithBatch(input.ordering, input.batch);
    await this.checkPlan(tenantId, body, true);
    const algorithm = input.signing?.algorithm ?? 'hmac-sha256';
    const { secret, publicKey } = generateSigningKey(algorithm);
    const now = new Date(this.clock.now());
    const record: WebhookSubscription = {
      id: newId('sub'),
      tenantId,
      kind: 'webhook',
      endpointUrl: input.endpointUrl,
      events: input.events,
      filters: input.filters ?? [],
      filter: input.filter ?? null,
      payload: input.payload ?? null,
      ...this.headers(input, null),
      retryConfig: { ...DEFAULT_RETRY_CONFIG, ...(input.retryConfig ?? {}) },
      active: input.active ?? true,
      description: input.description ?? null,
      secretSealed: this.options.secretBox.seal(secret),
      signing: { algorithm },
      publicKey,
      previousSecretSealed: null,
      previousSecretExpiresAt: null,
      encryption: input.encryption ?? null,
      batch: batchOf(input.batch),
      ordering: input.ordering ?? null,
      ...this.network(input),
      disabledReason: null,
      createdAt: now,
      updatedAt: now,
    };
    await this.options.store.insertSubscription(record);
    this.options.cache.invalidate();
    return { record, secret: publicKey === null ? secret : null };
  }

  /**
   * Replaces the signing secret (or Ed25519 key pair). For `overlapSeconds` the previous one
   * keeps signing too, as a second signature after the new one, so receivers can switch
   * without losing deliveries; a second rotation within the overlap drops the oldest.
   * Other processes pick the change up within the subscription cache's TTL (~2 s).
   */
  async rotateSecret(tenantId: string, id: string, input: Record<string, unknown>): Promise<{ record: WebhookSubscription; secret: string | null }> {
    const unknown = Object.keys(input).filter((k) => k !== 'overlapSeconds');
    const overlap = input['overlapSeconds'] === undefined ? DEFAULT_ROTATION_OVERLAP_SECONDS : input['overlapSeconds'];
    if (unknown.length > 0 || typeof overlap !== 'number' || !Number.isInteger(overlap) || overlap < 0 || overlap > MAX_ROTATION_OVERLAP_SECONDS) {
      throw invalid(
        unknown.length > 0
          ? unknown.map((k) => ({ path: `/${k}`, message: 'is not a rotate-secret option; the only one is overlapSeconds' }))
          : [{ path: '/overlapSeconds', message: `must be a whole number of seconds from 0 to ${MAX_ROTATION_OVERLAP_SECONDS} (7 days); default ${DEFAULT_ROTATION_OVERLAP_SECONDS}` }],
        'secret rotation',
      );
    }
    const current = await this.get(tenantId, id);
    const { secret, publicKey } = generateSigningKey(current.signing?.algorithm ?? 'hmac-sha256');
    const updated = await this.change(tenantId, id, {
      secretSealed: this.options.secretBox.seal(secret),
      publicKey,
      previousSecretSealed: overlap > 0 ? current.secretSealed : null,
      previousSecretExpiresAt: overlap > 0 ? new Date(this.clock.now() + overlap * 1000) : null,
    });
    return { record: updated, secret: publicKey === null ? secret : null };
  }

  /** 403 plan_limit when the tenant's plan does not allow this change (a no-op for a hub without plans). */
  async checkPlan(tenantId: string, body: Readonly<Record<string, unknown>>, creating: boolean): Promise<void> {
    await this.options.checkPlan?.(tenantId, { ...body, creating });
  }

  async get(tenantId: string, id: string): Promise<WebhookSubscription> {
    return webhookOrNotFound(await this.options.store.getSubscription(tenantId, id), id);
  }

  list(tenantId: string, page: PageRequest): Promise<Page<WebhookSubscription>> {
    return this.options.store.listSubscriptions(tenantId, 'webhook', page);
  }

  async update(tenantId: string, id: string, body: Record<string, unknown>): Promise<WebhookSubscription> {
    if (!this.validatePatch(body)) throw invalid(describeErrors(this.validatePatch.errors), 'subscription');
    const input: SubscriptionInput = body;
    if (input.signing !== undefined) {
      throw invalid([{ path: '/signing', message: 'is chosen at creation only: create a new subscription with the other algorithm (and delete this one), or rotate this one\'s key with POST /v1/subscriptions/{id}/rotate-secret' }], 'subscription');
    }
    await this.checkSemantics(input);
    const current = await this.get(tenantId, id);
    checkOrderingWithBatch(input.ordering === undefined ? current.ordering : input.ordering, input.batch === undefined ? current.batch : input.batch);
    await this.checkPlan(tenantId, body, false);
    // Network rules and headers become record fields of their own (sealed where secret); signing was refused above.
    const { tls: _tls, headers: _headers, allowedIps: _allowedIps, rateLimit: _rateLimit, signing: _signing, retryConfig, batch, ...rest } = input;
    const patch: WebhookPatch = { ...rest, ...this.network(input), ...(input.headers === undefined ? {} : this.headers(input, current)) };
    if (batch !== undefined) patch.batch = batchOf(batch);
    if (retryConfig) patch.retryConfig = { ...current.retryConfig, ...retryConfig };
    // Re-enabling clears why it was disabled.
    if (input.active === true) patch.disabledReason = null;
    return this.change(tenantId, id, patch);
  }

  /** Stores a change to a webhook subscription read just before, and drops what the cache holds. */
  private async change(tenantId: string, id: string, patch: WebhookPatch): Promise<WebhookSubscription> {
    const updated = webhookOrNotFound(await this.options.store.updateSubscription(tenantId, id, patch), id);
    this.options.cache.invalidate();
    return updated;
  }

  async remove(tenantId: string, id: string): Promise<void> {
    await this.get(tenantId, id);
    if (!(await this.options.store.deleteSubscription(tenantId, id))) throw new NotFoundError('subscription', id);
    this.options.cache.invalidate();
  }

  /** What GET /secret answers: the whsec_ secret; for Ed25519 only the public key, as the private key never leaves the hub. */
  async secret(tenantId: string, id: string): Promise<Record<string, unknown>> {
    const record = await this.get(tenantId, id);
    if (record.signing?.algorithm === 'ed25519') {
      return {
        algorithm: 'ed25519',
        publicKey: record.publicKey ?? null,
        note: 'Ed25519 subscriptions have no shared secret: only Hookhub holds the private key and signs. Verify v1a signatures with this publicKey (whpk_...).',
      };
    }
    return { secret: this.options.secretBox.open(record.secretSealed) };
  }

  /** Disables a subscription on the hub's own initiative (e.g. the endpoint answered 410 Gone). */
  async disable(tenantId: string, id: string, reason: string): Promise<void> {
    await this.options.store.updateSubscription(tenantId, id, { active: false, disabledReason: reason });
    this.options.cache.invalidate();
  }

  /** allowedIps, rateLimit and mutual TLS as record fields; a 400 naming each bad value. */
  private network(input: SubscriptionInput): Partial<NetworkFields> {
    const { fields, problems } = networkRules(input, this.options.secretBox);
    if (problems.length > 0) throw invalid(problems, 'subscription');
    return fields;
  }

  /** Custom headers as record fields, secret ones sealed (`current`: whose stored secrets `{"secret": true}` keeps); a 400 naming each bad one. */
  private headers(input: SubscriptionInput, current: WebhookSubscription | null): HeaderFields {
    const { fields, problems } = headerFields(input.headers ?? {}, current, this.options.secretBox);
    if (problems.length > 0) throw invalid(problems, 'subscription');
    return fields;
  }

  /** The client certificate of a subscription with mutual TLS, unsealed (for a check of its endpoint); undefined without one. */
  clientTls(record: WebhookSubscription): ClientTls | undefined {
    return openTls(record.tlsSealed, this.options.secretBox);
  }

  /** The record with its secret headers' values in clear, for a request sent now (a test send); never for an answer. */
  forSending(record: WebhookSubscription): WebhookSubscription {
    return withSecretHeaders(record, this.options.secretBox);
  }

  /** Checks what a schema cannot: URL reachability rules, event types, filters, JSONata, headers. */
  async checkSemantics(input: SubscriptionInput): Promise<void> {
    const problems: ValidationProblem[] = [];
    if (typeof input.endpointUrl === 'string') problems.push(...(await this.checkUrl(input.endpointUrl)));
    for (const [i, type] of (input.events ?? []).entries()) {
      if (type !== '*' && !isEventType(type)) {
        problems.push({ path: `/events/${i}`, message: `"${type}" is not a known event type; see GET /v1/event-types` });
      }
    }
    for (const [i, filter] of (input.filters ?? []).entries()) {
      if (!DOTTED_PATH.test(filter.field)) problems.push({ path: `/filters/${i}/field`, message: 'must be a dotted path such as data.address.city' });
      if (filter.operator === 'in' && !Array.isArray(filter.value)) problems.push({ path: `/filters/${i}/value`, message: 'must be an array for operator "in"' });
      if ((filter.operator === 'equals' || filter.operator === 'contains') && filter.value === undefined) {
        problems.push({ path: `/filters/${i}/value`, message: `is required for operator "${filter.operator}"` });
      }
    }
    const jsonataFields: Array<[string, unknown]> = [
      ['/filter', input.filter],
      ['/ordering/key', input.ordering?.key],
      ['/payload/transform', input.payload?.transform],
    ];
    for (const [path, source] of jsonataFields) {
      if (typeof source !== 'string') continue;
      try {
        compileJsonata(source);
      } catch (err) {
        problems.push({ path, message: (err as Error).message });
      }
    }
    for (const [i, field] of (input.payload?.fields ?? []).entries()) {
      if (!DOTTED_PATH.test(field)) problems.push({ path: `/payload/fields/${i}`, message: 'must be a dotted path such as data.name' });
    }
    for (const [name, header] of Object.entries(input.headers ?? {})) {
      if (!HEADER_NAME.test(name)) problems.push({ path: `/headers/${name}`, message: 'is not a legal HTTP header name' });
      else if (RESERVED_HEADERS.has(name.toLowerCase())) problems.push({ path: `/headers/${name}`, message: 'is set by Hookhub (signing or transport) and cannot be overridden' });
      if (/[\r\n\0]/.test(headerValue(header) ?? '')) problems.push({ path: `/headers/${name}`, message: 'value must not contain CR, LF or NUL' });
    }
    problems.push(...(await checkEncryption(input.encryption)));
    if (problems.length > 0) throw invalid(problems, 'subscription');
  }

  private async checkUrl(raw: string): Promise<ValidationProblem[]> {
    const problem = await urlProblem(raw, {
      requireHttps: this.options.requireHttps,
      allowPrivateNetworks: this.options.allowPrivateNetworks,
      credentialsHint: 'send them in a secret header instead, e.g. "headers": {"Authorization": {"value": "Basic dTpwdw==", "secret": true}}',
    });
    return problem === null ? [] : [{ path: '/endpointUrl', message: problem }];
  }
}

/** The record when it is a webhook subscription: an integration is not found under /v1/subscriptions. */
function webhookOrNotFound(record: Subscription | null, id: string): WebhookSubscription {
  if (!record || record.kind !== 'webhook') throw new NotFoundError('subscription', id);
  return record;
}

/** What a batch uses of its bytes unless told otherwise. */
export const DEFAULT_BATCH_MAX_BYTES = 1_048_576;

/** A subscription's batch settings as stored: maxBytes defaulted. */
function batchOf(input: SubscriptionInput['batch']): BatchOptions | null {
  if (!input) return null;
  return { maxEvents: input.maxEvents, maxWaitMs: input.maxWaitMs, maxBytes: input.maxBytes ?? DEFAULT_BATCH_MAX_BYTES };
}

/** Ordering and batch delivery do not go together: a batch's events would share one attempt and one hold. */
function checkOrderingWithBatch(ordering: { key: string } | null | undefined, batch: unknown): void {
  if (ordering && batch) {
    throw invalid([{ path: '/ordering', message: 'cannot be combined with batch delivery: set batch to null, or ordering to null' }], 'subscription');
  }
}
