import type { ValidateFunction } from 'ajv';
import { invalid, NotFoundError } from '../core/errors';
import { newId } from '../core/ids';
import { loadJsonSchema } from '../events/catalog';
import { createAjv, describeErrors } from '../events/validator';
import type { ValidationProblem } from '../events/validator';
import { DEFAULT_RETRY_CONFIG } from '../transport/retry-policy';
import { compileJsonata } from '../core/jsonata';
import type { Page, PageRequest } from '../core/page';
import type { FieldFilter, IntegrationPatch, IntegrationSubscription, Qualification, Subscription } from '../subscriptions/model';
import type { RetryConfig } from '../transport/retry-policy';
import type { SubscriptionRepository } from '../subscriptions/repository';
import type { ConnectionRepository } from './ports';
import type { SubscriptionCache } from '../subscriptions/subscription-cache';
import type { SubscriptionService } from '../subscriptions/subscription-service';
import type { ConnectionService } from './connection-service';
import type { LoadedConnector } from '../connectors/loader';

/** Lead qualification as a client sends it: routes name connections. */
export interface QualificationInput {
  score?: string;
  qualify?: string;
  routes?: Array<{ when?: string; connection: string; label?: string }>;
}

/** An integration's fields as integration.schema.json guarantees them. */
export interface IntegrationInput {
  connection?: string;
  events?: string[];
  filters?: FieldFilter[];
  filter?: string | null;
  triggers?: string[] | null;
  retryConfig?: Partial<RetryConfig>;
  active?: boolean;
  description?: string | null;
  qualification?: QualificationInput | null;
}

/** A new integration: the schema also requires its connection and events. */
export type IntegrationCreateInput = IntegrationInput & { connection: string; events: string[] };

export interface IntegrationServiceOptions {
  store: SubscriptionRepository & Pick<ConnectionRepository, 'getConnection'>;
  cache: SubscriptionCache;
  subscriptions: SubscriptionService;
  connections: ConnectionService;
}

/**
 * Integrations: a connection subscribed to events. They are stored as
 * subscriptions of kind "integration", so routing, retries, dead letters,
 * replay and delivery logs treat them exactly as webhooks.
 */
export class IntegrationService {
  private readonly validateCreate: ValidateFunction<IntegrationCreateInput>;
  private readonly validatePatch: ValidateFunction<IntegrationInput>;

  constructor(private readonly options: IntegrationServiceOptions) {
    const ajv = createAjv();
    ajv.addSchema(loadJsonSchema('subscription.schema.json'));
    const schema = loadJsonSchema('integration.schema.json');
    this.validateCreate = ajv.compile<IntegrationCreateInput>({ ...schema, $id: 'https://hookhub.dev/schemas/integration.create.schema.json', required: ['connection', 'events'] });
    this.validatePatch = ajv.compile<IntegrationInput>({ ...schema, $id: 'https://hookhub.dev/schemas/integration.patch.schema.json', minProperties: 1 });
  }

  async create(tenantId: string, body: Record<string, unknown>): Promise<IntegrationSubscription> {
    if (!this.validateCreate(body)) throw invalid(describeErrors(this.validateCreate.errors), 'integration');
    const input: IntegrationCreateInput = body;
    await this.options.subscriptions.checkSemantics(pick(input, ['events', 'filters', 'filter']));
    await this.options.subscriptions.checkPlan(tenantId, body, true);
    const connectionId = input.connection;
    const connection = await this.options.store.getConnection(tenantId, connectionId);
    if (!connection) throw invalid([{ path: '/connection', message: `no connection "${connectionId}" exists for this tenant; create one with POST /v1/connections` }], 'integration');
    const connector = this.options.connections.pinned(connection);
    if (!connector) throw invalid([{ path: '/connection', message: this.options.connections.missingMessage(connection) }], 'integration');
    const triggers = input.triggers ?? null;
    const problems = checkAgainstConnector(connector, input.events, triggers);
    const qualification = await this.qualification(tenantId, input.qualification, input.events, problems);
    if (problems.length > 0) throw invalid(problems, 'integration');
    const now = new Date();
    const record: IntegrationSubscription = {
      id: newId('int'),
      tenantId,
      kind: 'integration',
      events: input.events,
      filters: input.filters ?? [],
      filter: input.filter ?? null,
      retryConfig: { ...DEFAULT_RETRY_CONFIG, ...input.retryConfig },
      active: input.active ?? true,
      description: input.description ?? null,
      integration: { connectionId, connector: connection.connector, triggers, ...(qualification ? { qualification } : {}) },
      disabledReason: null,
      createdAt: now,
      updatedAt: now,
    };
    await this.options.store.insertSubscription(record);
    this.options.cache.invalidate();
    return record;
  }

  async get(tenantId: string, id: string): Promise<IntegrationSubscription> {
    return integrationOrNotFound(await this.options.store.getSubscription(tenantId, id), id);
  }

  list(tenantId: string, page: PageRequest): Promise<Page<IntegrationSubscription>> {
    return this.options.store.listSubscriptions(tenantId, 'integration', page);
  }

  async update(tenantId: string, id: string, body: Record<string, unknown>): Promise<IntegrationSubscription> {
    if (!this.validatePatch(body)) throw invalid(describeErrors(this.validatePatch.errors), 'integration');
    const input: IntegrationInput = body;
    if (input.connection !== undefined) throw invalid([{ path: '/connection', message: 'cannot change; create a new integration for another connection' }], 'integration');
    await this.options.subscriptions.checkSemantics(pick(input, ['events', 'filters', 'filter']));
    const current = await this.get(tenantId, id);
    await this.options.subscriptions.checkPlan(tenantId, body, false);
    const target = current.integration;
    const patch: IntegrationPatch = pick(input, ['events', 'filters', 'filter', 'active', 'description']);
    if (input.retryConfig) patch.retryConfig = { ...current.retryConfig, ...input.retryConfig };
    if (input.active === true) patch.disabledReason = null;
    if (input.triggers !== undefined) patch.integration = { ...target, triggers: input.triggers };
    if (input.qualification !== undefined) {
      const problems: ValidationProblem[] = [];
      const qualification = await this.qualification(tenantId, input.qualification, input.events ?? current.events, problems);
      if (problems.length > 0) throw invalid(problems, 'integration');
      patch.integration = { ...(patch.integration ?? target), qualification };
    }
    const connection = await this.options.store.getConnection(tenantId, target.connectionId);
    const connector = connection ? this.options.connections.pinned(connection) : null;
    if (connector) {
      const problems = checkAgainstConnector(connector, patch.events ?? current.events, patch.integration?.triggers ?? target.triggers);
      if (problems.length > 0) throw invalid(problems, 'integration');
    }
    const updated = integrationOrNotFound(await this.options.store.updateSubscription(tenantId, id, patch), id);
    this.options.cache.invalidate();
    return updated;
  }

  /** Checks qualification rules: JSONata that compiles, route connections of this tenant that handle the events. */
  private async qualification(tenantId: string, q: QualificationInput | null | undefined, events: string[], problems: ValidationProblem[]): Promise<Qualification | null> {
    if (q === undefined || q === null) return null;
    for (const [path, source] of [['/qualification/score', q.score], ['/qualification/qualify', q.qualify], ...(q.routes ?? []).map((r, i) => [`/qualification/routes/${i}/when`, r.when])] as Array<[string, string | undefined]>) {
      if (source === undefined) continue;
      try {
        compileJsonata(source);
      } catch (err) {
        problems.push({ path, message: (err as Error).message });
      }
    }
    const routes: Qualification['routes'] = [];
    for (const [i, route] of (q.routes ?? []).entries()) {
      const connection = await this.options.store.getConnection(tenantId, route.connection);
      const connector = connection ? this.options.connections.pinned(connection) : null;
      if (!connection || !connector) {
        problems.push({ path: `/qualification/routes/${i}/connection`, message: `no usable connection "${route.connection}" exists for this tenant` });
        continue;
      }
      problems.push(...checkAgainstConnector(connector, events, null).map((p) => ({ ...p, path: `/qualification/routes/${i}/connection` })));
      routes.push({ when: route.when ?? null, connectionId: connection.id, label: route.label ?? `route ${i + 1} (${connection.connector})` });
    }
    return { score: q.score ?? null, qualify: q.qualify ?? null, routes };
  }

  async remove(tenantId: string, id: string): Promise<void> {
    await this.get(tenantId, id);
    await this.options.store.deleteSubscription(tenantId, id);
    this.options.cache.invalidate();
  }
}

/** The record when it is an integration: a webhook subscription is not found under /v1/integrations. */
function integrationOrNotFound(record: Subscription | null, id: string): IntegrationSubscription {
  if (!record || record.kind !== 'integration') throw new NotFoundError('integration', id);
  return record;
}

function checkAgainstConnector(connector: LoadedConnector, events: string[], triggers: string[] | null): ValidationProblem[] {
  const problems: ValidationProblem[] = [];
  const names = connector.triggers.map((t) => t.name);
  (triggers ?? []).forEach((name, i) => {
    if (!names.includes(name)) problems.push({ path: `/triggers/${i}`, message: `connector ${connector.manifest.name} has no trigger "${name}" (it has: ${names.join(', ')})` });
  });
  const usable = connector.triggers.filter((t) => triggers === null || triggers.includes(t.name));
  const handles = (type: string): boolean => usable.some((t) => t.event === '*' || t.event === type);
  events.forEach((type, i) => {
    if (type !== '*' && !handles(type)) {
      const known = [...new Set(usable.map((t) => t.event))].join(', ');
      problems.push({ path: `/events/${i}`, message: `connector ${connector.manifest.name} does nothing with ${type}; it handles: ${known}` });
    }
  });
  return problems;
}

/** The given fields that are present. */
function pick<T extends object, K extends keyof T>(input: T, keys: K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const key of keys) if (input[key] !== undefined) out[key] = input[key];
  return out;
}
