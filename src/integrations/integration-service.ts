import type { ValidateFunction } from 'ajv';
import { invalid, NotFoundError } from '../core/errors';
import { newId } from '../core/ids';
import { loadJsonSchema } from '../events/catalog';
import { createAjv, describeErrors } from '../events/validator';
import type { ValidationProblem } from '../events/validator';
import { DEFAULT_RETRY_CONFIG } from '../transport/retry-policy';
import { compileJsonata } from '../core/jsonata';
import type { Page, PageRequest, Qualification, Store, SubscriptionPatch, SubscriptionRecord } from '../store/port';
import type { SubscriptionCache } from '../subscriptions/subscription-cache';
import type { SubscriptionService } from '../subscriptions/subscription-service';
import type { ConnectionService } from './connection-service';
import type { LoadedConnector } from '../connectors/loader';

export interface IntegrationServiceOptions {
  store: Store;
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
  private readonly validateCreate: ValidateFunction;
  private readonly validatePatch: ValidateFunction;

  constructor(private readonly o: IntegrationServiceOptions) {
    const ajv = createAjv();
    ajv.addSchema(loadJsonSchema('subscription.schema.json'));
    const schema = loadJsonSchema('integration.schema.json');
    this.validateCreate = ajv.compile({ ...schema, $id: 'https://hookhub.dev/schemas/integration.create.schema.json', required: ['connection', 'events'] });
    this.validatePatch = ajv.compile({ ...schema, $id: 'https://hookhub.dev/schemas/integration.patch.schema.json', minProperties: 1 });
  }

  async create(tenantId: string, input: Record<string, unknown>): Promise<SubscriptionRecord> {
    if (!this.validateCreate(input)) throw invalid(describeErrors(this.validateCreate.errors), 'integration');
    await this.o.subscriptions.checkSemantics(pick(input, ['events', 'filters', 'filter']));
    const connectionId = input['connection'] as string;
    const connection = await this.o.store.getConnection(tenantId, connectionId);
    if (!connection) throw invalid([{ path: '/connection', message: `no connection "${connectionId}" exists for this tenant; create one with POST /v1/connections` }], 'integration');
    const connector = this.o.connections.pinned(connection);
    if (!connector) throw invalid([{ path: '/connection', message: this.o.connections.missingMessage(connection) }], 'integration');
    const triggers = (input['triggers'] as string[] | null | undefined) ?? null;
    const problems = checkAgainstConnector(connector, input['events'] as string[], triggers);
    const qualification = await this.qualification(tenantId, input['qualification'], input['events'] as string[], problems);
    if (problems.length > 0) throw invalid(problems, 'integration');
    const now = new Date();
    const record: SubscriptionRecord = {
      id: newId('int'),
      tenantId,
      kind: 'integration',
      endpointUrl: '',
      events: input['events'] as string[],
      filters: (input['filters'] as SubscriptionRecord['filters'] | undefined) ?? [],
      filter: (input['filter'] as string | null | undefined) ?? null,
      payload: null,
      headers: {},
      retryConfig: { ...DEFAULT_RETRY_CONFIG, ...((input['retryConfig'] as object | undefined) ?? {}) },
      active: (input['active'] as boolean | undefined) ?? true,
      description: (input['description'] as string | null | undefined) ?? null,
      secretSealed: '',
      integration: { connectionId, connector: connection.connector, triggers, ...(qualification ? { qualification } : {}) },
      disabledReason: null,
      createdAt: now,
      updatedAt: now,
    };
    await this.o.store.insertSubscription(record);
    this.o.cache.invalidate();
    return record;
  }

  async get(tenantId: string, id: string): Promise<SubscriptionRecord> {
    const record = await this.o.store.getSubscription(tenantId, id);
    if (!record || record.kind !== 'integration') throw new NotFoundError('integration', id);
    return record;
  }

  list(tenantId: string, page: PageRequest): Promise<Page<SubscriptionRecord>> {
    return this.o.store.listSubscriptions(tenantId, 'integration', page);
  }

  async update(tenantId: string, id: string, input: Record<string, unknown>): Promise<SubscriptionRecord> {
    if (!this.validatePatch(input)) throw invalid(describeErrors(this.validatePatch.errors), 'integration');
    if (input['connection'] !== undefined) throw invalid([{ path: '/connection', message: 'cannot change; create a new integration for another connection' }], 'integration');
    await this.o.subscriptions.checkSemantics(pick(input, ['events', 'filters', 'filter']));
    const current = await this.get(tenantId, id);
    const target = current.integration;
    if (!target) throw new NotFoundError('integration', id);
    const patch = pick(input, ['events', 'filters', 'filter', 'active', 'description']) as SubscriptionPatch;
    if (input['retryConfig']) patch.retryConfig = { ...current.retryConfig, ...(input['retryConfig'] as object) };
    if (input['active'] === true) patch.disabledReason = null;
    if (input['triggers'] !== undefined) patch.integration = { ...target, triggers: input['triggers'] as string[] | null };
    if (input['qualification'] !== undefined) {
      const problems: ValidationProblem[] = [];
      const qualification = await this.qualification(tenantId, input['qualification'], (input['events'] as string[] | undefined) ?? current.events, problems);
      if (problems.length > 0) throw invalid(problems, 'integration');
      patch.integration = { ...(patch.integration ?? target), qualification };
    }
    const connection = await this.o.store.getConnection(tenantId, target.connectionId);
    const connector = connection ? this.o.connections.pinned(connection) : null;
    if (connector) {
      const problems = checkAgainstConnector(connector, patch.events ?? current.events, patch.integration?.triggers ?? target.triggers);
      if (problems.length > 0) throw invalid(problems, 'integration');
    }
    const updated = await this.o.store.updateSubscription(tenantId, id, patch);
    if (!updated) throw new NotFoundError('integration', id);
    this.o.cache.invalidate();
    return updated;
  }

  /** Checks qualification rules: JSONata that compiles, route connections of this tenant that handle the events. */
  private async qualification(tenantId: string, raw: unknown, events: string[], problems: ValidationProblem[]): Promise<Qualification | null> {
    if (raw === undefined || raw === null) return null;
    const q = raw as { score?: string; qualify?: string; routes?: Array<{ when?: string; connection: string; label?: string }> };
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
      const connection = await this.o.store.getConnection(tenantId, route.connection);
      const connector = connection ? this.o.connections.pinned(connection) : null;
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
    await this.o.store.deleteSubscription(tenantId, id);
    this.o.cache.invalidate();
  }
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

function pick(input: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) if (input[key] !== undefined) out[key] = input[key];
  return out;
}
