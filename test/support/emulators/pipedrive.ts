import crypto from 'node:crypto';

import { OAuthApiEmulator, parseObject, type ApiRequest, type EmulatorOptions, type IntrospectionConfig, type Reply } from './oauth-api';

/**
 * Pipedrive API v1 emulator (the `api_domain` of a linked company): organizations
 * (create, read, update) and leads (create, read), `/api/v1/users/me`. Answers are
 * `{success: true, data}`; errors `{success: false, error, error_info, data: null,
 * additional_data: null}`. Every authenticated answer carries x-ratelimit-limit,
 * x-ratelimit-remaining and x-ratelimit-reset (seconds until the window resets).
 */
export interface PipedriveOptions extends EmulatorOptions {
  /** Requests allowed per window; default 80. */
  maxPerWindow?: number;
  /** Length of the fixed rate-limit window; default 2000 ms. */
  windowMs?: number;
  /** The company's domain shown by /users/me; default 'hookhub-test'. */
  companyDomain?: string;
}

export interface PipedriveOrganization {
  id: number;
  name: string;
  fields: Record<string, unknown>;
  createdBy: string;
  add_time: string;
  update_time: string;
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

export class PipedriveEmulator extends OAuthApiEmulator {
  readonly organizations: PipedriveOrganization[] = [];
  readonly leads: PipedriveLead[] = [];
  private windowStart = 0;
  private windowCount = 0;

  private constructor(oauth: IntrospectionConfig, private readonly options: PipedriveOptions) {
    super(oauth, options);
  }

  static async start(oauth: IntrospectionConfig, options: PipedriveOptions = {}): Promise<PipedriveEmulator> {
    const emulator = new PipedriveEmulator(oauth, options);
    await emulator.listen();
    return emulator;
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

  protected override admit(): Reply | undefined {
    const now = Date.now();
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.windowCount = 0;
    }
    if (this.windowCount >= this.max) return { status: 429, body: this.failureBody(429) };
    this.windowCount++;
    return undefined;
  }

  protected override responseHeaders(): Record<string, string> {
    const reset = Math.max(0, Math.ceil((this.windowStart + this.windowMs - Date.now()) / 1000));
    return {
      'x-ratelimit-limit': String(this.max),
      'x-ratelimit-remaining': String(Math.max(0, this.max - this.windowCount)),
      'x-ratelimit-reset': String(reset),
    };
  }

  protected route(req: ApiRequest): Reply {
    const path = req.path.replace(/\/$/, '');
    const org = /^\/api\/v1\/organizations\/(\d+)$/.exec(path);
    const lead = /^\/api\/v1\/leads\/([0-9a-f-]{36})$/.exec(path);
    if (path === '/api/v1/users/me' && req.method === 'GET') return this.me(req);
    if (path === '/api/v1/organizations' && req.method === 'POST') return this.createOrganization(req);
    if (org?.[1] && (req.method === 'GET' || req.method === 'PUT')) return this.organization(req, Number(org[1]));
    if (path === '/api/v1/leads' && req.method === 'POST') return this.createLead(req);
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
      ...o.fields, id: o.id, company_id: COMPANY_ID, owner_id: { id: USER_ID, name: o.createdBy, value: USER_ID },
      name: o.name, active_flag: true, add_time: o.add_time, update_time: o.update_time, visible_to: String(o.fields['visible_to'] ?? '3'),
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

  private createOrganization(req: ApiRequest): Reply {
    const body = parseObject(req.rawBody);
    if (!body) return this.error(400, 'Invalid JSON body');
    const name = body['name'];
    if (typeof name !== 'string' || name.trim() === '') return this.error(400, 'Name must be given.');
    const { name: _name, id: _id, ...fields } = body;
    const now = pipedriveTime();
    const org = { id: this.organizations.length + 1, name, fields, createdBy: req.token.sub, add_time: now, update_time: now, updates: [] };
    this.organizations.push(org);
    return { status: 201, body: { success: true, data: this.orgView(org) } };
  }

  private organization(req: ApiRequest, id: number): Reply {
    const org = this.organizations.find((o) => o.id === id);
    if (!org) return this.error(404, 'Organization not found.');
    if (req.method === 'GET') return { status: 200, body: { success: true, data: this.orgView(org) } };
    const body = parseObject(req.rawBody);
    if (!body) return this.error(400, 'Invalid JSON body');
    if ('name' in body && (typeof body['name'] !== 'string' || body['name'].trim() === '')) return this.error(400, 'Name must be given.');
    const { name, id: _id, ...fields } = body;
    if (typeof name === 'string') org.name = name;
    Object.assign(org.fields, fields);
    org.update_time = pipedriveTime();
    org.updates.push(body);
    return { status: 200, body: { success: true, data: this.orgView(org) } };
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

/** Pipedrive's "YYYY-MM-DD HH:MM:SS" (UTC) timestamps of v1 organizations. */
function pipedriveTime(): string {
  return new Date().toISOString().replace('T', ' ').slice(0, 19);
}
