import crypto from 'node:crypto';

import { PipedriveDeals } from './pipedrive-deals';
import { OAuthApiEmulator, parseObject, type ApiRequest, type EmulatorOptions, type IntrospectionConfig, type Reply } from './oauth-api';

/**
 * Pipedrive emulator (the `api_domain` of a linked company): organizations through API v2
 * (create, read, PATCH), leads through API v1 (create, read; leads have no v2), `/api/v1/users/me`.
 * Answers are `{success: true, data}`; errors `{success: false, error, error_info, data: null,
 * additional_data: null}`.
 *
 * It enforces what Pipedrive enforces (docs/connectors/pipedrive-conformance.md lists each with its page):
 * - The v1 organization endpoints are out of support since 2026-08-01 and "may be changed or removed
 *   without further notice" (developers.pipedrive.com/changelog/post/deprecated-apiv1-endpoints-become-out-of-support):
 *   the emulator treats them as removed, 410 naming the v2 replacement, so a connector still on them fails here.
 * - API v2's stricter input (pipedrive.readme.io/docs/pipedrive-api-v2-migration-guide): PATCH, not PUT;
 *   only the documented fields; numbers are not coerced from strings; the address is an object;
 *   custom fields only under `custom_fields`, and only ones that exist in the company (a new company has none).
 * - OAuth scopes per endpoint (pipedrive.readme.io/docs/marketplace-scopes-and-permissions-explanations):
 *   base (always granted) for /users/me, contacts:read/full for organizations, leads:read/full for leads;
 *   a token without the scope gets 403 "Scope and URL mismatch". Scopes come from the app's registration,
 *   not from the authorization request.
 * - Rate limits (pipedrive.readme.io/docs/core-api-concepts-rate-limiting): a burst limit per access
 *   token in 2-second windows with x-ratelimit-limit, -remaining and -reset on every answer; and a daily
 *   token budget of the company, spent by every request at a cost per endpoint, reset at the start of the
 *   next day (UTC). Past either the answer is 429; past the daily budget while the window has requests
 *   left, the headers still show them (that is how a client tells the two apart).
 * - Deals, lead conversion (test hooks) and the deals list the read-back sends: pipedrive-deals.ts.
 */
export interface PipedriveOptions extends EmulatorOptions {
  /** Requests allowed per access token per window; default 80 (the smallest plan's OAuth limit). */
  maxPerWindow?: number;
  /** Length of the fixed rate-limit window; default 2000 ms. */
  windowMs?: number;
  /** The company's daily token budget; default 30000 (one seat of the smallest plan). */
  dailyBudget?: number;
  /** Custom organization field keys that exist in the company; default none, as in a new company. */
  organizationFields?: string[];
  /** The company's domain shown by /users/me; default 'hookhub-test'. */
  companyDomain?: string;
}

export interface PipedriveOrganization {
  id: number;
  name: string;
  ownerId: number;
  visibleTo: number;
  labelIds: number[];
  address: Record<string, string> | null;
  customFields: Record<string, unknown>;
  createdBy: string;
  add_time: string;
  update_time: string;
  /** The body of every PATCH, in order. */
  updates: Array<Record<string, unknown>>;
}

export interface PipedriveLead {
  id: string;
  title: string;
  organization_id: number | null;
  person_id: number | null;
  fields: Record<string, unknown>;
  createdBy: string;
  add_time: string;
}

const ERROR_INFO = 'Please check developers.pipedrive.com for more information about Pipedrive API.';
const USER_ID = 1001;
const COMPANY_ID = 5001;
/** Token costs: v2 endpoints cost about half of v1's (the deprecation changelog); writes cost more than reads. */
const COST = { v1Write: 10, v1Read: 2, v2Write: 5, v2Read: 1 };
const ORG_FIELDS = new Set(['name', 'owner_id', 'add_time', 'update_time', 'visible_to', 'label_ids', 'address', 'custom_fields']);
const ADDRESS_FIELDS = new Set(['value', 'street_number', 'route', 'subpremise', 'sublocality', 'locality', 'admin_area_level_1', 'admin_area_level_2', 'country', 'postal_code']);

export class PipedriveEmulator extends OAuthApiEmulator {
  readonly organizations: PipedriveOrganization[] = [];
  readonly leads: PipedriveLead[] = [];
  /** Deals of converted leads (test hooks convertLead, setStatus) and GET /api/v2/deals. */
  readonly deals = new PipedriveDeals(this.leads, (status, message) => this.error(status, message));
  private readonly windows = new Map<string, { start: number; count: number }>();
  private budgetDay = '';
  /** Tokens of the daily budget spent today. */
  budgetSpent = 0;

  private constructor(oauth: IntrospectionConfig, private readonly options: PipedriveOptions) {
    super(oauth, options);
  }

  static async start(oauth: IntrospectionConfig, options: PipedriveOptions = {}): Promise<PipedriveEmulator> {
    const emulator = new PipedriveEmulator(oauth, options);
    await emulator.listen();
    return emulator;
  }

  /** Change the company's daily budget (e.g. to spend it in a test); the day's spending is kept. */
  setDailyBudget(tokens: number): void {
    this.options.dailyBudget = tokens;
  }

  /** Change the requests allowed per access token per window. */
  setBurstLimit(requests: number): void {
    this.options.maxPerWindow = requests;
  }

  private get max(): number {
    return this.options.maxPerWindow ?? 80;
  }
  private get windowMs(): number {
    return this.options.windowMs ?? 2000;
  }

  private error(status: number, error: string, extra: Record<string, unknown> = {}): Reply {
    return { status, body: { success: false, error, error_info: ERROR_INFO, data: null, additional_data: null, ...extra } };
  }

  protected unauthorized(): Reply {
    return { status: 401, body: { success: false, error: 'unauthorized access', errorCode: 401, error_info: ERROR_INFO } };
  }

  protected failureBody(status: number): unknown {
    if (status === 429) return { success: false, error: 'Request over limit', errorCode: 429, error_info: ERROR_INFO };
    return { success: false, error: status >= 500 ? 'Service temporarily unavailable' : 'Bad request', errorCode: status, error_info: ERROR_INFO };
  }

  private window(req: ApiRequest): { start: number; count: number } {
    const key = String(req.headers.authorization ?? '');
    const now = Date.now();
    let w = this.windows.get(key);
    if (!w || now - w.start >= this.windowMs) {
      w = { start: now, count: 0 };
      this.windows.set(key, w);
    }
    return w;
  }

  protected override admit(req: ApiRequest): Reply | undefined {
    const w = this.window(req);
    if (w.count >= this.max) return { status: 429, body: this.failureBody(429) };
    const today = new Date().toISOString().slice(0, 10);
    if (today !== this.budgetDay) {
      this.budgetDay = today;
      this.budgetSpent = 0;
    }
    const cost = costOf(req);
    // Over the daily budget: refused without using the window, whose headers still show requests left.
    if (this.budgetSpent + cost > (this.options.dailyBudget ?? 30_000)) return { status: 429, body: this.failureBody(429) };
    w.count++;
    this.budgetSpent += cost;
    return undefined;
  }

  protected override responseHeaders(req: ApiRequest): Record<string, string> {
    const w = this.window(req);
    const reset = Math.max(0, Math.ceil((w.start + this.windowMs - Date.now()) / 1000));
    return { 'x-ratelimit-limit': String(this.max), 'x-ratelimit-remaining': String(Math.max(0, this.max - w.count)), 'x-ratelimit-reset': String(reset) };
  }

  protected route(req: ApiRequest): Reply {
    const path = req.path.replace(/\/$/, '');
    const scopes = scopesFor(req.method, path);
    const granted = new Set(req.token.scope.split(/[\s,]+/));
    if (scopes && !scopes.some((s) => granted.has(s))) return { status: 403, body: { success: false, error: 'Scope and URL mismatch', errorCode: 403, error_info: ERROR_INFO } };
    if (/^\/(api\/)?v1\/organizations(\/|$)/.test(path)) {
      return this.error(410, 'This API v1 endpoint is out of support and no longer available; use /api/v2/organizations (PATCH to update).', { errorCode: 410 });
    }
    const org = /^\/api\/v2\/organizations\/(\d+)$/.exec(path);
    const lead = /^\/api\/v1\/leads\/([0-9a-f-]{36})$/.exec(path);
    if (path === '/api/v1/users/me' && req.method === 'GET') return this.me(req);
    if (path === '/api/v2/organizations' && req.method === 'POST') return this.createOrganization(req);
    if (org?.[1] && (req.method === 'GET' || req.method === 'PATCH')) return this.organization(req, Number(org[1]));
    if (org?.[1] && req.method === 'PUT') return this.error(405, 'Method PUT is not allowed; API v2 updates with PATCH.');
    if (path === '/api/v1/leads' && req.method === 'POST') return this.createLead(req);
    const deals = this.deals.route(req, path);
    if (deals) return deals;
    if (lead?.[1] && req.method === 'GET') {
      const found = this.leads.find((l) => l.id === lead[1]);
      return found ? { status: 200, body: { success: true, data: this.leadView(found) } } : this.error(404, 'Lead not found');
    }
    return this.error(404, 'Unknown method .');
  }

  private me(req: ApiRequest): Reply {
    const domain = this.options.companyDomain ?? 'hookhub-test';
    const data = {
      id: USER_ID, name: req.token.sub, email: `${req.token.sub}@example.test`, company_id: COMPANY_ID,
      company_name: 'Hookhub Test Co', company_domain: domain, company_country: 'US', active_flag: true,
      is_admin: 1, locale: 'en_US', lang: 1, timezone_name: 'UTC', default_currency: 'USD',
    };
    return { status: 200, body: { success: true, data } };
  }

  private orgView(o: PipedriveOrganization): Record<string, unknown> {
    return {
      id: o.id, name: o.name, owner_id: o.ownerId, org_id: null, add_time: o.add_time, update_time: o.update_time, visible_to: o.visibleTo,
      label_ids: o.labelIds, address: o.address, custom_fields: o.customFields, is_deleted: false,
    };
  }

  private leadView(l: PipedriveLead): Record<string, unknown> {
    return {
      id: l.id, title: l.title, owner_id: USER_ID, creator_id: USER_ID, label_ids: [], value: null, expected_close_date: null,
      ...l.fields, person_id: l.person_id, organization_id: l.organization_id, source_name: 'API', origin: 'API', channel: null,
      is_archived: false, was_seen: false, next_activity_id: null, add_time: l.add_time, update_time: l.add_time, visible_to: '3',
      cc_email: 'hookhub-test+deal1@pipedrivemail.com',
    };
  }

  /** API v2's validation of an organization body: the first problem, or undefined. */
  private invalid(body: Record<string, unknown>, creating: boolean): string | undefined {
    const unknown = Object.keys(body).filter((k) => !ORG_FIELDS.has(k));
    if (unknown.length > 0) return `Validation failed: unknown field(s) ${unknown.join(', ')}; custom fields go under custom_fields`;
    const name = body['name'];
    if ((creating || 'name' in body) && (typeof name !== 'string' || name.trim() === '')) return 'Validation failed: name: must be a non-empty string';
    for (const field of ['owner_id', 'visible_to'] as const) {
      if (field in body && !Number.isInteger(body[field])) return `Validation failed: ${field}: must be an integer`;
    }
    if ('label_ids' in body && !(Array.isArray(body['label_ids']) && body['label_ids'].every(Number.isInteger))) return 'Validation failed: label_ids: must be an array of integers';
    const address = body['address'];
    if ('address' in body && address !== null) {
      if (typeof address !== 'object' || Array.isArray(address)) return 'Validation failed: address: must be an object';
      for (const [k, v] of Object.entries(address)) {
        if (!ADDRESS_FIELDS.has(k)) return `Validation failed: address.${k}: unknown field`;
        if (typeof v !== 'string') return `Validation failed: address.${k}: must be a string`;
      }
    }
    const custom = body['custom_fields'];
    if ('custom_fields' in body) {
      if (custom === null || typeof custom !== 'object' || Array.isArray(custom)) return 'Validation failed: custom_fields: must be an object';
      const known = new Set(this.options.organizationFields ?? []);
      const missing = Object.keys(custom).filter((k) => !known.has(k));
      if (missing.length > 0) return `Validation failed: custom_fields: no such organization field ${missing.join(', ')}`;
    }
    return undefined;
  }

  private createOrganization(req: ApiRequest): Reply {
    const body = parseObject(req.rawBody);
    if (!body) return this.error(400, 'Invalid JSON body');
    const problem = this.invalid(body, true);
    if (problem) return this.error(400, problem);
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const org: PipedriveOrganization = {
      id: this.organizations.length + 1, name: String(body['name']), ownerId: (body['owner_id'] as number | undefined) ?? USER_ID,
      visibleTo: (body['visible_to'] as number | undefined) ?? 3, labelIds: (body['label_ids'] as number[] | undefined) ?? [],
      address: (body['address'] as Record<string, string> | undefined) ?? null, customFields: (body['custom_fields'] as Record<string, unknown> | undefined) ?? {},
      createdBy: req.token.sub, add_time: now, update_time: now, updates: [],
    };
    this.organizations.push(org);
    return { status: 200, body: { success: true, data: this.orgView(org), additional_data: null } };
  }

  private organization(req: ApiRequest, id: number): Reply {
    const org = this.organizations.find((o) => o.id === id);
    if (!org) return this.error(404, 'Organization not found');
    if (req.method === 'GET') return { status: 200, body: { success: true, data: this.orgView(org), additional_data: null } };
    const body = parseObject(req.rawBody);
    if (!body) return this.error(400, 'Invalid JSON body');
    const problem = this.invalid(body, false);
    if (problem) return this.error(400, problem);
    if (typeof body['name'] === 'string') org.name = body['name'];
    if ('owner_id' in body) org.ownerId = body['owner_id'] as number;
    if ('visible_to' in body) org.visibleTo = body['visible_to'] as number;
    if ('label_ids' in body) org.labelIds = body['label_ids'] as number[];
    if ('address' in body) org.address = body['address'] as Record<string, string> | null;
    if ('custom_fields' in body) Object.assign(org.customFields, body['custom_fields']);
    org.update_time = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    org.updates.push(body);
    return { status: 200, body: { success: true, data: this.orgView(org), additional_data: null } };
  }

  private createLead(req: ApiRequest): Reply {
    if (!String(req.headers['content-type'] ?? '').includes('application/json')) {
      return this.error(415, 'Unsupported Media Type: leads must be sent as application/json');
    }
    const body = parseObject(req.rawBody);
    if (!body) return this.error(400, 'Invalid JSON body');
    const title = body['title'];
    if (typeof title !== 'string' || title.trim() === '') return this.error(400, 'Validation failed: title: Parameter "title" is required');
    const orgId = body['organization_id'] ?? null;
    const personId = body['person_id'] ?? null;
    if (orgId === null && personId === null) return this.error(400, 'A lead always has to be linked to a person or an organization or both.');
    if (orgId !== null && (typeof orgId !== 'number' || !this.organizations.some((o) => o.id === orgId))) {
      return this.error(400, `Validation failed: organization_id: Organization with id ${String(orgId)} does not exist`);
    }
    if (personId !== null && typeof personId !== 'number') return this.error(400, 'Validation failed: person_id: must be an integer');
    const { title: _t, organization_id: _o, person_id: _p, id: _id, ...fields } = body;
    const created: PipedriveLead = {
      id: crypto.randomUUID(), title, organization_id: orgId as number | null, person_id: personId as number | null,
      fields, createdBy: req.token.sub, add_time: new Date().toISOString(),
    };
    this.leads.push(created);
    return { status: 201, body: { success: true, data: this.leadView(created) } };
  }
}

/** The scopes (any one of them) an endpoint needs; undefined for base endpoints, which every app has. */
function scopesFor(method: string, path: string): string[] | undefined {
  const write = method !== 'GET';
  if (/^\/api\/v[12]\/organizations(\/|$)/.test(path)) return write ? ['contacts:full'] : ['contacts:read', 'contacts:full'];
  if (/^\/api\/v1\/leads(\/|$)/.test(path)) return write ? ['leads:full'] : ['leads:read', 'leads:full'];
  if (/^\/api\/v2\/deals(\/|$)/.test(path)) return write ? ['deals:full'] : ['deals:read', 'deals:full'];
  return undefined;
}

/** The tokens a request costs from the company's daily budget. */
function costOf(req: ApiRequest): number {
  const v2 = req.path.startsWith('/api/v2/');
  const write = req.method !== 'GET';
  if (v2) return write ? COST.v2Write : COST.v2Read;
  return write ? COST.v1Write : COST.v1Read;
}
