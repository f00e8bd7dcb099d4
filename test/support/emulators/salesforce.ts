import { OAuthApiEmulator, parseObject, type ApiRequest, type EmulatorOptions, type IntrospectionConfig, type Reply } from './oauth-api';
import { LeadConversions, type Opportunity } from './salesforce-conversions';
import { checkAddress, DEFAULT_COUNTRIES, DEFAULT_US_STATES, NEW_ORG_PICKLISTS, picklistDefaults, restrictedRefusal, tooLong, type PicklistField, type Picklists } from './salesforce-rules';

/**
 * Salesforce REST API emulator (the `instance_url` of a linked org), after the
 * REST API Developer Guide: sObject create, update and upsert by external ID for
 * Lead and Case under /services/data/vXX.X/, errors as `[{message, errorCode, fields?}]`,
 * `Sforce-Limit-Info: api-usage=N/LIMIT` on every authenticated answer.
 * Field names are case-insensitive, as in Salesforce, and stored under their canonical name.
 * Enforced as the docs say (docs/connectors/salesforce-conformance.md lists each with its page):
 * required fields, field lengths (STRING_TOO_LONG) and State and Country/Territory picklists
 * (salesforce-rules.ts); upsert by external id answers 300 with the matching records' URLs when the
 * value matches several (resources_sobject_upsert_patch.htm), and `updateOnly=true` (documented from
 * API 61.0) answers 404 instead of creating a record. GET /sobjects/{sObject}/describe lists the
 * org's fields with externalId and unique, and its picklists' values (resources_sobject_describe.htm).
 * Picklists (NEW_ORG_PICKLISTS, as a new org has them): a field not sent gets the picklist's default
 * (Lead Status "Open - Not Contacted", Case Status "New"); standard picklists are unrestricted, so a
 * value outside the list is stored; a restricted one refuses it with INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST.
 * Lead conversion, Opportunity stages and the SOQL query of Leads: salesforce-conversions.ts.
 */
export interface SalesforceOptions extends EmulatorOptions {
  /** External ID fields per sObject, usable in upsert paths; default `{Lead: ['Hookhub_Id__c'], Case: ['Hookhub_Id__c']}`. */
  externalIdFields?: Partial<Record<SObjectName, string[]>>;
  /** Further custom fields accepted per sObject. */
  customFields?: Partial<Record<SObjectName, string[]>>;
  /** Daily API request limit shown in Sforce-Limit-Info; past it: 403 REQUEST_LIMIT_EXCEEDED. Default 15000. */
  dailyApiLimit?: number;
  /**
   * State and Country/Territory picklists, on by default as in new orgs: false for an org without
   * them, or the integration values the org set (code → value; defaults: the ISO names).
   */
  picklists?: false | { countries?: Record<string, string>; usStates?: Record<string, string> };
  /** The org's own values, default or restriction of a picklist field (e.g. Lead Status values an admin renamed); others as in a new org. */
  picklistFields?: Partial<Record<SObjectName, Record<string, Partial<PicklistField>>>>;
}

export type SObjectName = 'Lead' | 'Case';

export interface SalesforceRecord {
  sobject: SObjectName;
  id: string;
  fields: Record<string, unknown>;
  /** The token's account (sub) that created it. */
  createdBy: string;
  createdAt: string;
  /** Bodies of later updates (PATCH by id or upsert that matched). */
  updates: Array<Record<string, unknown>>;
}

const STANDARD_FIELDS: Record<SObjectName, string[]> = {
  Lead: [
    'Salutation', 'FirstName', 'MiddleName', 'LastName', 'Suffix', 'Title', 'Company', 'Street', 'City', 'State',
    'PostalCode', 'Country', 'Phone', 'MobilePhone', 'Fax', 'Email', 'Website', 'Description', 'LeadSource', 'Status',
    'Industry', 'Rating', 'AnnualRevenue', 'NumberOfEmployees', 'OwnerId', 'HasOptedOutOfEmail', 'DoNotCall',
  ],
  Case: [
    'Subject', 'Description', 'Priority', 'Origin', 'Status', 'Type', 'Reason', 'SuppliedName', 'SuppliedEmail',
    'SuppliedPhone', 'SuppliedCompany', 'ContactId', 'AccountId', 'ParentId', 'OwnerId', 'IsEscalated',
  ],
};
const REQUIRED: Record<SObjectName, string[]> = { Lead: ['LastName', 'Company'], Case: [] };
const KEY_PREFIX: Record<SObjectName, string> = { Lead: '00Q', Case: '500' };
const NOT_FOUND = [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }];

export class SalesforceEmulator extends OAuthApiEmulator {
  readonly records: SalesforceRecord[] = [];
  /** Authenticated API requests counted today (what Sforce-Limit-Info shows). */
  apiUsage = 0;
  /** Opportunities of converted Leads, and the SOQL queries answered. */
  readonly conversions = new LeadConversions();
  private seq = 0;

  private constructor(oauth: IntrospectionConfig, private readonly options: SalesforceOptions) {
    super(oauth, options);
  }

  static async start(oauth: IntrospectionConfig, options: SalesforceOptions = {}): Promise<SalesforceEmulator> {
    const emulator = new SalesforceEmulator(oauth, options);
    await emulator.listen();
    return emulator;
  }

  get leads(): SalesforceRecord[] {
    return this.records.filter((r) => r.sobject === 'Lead');
  }

  get cases(): SalesforceRecord[] {
    return this.records.filter((r) => r.sobject === 'Case');
  }

  private get limit(): number {
    return this.options.dailyApiLimit ?? 15000;
  }

  private get picklists(): Picklists | null {
    const option = this.options.picklists ?? {};
    if (option === false) return null;
    return { countries: option.countries ?? DEFAULT_COUNTRIES, states: { US: option.usStates ?? DEFAULT_US_STATES } };
  }

  /** The org's picklists of an sObject: a new org's, with what the test says its admin changed. */
  private picklistFields(sobject: SObjectName): Record<string, PicklistField> {
    const own = this.options.picklistFields?.[sobject] ?? {};
    const out: Record<string, PicklistField> = {};
    for (const name of new Set([...Object.keys(NEW_ORG_PICKLISTS[sobject]), ...Object.keys(own)])) {
      const base = NEW_ORG_PICKLISTS[sobject][name] ?? { label: name, values: [], default: null, restricted: false };
      out[name] = { ...base, ...own[name] };
    }
    return out;
  }

  /** Puts a record in the org as its users would (e.g. a duplicate external id value, which the API's upsert cannot make). */
  seed(sobject: SObjectName, fields: Record<string, unknown>): SalesforceRecord {
    this.seq++;
    const record = { sobject, id: `${KEY_PREFIX[sobject]}5g${String(this.seq).padStart(10, '0')}AAK`, fields: { ...picklistDefaults(this.picklistFields(sobject)), ...fields }, createdBy: 'seed', createdAt: new Date().toISOString(), updates: [] };
    this.records.push(record);
    return record;
  }

  /** Converts a Lead into an Opportunity, as a sales user does in the org (test hook). */
  convertLead(leadId: string, options: { amount?: number | null; stage?: string } = {}): Opportunity {
    const lead = this.findById('Lead', leadId);
    if (!lead) throw new Error(`no Lead ${leadId}`);
    return this.conversions.convert(lead, options);
  }

  private externalIds(sobject: SObjectName): string[] {
    return this.options.externalIdFields?.[sobject] ?? ['Hookhub_Id__c'];
  }

  protected unauthorized(): Reply {
    return {
      status: 401,
      headers: { 'www-authenticate': 'Token' },
      body: [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }],
    };
  }

  protected failureBody(status: number): unknown {
    if (status === 403 || status === 429) return [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }];
    if (status === 503) return [{ message: 'Server temporarily unavailable', errorCode: 'SERVER_UNAVAILABLE' }];
    return [{ message: 'An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-1)', errorCode: 'UNKNOWN_EXCEPTION' }];
  }

  protected override unauthenticated(method: string, path: string): Reply | undefined {
    if (method === 'GET' && (path === '/services/data' || path === '/services/data/')) {
      return { status: 200, body: ['58.0', '59.0', '60.0', '61.0', '62.0'].map((version) => ({ label: `v${version}`, url: `/services/data/v${version}`, version })) };
    }
    return undefined;
  }

  protected override admit(): Reply | undefined {
    if (this.apiUsage >= this.limit) return { status: 403, body: this.failureBody(403) };
    this.apiUsage++;
    return undefined;
  }

  protected override responseHeaders(): Record<string, string> {
    return { 'sforce-limit-info': `api-usage=${this.apiUsage}/${this.limit}` };
  }

  protected route(req: ApiRequest): Reply {
    const m = /^\/services\/data\/v(\d+\.\d)(\/.*)$/.exec(req.path);
    if (!m?.[1] || !m[2]) return { status: 404, body: NOT_FOUND };
    const version = Number(m[1]);
    const rest = m[2].replace(/\/$/, '');
    if (req.method === 'GET' && rest === '/limits') {
      return { status: 200, body: { DailyApiRequests: { Max: this.limit, Remaining: this.limit - this.apiUsage } } };
    }
    if (req.method === 'GET' && rest === '/query') return this.conversions.query(req.query.get('q'), this.leads, m[1]);
    if (req.method === 'GET' && rest === '/sobjects') {
      const sobjects = (['Lead', 'Case'] as const).map((name) => ({ name, label: name, keyPrefix: KEY_PREFIX[name], createable: true, updateable: true }));
      return { status: 200, body: { encoding: 'UTF-8', maxBatchSize: 200, sobjects } };
    }
    const parts = rest.split('/').slice(1).map(decodeURIComponent);
    if (parts[0] !== 'sobjects' || (parts[1] !== 'Lead' && parts[1] !== 'Case')) return { status: 404, body: NOT_FOUND };
    const sobject: SObjectName = parts[1];
    if (parts.length === 2 && req.method === 'POST') return this.create(req, sobject);
    if (parts.length === 3 && req.method === 'PATCH') return this.updateById(req, sobject, parts[2] ?? '');
    if (parts.length === 4 && req.method === 'PATCH') return this.upsert(req, sobject, parts[2] ?? '', parts[3] ?? '', version);
    if (parts.length === 3 && parts[2] === 'describe' && req.method === 'GET') return this.describe(sobject);
    if (parts.length === 3 && req.method === 'GET') {
      const record = this.findById(sobject, parts[2] ?? '');
      return record ? { status: 200, body: { attributes: { type: sobject }, Id: record.id, ...record.fields } } : { status: 404, body: NOT_FOUND };
    }
    return { status: 405, body: [{ errorCode: 'METHOD_NOT_ALLOWED', message: `HTTP Method '${req.method}' not allowed. Allowed are GET,PATCH,POST` }] };
  }

  /**
   * The sObject's describe (GET /sobjects/{sObject}/describe, resources_sobject_describe.htm): its
   * fields with name, type, custom, externalId and unique, as the org has them.
   */
  private describe(sobject: SObjectName): Reply {
    const externalIds = this.externalIds(sobject);
    const field = (name: string, more: Record<string, unknown> = {}): Record<string, unknown> => ({ name, label: name, type: 'string', custom: name.endsWith('__c'), externalId: false, unique: false, createable: true, updateable: true, ...more });
    const picklists = this.picklistFields(sobject);
    const picklist = (name: string): Record<string, unknown> => {
      const list = picklists[name];
      if (!list) return {};
      const picklistValues = list.values.map((value) => ({ active: true, defaultValue: value === list.default, label: value, validFor: null, value }));
      return { type: 'picklist', label: list.label, picklistValues, restrictedPicklist: list.restricted, defaultedOnCreate: list.default !== null };
    };
    const fields = [
      field('Id', { type: 'id', createable: false, updateable: false }),
      ...STANDARD_FIELDS[sobject].map((name) => field(name, picklist(name))),
      ...externalIds.map((name) => field(name, { externalId: true, unique: true, idLookup: true })),
      ...(this.options.customFields?.[sobject] ?? []).map((name) => field(name)),
    ];
    return { status: 200, body: { name: sobject, label: sobject, custom: false, keyPrefix: KEY_PREFIX[sobject], createable: true, updateable: true, fields } };
  }

  /** Parses and checks a body: canonical field names, or the error reply. */
  private fields(req: ApiRequest, sobject: SObjectName): Fields {
    const body = parseObject(req.rawBody);
    if (!body) return { error: { status: 400, body: [{ message: 'Unexpected character: the request body is not a JSON object', errorCode: 'JSON_PARSER_ERROR' }] } };
    const picklistFields = sobject === 'Lead' && this.picklists ? ['StateCode', 'CountryCode'] : [];
    const known = [...STANDARD_FIELDS[sobject], ...picklistFields, ...this.externalIds(sobject), ...(this.options.customFields?.[sobject] ?? [])];
    const out: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(body)) {
      if (name === 'attributes') continue;
      const canonical = known.find((k) => k.toLowerCase() === name.toLowerCase());
      if (!canonical) return { error: { status: 400, body: [{ message: `No such column '${name}' on sobject of type ${sobject}`, errorCode: 'INVALID_FIELD' }] } };
      out[canonical] = value;
    }
    const refused = tooLong(sobject, out) ?? restrictedRefusal(this.picklistFields(sobject), out);
    if (refused) return { error: refused };
    return { fields: out };
  }

  /** The org's picklist checks of a write to `current` (empty on create); syncs the code and value fields in `fields`. */
  private address(sobject: SObjectName, current: Record<string, unknown>, fields: Record<string, unknown>): Reply | undefined {
    const picklists = this.picklists;
    return sobject === 'Lead' && picklists ? checkAddress(picklists, current, fields) : undefined;
  }

  private missingRequired(sobject: SObjectName, fields: Record<string, unknown>): Reply | undefined {
    const missing = REQUIRED[sobject].filter((f) => fields[f] === undefined || fields[f] === null || fields[f] === '');
    if (missing.length === 0) return undefined;
    return { status: 400, body: [{ message: `Required fields are missing: [${missing.join(', ')}]`, errorCode: 'REQUIRED_FIELD_MISSING', fields: missing }] };
  }

  private insert(req: ApiRequest, sobject: SObjectName, fields: Record<string, unknown>): SalesforceRecord {
    this.seq++;
    const id = `${KEY_PREFIX[sobject]}5g${String(this.seq).padStart(10, '0')}AAK`;
    const record = { sobject, id, fields: { ...picklistDefaults(this.picklistFields(sobject)), ...fields }, createdBy: req.token.sub, createdAt: new Date().toISOString(), updates: [] };
    this.records.push(record);
    return record;
  }

  private create(req: ApiRequest, sobject: SObjectName): Reply {
    const { fields, error } = this.fields(req, sobject);
    if (error) return error;
    const missing = this.missingRequired(sobject, fields) ?? this.address(sobject, {}, fields);
    if (missing) return missing;
    const record = this.insert(req, sobject, fields);
    return { status: 201, body: { id: record.id, success: true, errors: [] } };
  }

  private findById(sobject: SObjectName, id: string): SalesforceRecord | undefined {
    return this.records.find((r) => r.sobject === sobject && (r.id === id || (id.length === 15 && r.id.startsWith(id))));
  }

  private updateById(req: ApiRequest, sobject: SObjectName, id: string): Reply {
    const record = this.findById(sobject, id);
    if (!record) return { status: 404, body: NOT_FOUND };
    const { fields, error } = this.fields(req, sobject);
    if (error) return error;
    const refused = this.address(sobject, record.fields, fields);
    if (refused) return refused;
    Object.assign(record.fields, fields);
    record.updates.push(fields);
    return { status: 204 };
  }

  private upsert(req: ApiRequest, sobject: SObjectName, fieldName: string, value: string, version: number): Reply {
    const field = this.externalIds(sobject).find((f) => f.toLowerCase() === fieldName.toLowerCase());
    if (!field) {
      return { status: 404, body: [{ errorCode: 'NOT_FOUND', message: `Provided external ID field does not exist or is not accessible: ${fieldName}` }] };
    }
    const { fields, error } = this.fields(req, sobject);
    if (error) return error;
    if (fields[field] !== undefined && String(fields[field]) !== value) {
      return { status: 400, body: [{ message: `The value of the external ID field in the body doesn't match the URL: ${field}`, errorCode: 'INVALID_FIELD' }] };
    }
    const matches = this.records.filter((r) => r.sobject === sobject && String(r.fields[field] ?? '').toLowerCase() === value.toLowerCase());
    if (matches.length > 1) {
      // Nothing is written; the body lists the matching records.
      return { status: 300, body: matches.map((r) => `/services/data/v${version.toFixed(1)}/sobjects/${sobject}/${r.id}`) };
    }
    const existing = matches[0];
    if (existing) {
      const refused = this.address(sobject, existing.fields, fields);
      if (refused) return refused;
      Object.assign(existing.fields, fields);
      existing.updates.push(fields);
      // API 46.0 and later answer an update by upsert with 200 and a body; earlier versions with 204.
      return version >= 46 ? { status: 200, body: { id: existing.id, success: true, errors: [], created: false } } : { status: 204 };
    }
    // Documented from API 61.0; earlier versions create the record as any upsert does.
    if (req.query.get('updateOnly') === 'true' && version >= 61) return { status: 404, body: NOT_FOUND };
    const toInsert = { ...fields, [field]: value };
    const missing = this.missingRequired(sobject, toInsert) ?? this.address(sobject, {}, toInsert);
    if (missing) return missing;
    const record = this.insert(req, sobject, toInsert);
    return { status: 201, body: version >= 46 ? { id: record.id, success: true, errors: [], created: true } : { id: record.id, success: true, errors: [] } };
  }
}

type Fields = { fields: Record<string, unknown>; error?: undefined } | { fields?: undefined; error: Reply };
