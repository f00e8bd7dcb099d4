import crypto from 'node:crypto';

import { systemClock, type Clock } from '../../../src/core/clock';

import { HubSpotDeals } from './hubspot-deals';
import { OAuthApiEmulator, parseObject, type ApiRequest, type AuthFailure, type EmulatorOptions, type IntrospectionConfig, type RecordedRequest, type Reply } from './oauth-api';

/**
 * HubSpot CRM v3 emulator (api.hubapi.com): companies (create, read, list, PATCH,
 * batch upsert by a unique property) and notes with associations. Property values
 * are stored and answered as strings, as HubSpot does. Errors are
 * `{status: 'error', message, correlationId, category, ...}`. Every authenticated
 * answer carries the X-HubSpot-RateLimit-* headers; past `maxPerInterval` requests
 * in the rolling interval the answer is 429 TEN_SECONDLY_ROLLING.
 *
 * It enforces what HubSpot enforces (docs/connectors/hubspot-conformance.md lists each with its page):
 * - OAuth scopes per endpoint (SCOPES below): a token without one gets 403 MISSING_SCOPES with
 *   requiredGranularScopes. Notes need crm.objects.contacts.* (developers.hubspot.com/docs/api-reference/latest/crm/activities/notes/guide).
 * - Only properties that exist in the portal: the default company properties of a new portal, the
 *   unique properties and the custom ones the test says the customer created; anything else is 400
 *   VALIDATION_ERROR with PROPERTY_DOESNT_EXIST in the message (developers.hubspot.com/changelog/upcoming-property-validations-rules-will-be-enforced-for-apis-and-integrations).
 *   GET /crm/v3/properties/companies/{name} answers a property's definition (hasUniqueValue) or 404
 *   OBJECT_NOT_FOUND (developers.hubspot.com/docs/api-reference/latest/crm/properties/get-property);
 *   `createProperty` is the customer creating one in Settings > Properties.
 * - The token endpoint of the current OAuth API, POST /oauth/2026-03/token, with every parameter in the
 *   form body (none in the query), forwarded to the test authorization server; /oauth/v1/token is gone
 *   (404), as from HubSpot's sunset on 2027-02-16
 *   (developers.hubspot.com/docs/api-reference/legacy/authentication/oauth-tokens/v1/migration-guide).
 * - Deals on companies and the association and batch reads the read-back sends: hubspot-deals.ts.
 */
export interface HubSpotOptions extends EmulatorOptions {
  /** Requests allowed per rolling interval; default 100 (HubSpot's OAuth app limit per 10 s). */
  maxPerInterval?: number;
  /** Length of the rolling interval; default 10000 ms. */
  intervalMs?: number;
  /** Requests allowed per day; default 250000. */
  dailyLimit?: number;
  /** Send Retry-After (seconds) on 429; HubSpot does not document one, so it is off by default. */
  retryAfterSeconds?: number;
  /** Company properties with "unique value" set, usable as idProperty; default ['hookhub_id']. */
  uniqueProperties?: string[];
  /** Further custom company properties that exist in the portal. */
  customProperties?: string[];
  /** What time the rolling interval is counted in (a ManualClock lets a test move past it without waiting). */
  clock?: Clock;
}

export interface HubSpotObject {
  id: string;
  properties: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  archived: false;
  createdBy: string;
}

export interface HubSpotNote extends HubSpotObject {
  associations: Array<{ toObjectId: string; associationCategory: string; associationTypeId: number }>;
}

const COMPANY_PROPERTIES = [
  'name', 'domain', 'website', 'phone', 'address', 'address2', 'city', 'state', 'zip', 'country', 'industry',
  'description', 'numberofemployees', 'annualrevenue', 'lifecyclestage', 'hubspot_owner_id', 'type', 'linkedin_company_page',
];
const NOTE_PROPERTIES = ['hs_note_body', 'hs_timestamp', 'hubspot_owner_id', 'hs_attachment_ids'];
/** HUBSPOT_DEFINED association type "note to company". */
export const NOTE_TO_COMPANY = 190;

/** The path of the current OAuth token endpoint; the v1 one is gone. */
export const TOKEN_PATH = '/oauth/2026-03/token';

/** The scope each endpoint needs (one of them), as HubSpot's reference lists it per API. */
const SCOPES: Array<{ method: string; path: RegExp; scopes: string[] }> = [
  { method: 'GET', path: /^\/crm\/v3\/objects\/companies(\/[^/]+)?$/, scopes: ['crm.objects.companies.read'] },
  { method: 'POST', path: /^\/crm\/v3\/objects\/companies(\/batch\/upsert)?$/, scopes: ['crm.objects.companies.write'] },
  { method: 'PATCH', path: /^\/crm\/v3\/objects\/companies\/[^/]+$/, scopes: ['crm.objects.companies.write'] },
  { method: 'POST', path: /^\/crm\/v3\/objects\/notes$/, scopes: ['crm.objects.contacts.write'] },
  // Deals (developers.hubspot.com/docs/api-reference/legacy/crm/objects/deals/batch/read-deals: crm.objects.deals.read);
  // reading a company's deal associations needs to read deals too (as modelled here).
  { method: 'POST', path: /^\/crm\/v3\/objects\/deals\/batch\/read$/, scopes: ['crm.objects.deals.read'] },
  { method: 'POST', path: /^\/crm\/v4\/associations\/companies\/deals\/batch\/read$/, scopes: ['crm.objects.deals.read'] },
  // Reading a company property's definition: one of the Properties API's scopes ("This API requires one
  // of the following scopes", developers.hubspot.com/docs/api-reference/latest/crm/properties/guide,
  // which lists crm.objects.companies.read), or the schema scope the company properties endpoints name
  // (developers.hubspot.com/docs/methods/companies/get_company_property: crm.schemas.companies.read).
  // The guide's list names many more scopes (other objects, sensitive data); only these two are modelled.
  { method: 'GET', path: /^\/crm\/v3\/properties\/companies\/[^/]+$/, scopes: ['crm.objects.companies.read', 'crm.schemas.companies.read'] },
];

export class HubSpotEmulator extends OAuthApiEmulator {
  readonly companies: HubSpotObject[] = [];
  readonly notes: HubSpotNote[] = [];
  /** Deals on companies (test hooks createDeal, setStage) and the read-back's endpoints. */
  readonly deals = new HubSpotDeals((status, category, message) => this.error(status, category, message));
  /** Times of the requests admitted in the current rolling interval, and today. */
  private window: number[] = [];
  private daily = 0;
  private seq = 0;

  private constructor(oauth: IntrospectionConfig, private readonly options: HubSpotOptions) {
    super(oauth, options);
  }

  static async start(oauth: IntrospectionConfig, options: HubSpotOptions = {}): Promise<HubSpotEmulator> {
    const emulator = new HubSpotEmulator(oauth, options);
    await emulator.listen();
    return emulator;
  }

  /** The customer creates a company property in Settings > Properties (unique: "Has unique values" on). */
  createProperty(name: string, unique = false): void {
    if (unique) this.options.uniqueProperties = [...(this.options.uniqueProperties ?? ['hookhub_id']), name];
    else this.options.customProperties = [...(this.options.customProperties ?? []), name];
  }

  /** Changes the rolling-window limit (e.g. a tighter one for one test). */
  setRateLimit(maxPerInterval: number, intervalMs: number): void {
    this.options.maxPerInterval = maxPerInterval;
    this.options.intervalMs = intervalMs;
    this.window = [];
  }

  private get max(): number {
    return this.options.maxPerInterval ?? 100;
  }
  private get interval(): number {
    return this.options.intervalMs ?? 10_000;
  }
  private get dailyLimit(): number {
    return this.options.dailyLimit ?? 250_000;
  }

  private error(status: number, category: string, message: string, extra: Record<string, unknown> = {}): Reply {
    return { status, body: { status: 'error', message, correlationId: crypto.randomUUID(), category, ...extra } };
  }

  protected unauthorized(reason: AuthFailure): Reply {
    if (reason === 'expired') return this.error(401, 'EXPIRED_AUTHENTICATION', 'The OAuth token used to make this call expired.');
    return this.error(401, 'INVALID_AUTHENTICATION', 'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview');
  }

  protected failureBody(status: number): unknown {
    if (status === 429) return this.rateLimited('TEN_SECONDLY_ROLLING').body;
    if (status >= 500) return this.error(status, 'INTERNAL_ERROR', 'internal error').body;
    return this.error(status, 'VALIDATION_ERROR', 'injected failure').body;
  }

  private rateLimited(policy: 'TEN_SECONDLY_ROLLING' | 'DAILY'): Reply {
    const message = policy === 'DAILY' ? 'You have reached your daily limit.' : 'You have reached your ten_secondly_rolling limit.';
    const reply = this.error(429, 'RATE_LIMITS', message, { errorType: 'RATE_LIMIT', policyName: policy, requestId: crypto.randomUUID() });
    if (this.options.retryAfterSeconds !== undefined) reply.headers = { 'retry-after': String(this.options.retryAfterSeconds) };
    return reply;
  }

  protected override admit(): Reply | undefined {
    const now = (this.options.clock ?? systemClock).now();
    this.window = this.window.filter((t) => now - t < this.interval);
    if (this.daily >= this.dailyLimit) return this.rateLimited('DAILY');
    if (this.window.length >= this.max) return this.rateLimited('TEN_SECONDLY_ROLLING');
    this.window.push(now);
    this.daily++;
    return undefined;
  }

  protected override responseHeaders(): Record<string, string> {
    return {
      'x-hubspot-ratelimit-daily': String(this.dailyLimit),
      'x-hubspot-ratelimit-daily-remaining': String(Math.max(0, this.dailyLimit - this.daily)),
      'x-hubspot-ratelimit-interval-milliseconds': String(this.interval),
      'x-hubspot-ratelimit-max': String(this.max),
      'x-hubspot-ratelimit-remaining': String(Math.max(0, this.max - this.window.length)),
    };
  }

  protected override async unauthenticated(method: string, path: string, request?: RecordedRequest): Promise<Reply | undefined> {
    if (path === '/oauth/v1/token' || path.startsWith('/oauth/v1/')) {
      return this.error(404, 'OBJECT_NOT_FOUND', 'The OAuth v1 API was retired on 2027-02-16; use POST /oauth/2026-03/token.');
    }
    if (path !== TOKEN_PATH) return undefined;
    if (method !== 'POST') return this.error(405, 'VALIDATION_ERROR', `${method} is not allowed; use POST`);
    if (request && [...request.query.keys()].length > 0) {
      return this.error(400, 'VALIDATION_ERROR', 'The token endpoint takes its parameters in the form-encoded body, not in the query string');
    }
    // The test authorization server issues the tokens; this endpoint forwards to its /token.
    const target = this.oauth.introspectionUrl.replace(/\/introspection$/, '');
    const res = await fetch(target, {
      method: 'POST',
      headers: { 'content-type': String(request?.headers['content-type'] ?? 'application/x-www-form-urlencoded'), accept: 'application/json' },
      body: request?.body ?? '',
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined, headers: { 'cache-control': 'no-store' } };
  }

  /** 403 MISSING_SCOPES when the token has none of the scopes the endpoint needs. */
  private missingScopes(req: ApiRequest, path: string): Reply | undefined {
    const rule = SCOPES.find((r) => r.method === req.method && r.path.test(path));
    if (!rule) return undefined;
    const granted = req.token.scope.split(/\s+/);
    if (rule.scopes.some((s) => granted.includes(s))) return undefined;
    return this.error(403, 'MISSING_SCOPES', "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.", {
      errors: [{ message: 'One or more of the following scopes are required.', context: { requiredGranularScopes: rule.scopes } }],
      links: { scopes: 'https://developers.hubspot.com/scopes' },
    });
  }

  protected route(req: ApiRequest): Reply {
    const path = req.path.replace(/\/$/, '');
    const refused = this.missingScopes(req, path);
    if (refused) return refused;
    const company = /^\/crm\/v3\/objects\/companies\/([^/]+)$/.exec(path);
    if (path === '/crm/v3/objects/companies' && req.method === 'GET') return this.list(req);
    if (path === '/crm/v3/objects/companies' && req.method === 'POST') return this.createCompany(req);
    if (path === '/crm/v3/objects/companies/batch/upsert' && req.method === 'POST') return this.batchUpsert(req);
    if (company?.[1] && (req.method === 'GET' || req.method === 'PATCH')) return this.companyById(req, decodeURIComponent(company[1]));
    if (path === '/crm/v3/objects/notes' && req.method === 'POST') return this.createNote(req);
    const deals = this.deals.route(req, path);
    if (deals) return deals;
    const property = /^\/crm\/v3\/properties\/companies\/([^/]+)$/.exec(path);
    if (property?.[1] && req.method === 'GET') return this.property(decodeURIComponent(property[1]));
    return { status: 404, body: undefined };
  }

  /** A company property's definition (GET /crm/v3/properties/companies/{propertyName}); 404 OBJECT_NOT_FOUND when the portal has none. */
  private property(name: string): Reply {
    if (!this.companyProperties().includes(name)) return this.error(404, 'OBJECT_NOT_FOUND', `Unable to find property ${name} for object type 0-2`);
    const custom = !COMPANY_PROPERTIES.includes(name);
    const hasUniqueValue = (this.options.uniqueProperties ?? ['hookhub_id']).includes(name);
    return { status: 200, body: { name, label: name, type: 'string', fieldType: 'text', groupName: 'companyinformation', hasUniqueValue, hidden: false, formField: custom, calculated: false, externalOptions: false, modificationMetadata: { archivable: custom, readOnlyDefinition: !custom, readOnlyValue: false } } };
  }

  private view(o: HubSpotObject, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { id: o.id, properties: o.properties, createdAt: o.createdAt, updatedAt: o.updatedAt, archived: o.archived, ...extra };
  }

  /** Checks property names and turns values into strings; the error reply if one does not exist. */
  private properties(input: unknown, known: string[]): { props: Record<string, string> } | { error: Reply } {
    if (input === undefined) return { props: {} };
    if (input === null || typeof input !== 'object' || Array.isArray(input)) return { error: this.error(400, 'VALIDATION_ERROR', 'Invalid input JSON: properties must be an object') };
    const props: Record<string, string> = {};
    const invalid: Array<Record<string, unknown>> = [];
    for (const [name, value] of Object.entries(input as Record<string, unknown>)) {
      if (!known.includes(name)) invalid.push({ isValid: false, message: `Property "${name}" does not exist`, error: 'PROPERTY_DOESNT_EXIST', name });
      else props[name] = value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
    }
    if (invalid.length > 0) return { error: this.error(400, 'VALIDATION_ERROR', `Property values were not valid: ${JSON.stringify(invalid)}`) };
    return { props };
  }

  private companyProperties(): string[] {
    return [...COMPANY_PROPERTIES, ...(this.options.uniqueProperties ?? ['hookhub_id']), ...(this.options.customProperties ?? [])];
  }

  private newObject(req: ApiRequest, props: Record<string, string>, createdKey: 'createdate' | 'hs_createdate'): HubSpotObject {
    const id = String(10_000_000_000 + ++this.seq);
    const now = new Date().toISOString();
    return { id, properties: { ...props, [createdKey]: now, hs_lastmodifieddate: now, hs_object_id: id }, createdAt: now, updatedAt: now, archived: false, createdBy: req.token.sub };
  }

  private touch(o: HubSpotObject, props: Record<string, string>): void {
    const now = new Date().toISOString();
    Object.assign(o.properties, props, { hs_lastmodifieddate: now });
    o.updatedAt = now;
  }

  private list(req: ApiRequest): Reply {
    const limit = Math.min(Math.max(Number(req.query.get('limit') ?? 10) || 10, 1), 100);
    const after = Number(req.query.get('after') ?? 0) || 0;
    const page = this.companies.slice(after, after + limit).map((c) => this.view(c));
    const next = after + limit < this.companies.length ? { paging: { next: { after: String(after + limit), link: `${this.url}${req.path}?after=${after + limit}` } } } : {};
    return { status: 200, body: { results: page, ...next } };
  }

  private createCompany(req: ApiRequest): Reply {
    const body = parseObject(req.rawBody);
    if (!body) return this.error(400, 'VALIDATION_ERROR', 'Invalid input JSON on line 1');
    const checked = this.properties(body['properties'], this.companyProperties());
    if ('error' in checked) return checked.error;
    const company = this.newObject(req, checked.props, 'createdate');
    this.companies.push(company);
    return { status: 201, body: this.view(company) };
  }

  private companyById(req: ApiRequest, id: string): Reply {
    const idProperty = req.query.get('idProperty');
    const found = this.companies.find((c) => (idProperty ? c.properties[idProperty] === id : c.id === id));
    if (!found) return this.error(404, 'OBJECT_NOT_FOUND', 'resource not found');
    if (req.method === 'GET') return { status: 200, body: this.view(found) };
    const body = parseObject(req.rawBody);
    if (!body) return this.error(400, 'VALIDATION_ERROR', 'Invalid input JSON on line 1');
    const checked = this.properties(body['properties'], this.companyProperties());
    if ('error' in checked) return checked.error;
    this.touch(found, checked.props);
    return { status: 200, body: this.view(found) };
  }

  private batchUpsert(req: ApiRequest): Reply {
    const startedAt = new Date().toISOString();
    const inputs = parseObject(req.rawBody)?.['inputs'];
    if (!Array.isArray(inputs) || inputs.length === 0) return this.error(400, 'VALIDATION_ERROR', 'Invalid input JSON: inputs must be a non-empty array');
    if (inputs.length > 100) return this.error(400, 'VALIDATION_ERROR', 'Batch input limit exceeded: at most 100 inputs');
    const unique = this.options.uniqueProperties ?? ['hookhub_id'];
    const planned: Array<{ idProperty: string; id: string; props: Record<string, string> }> = [];
    for (const input of inputs as Array<Record<string, unknown>>) {
      const idProperty = input?.['idProperty'];
      const id = input?.['id'];
      if (typeof idProperty !== 'string' || typeof id !== 'string' || id === '') {
        return this.error(400, 'VALIDATION_ERROR', 'Each input needs a string id and the idProperty it refers to');
      }
      if (!unique.includes(idProperty)) {
        return this.error(400, 'VALIDATION_ERROR', `Property ${idProperty} is not a unique property of companies and cannot be used as idProperty`);
      }
      const checked = this.properties(input['properties'], this.companyProperties());
      if ('error' in checked) return checked.error;
      if (planned.some((p) => p.idProperty === idProperty && p.id === id)) return this.error(400, 'VALIDATION_ERROR', `Duplicate IDs found in batch input: [${id}]`);
      planned.push({ idProperty, id, props: checked.props });
    }
    const results = planned.map(({ idProperty, id, props }) => {
      const existing = this.companies.find((c) => c.properties[idProperty] === id);
      if (existing) {
        this.touch(existing, props);
        return this.view(existing, { new: false });
      }
      const company = this.newObject(req, { ...props, [idProperty]: id }, 'createdate');
      this.companies.push(company);
      return this.view(company, { new: true });
    });
    return { status: 200, body: { status: 'COMPLETE', results, startedAt, completedAt: new Date().toISOString() } };
  }

  private createNote(req: ApiRequest): Reply {
    const body = parseObject(req.rawBody);
    if (!body) return this.error(400, 'VALIDATION_ERROR', 'Invalid input JSON on line 1');
    const checked = this.properties(body['properties'], NOTE_PROPERTIES);
    if ('error' in checked) return checked.error;
    if (!checked.props['hs_timestamp']) {
      return this.error(400, 'VALIDATION_ERROR', 'Property values were not valid: [{"isValid":false,"message":"hs_timestamp is required","error":"REQUIRED_PROPERTY","name":"hs_timestamp"}]');
    }
    const associations: HubSpotNote['associations'] = [];
    for (const a of (Array.isArray(body['associations']) ? body['associations'] : []) as Array<Record<string, unknown>>) {
      const toId = String((a?.['to'] as Record<string, unknown> | undefined)?.['id'] ?? '');
      const types = Array.isArray(a?.['types']) ? (a['types'] as Array<Record<string, unknown>>) : [];
      if (types.length === 0) return this.error(400, 'VALIDATION_ERROR', 'Each association needs at least one type');
      for (const t of types) {
        const category = t['associationCategory'];
        const typeId = Number(t['associationTypeId']);
        if (category !== 'HUBSPOT_DEFINED' || typeId !== NOTE_TO_COMPANY) {
          return this.error(400, 'VALIDATION_ERROR', `Association type ${String(category)}/${String(t['associationTypeId'])} is not supported by this emulator (only HUBSPOT_DEFINED/190, note to company)`);
        }
        if (!this.companies.some((c) => c.id === toId)) {
          return this.error(400, 'VALIDATION_ERROR', `One or more associations are invalid: company ${toId} does not exist`);
        }
        associations.push({ toObjectId: toId, associationCategory: category, associationTypeId: typeId });
      }
    }
    const note: HubSpotNote = { ...this.newObject(req, checked.props, 'hs_createdate'), associations };
    this.notes.push(note);
    return { status: 201, body: this.view(note) };
  }
}
