import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import { OAuthApiEmulator, parseObject, type AuthFailure, type EmulatorOptions, type IntrospectionConfig, type RecordedRequest, type Reply, type TokenInfo } from './oauth-api';

/**
 * Mailchimp emulator: the OAuth metadata endpoint of login.mailchimp.com and one data centre's
 * Marketing API (v3.0) on the same local server, tokens checked against the local OAuth server.
 * docs/connectors/mailchimp-conformance.md lists each rule with its page.
 *
 * - OAuth (https://mailchimp.com/developer/marketing/guides/access-user-data-oauth-2/): after the token,
 *   GET /oauth2/metadata with `Authorization: OAuth <token>` answers the account's dc, accountname,
 *   user_id, login and api_endpoint (here: this server's URL); tokens do not expire and there is no
 *   refresh token. Another scheme there is 401 {"error": "invalid_token"}.
 * - Authentication of the API (https://mailchimp.com/developer/marketing/docs/fundamentals/ and
 *   https://mailchimp.com/developer/release-notes/changes-when-using-multiple-authorization-methods/):
 *   `Authorization: Bearer <token>` or Basic with any user name and the token as password; none is
 *   401 "API Key Missing", a bad or revoked token 401 "API Key Invalid".
 * - Errors (https://mailchimp.com/developer/marketing/docs/errors/): application/problem+json
 *   {type, title, status, detail, instance}; Invalid Resource adds `errors: [{field, message}]`.
 * - Members (https://mailchimp.com/developer/marketing/api/list-members/): the path's subscriber hash
 *   is the MD5 of the lower-cased email (https://mailchimp.com/developer/marketing/docs/methods-parameters/);
 *   PUT (add-or-update-list-member) needs email_address matching the hash and status_if_new in
 *   subscribed, unsubscribed, cleaned, pending, transactional, keeps an existing member's status unless
 *   `status` is given; PATCH (update-list-member) and the member's tags and events need the member;
 *   POST (add-member-to-list) of an existing member is 400 "Member Exists". A permanently deleted
 *   email is 400 "Forgotten Email Not Subscribed" when added again, a suppressed one (unsubscribe,
 *   bounce, compliance review) 400 "Member In Compliance State".
 * - Merge fields (https://mailchimp.com/developer/marketing/docs/merge-fields/ and
 *   https://mailchimp.com/developer/marketing/api/list-merges/list-merge-fields/): a member's
 *   merge_fields keys must be tags of the audience (a new audience has FNAME, LNAME, ADDRESS, PHONE,
 *   BIRTHDAY); another is 400 Invalid Resource naming it; GET .../merge-fields lists them.
 * - Tags (https://mailchimp.com/developer/marketing/api/list-member-tags/add-or-remove-member-tags/):
 *   {tags: [{name, status: active|inactive}]}, 204. Events
 *   (https://mailchimp.com/developer/marketing/api/list-member-events/add-event/): name of 2 to 30
 *   letters, digits, _ or -, properties with string values, occurred_at ISO 8601; 204.
 * - Ping (https://mailchimp.com/developer/marketing/api/ping/): {"health_status": "Everything's Chimpy!"}.
 * - Customer Journeys (https://mailchimp.com/developer/marketing/api/customer-journeys-journeys-steps-actions/,
 *   "Customer Journeys API trigger for a contact"; Mailchimp's OpenAPI document
 *   https://github.com/mailchimp/mailchimp-client-lib-codegen/blob/main/spec/marketing.json):
 *   POST /customer-journeys/journeys/{journey_id}/steps/{step_id}/actions/trigger with the required
 *   {email_address}, 204 without a body; the ids come from the journey builder's "Customer Journeys API"
 *   condition, another pair is 404. The contact must be a subscribed member of the journey's audience
 *   (not verified against Mailchimp: the emulator answers 400 otherwise, its title and detail its own).
 * - Limits (https://mailchimp.com/developer/marketing/docs/fundamentals/#api-limits): at most 10
 *   simultaneous connections per user; the 11th is 429 "Too Many Requests".
 */
export interface MailchimpOptions extends EmulatorOptions {
  /** Simultaneous requests per user before a 429; default 10. */
  maxConnections?: number;
  /** How long each API request takes, so that requests overlap; default 0. */
  latencyMs?: number;
  /** The account's data centre; default us7. */
  dc?: string;
}

export interface MailchimpMember {
  id: string;
  email_address: string;
  status: string;
  merge_fields: Record<string, unknown>;
  tags: Set<string>;
  events: Array<{ name: string; properties: Record<string, string>; occurred_at: string | null }>;
  timestamp_signup: string;
}

export interface MailchimpList {
  id: string;
  mergeFields: Set<string>;
  members: Map<string, MailchimpMember>;
}

const STATUSES = ['subscribed', 'unsubscribed', 'cleaned', 'pending', 'transactional'];
const MEMBER_FIELDS = new Set(['email_address', 'status_if_new', 'status', 'email_type', 'merge_fields', 'interests', 'language', 'vip', 'location', 'marketing_permissions', 'ip_signup', 'timestamp_signup', 'ip_opt', 'timestamp_opt', 'tags']);
const DEFAULT_MERGE_FIELDS = ['FNAME', 'LNAME', 'ADDRESS', 'PHONE', 'BIRTHDAY'];
const ROUTE = /^\/3\.0\/lists\/([^/]+)(?:\/(merge-fields)|\/members(?:\/([^/]+)(?:\/(tags|events))?)?)?\/?$/;
const JOURNEY = /^\/3\.0\/customer-journeys\/journeys\/([^/]+)\/steps\/([^/]+)\/actions\/trigger\/?$/;
const ISO = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

export function subscriberHash(email: string): string {
  return crypto.createHash('md5').update(email.toLowerCase()).digest('hex');
}

/** A journey step with the Customer Journeys API condition, on one audience; `started` the emails triggered. */
export interface MailchimpJourneyStep {
  listId: string;
  started: string[];
}

export class MailchimpEmulator extends OAuthApiEmulator {
  readonly lists = new Map<string, MailchimpList>();
  /** Keyed by "journey_id/step_id". */
  readonly journeySteps = new Map<string, MailchimpJourneyStep>();
  /** The most requests each user (the token's account) had in flight at once, and the 429s for too many. */
  readonly maxInFlight = new Map<string, number>();
  refusedForConnections = 0;
  private readonly inFlight = new Map<string, number>();
  private readonly forgotten = new Set<string>();
  private readonly suppressed = new Set<string>();

  private constructor(
    oauth: IntrospectionConfig,
    private readonly options: MailchimpOptions,
  ) {
    super(oauth, options);
  }

  static async start(oauth: IntrospectionConfig, options: MailchimpOptions = {}): Promise<MailchimpEmulator> {
    const emulator = new MailchimpEmulator(oauth, options);
    await emulator.listen();
    return emulator;
  }

  /** An audience of the account, with the default merge fields and `mergeFields` besides. */
  addList(id: string, mergeFields: string[] = []): MailchimpList {
    const list = { id, mergeFields: new Set([...DEFAULT_MERGE_FIELDS, ...mergeFields]), members: new Map<string, MailchimpMember>() };
    this.lists.set(id, list);
    return list;
  }

  /** A journey of the audience `listId` whose step `stepId` has the Customer Journeys API condition. */
  addJourneyStep(journeyId: number, stepId: number, listId: string): MailchimpJourneyStep {
    const step: MailchimpJourneyStep = { listId, started: [] };
    this.journeySteps.set(`${journeyId}/${stepId}`, step);
    return step;
  }

  /** The email was permanently deleted (GDPR): adding it again is refused. */
  forget(email: string): void {
    this.forgotten.add(email.toLowerCase());
  }

  /** The email is in a compliance state (unsubscribed, bounced, under review) for the account. */
  suppress(email: string): void {
    this.suppressed.add(email.toLowerCase());
  }

  setLatency(ms: number): void {
    this.options.latencyMs = ms;
  }

  member(listId: string, email: string): MailchimpMember | undefined {
    return this.lists.get(listId)?.members.get(subscriberHash(email));
  }

  protected unauthorized(reason: AuthFailure): Reply {
    return reason === 'missing'
      ? problem(401, 'API Key Missing', 'Your request did not include an API key.')
      : problem(401, 'API Key Invalid', "Your API key may be invalid, or you've attempted to access the wrong datacenter.");
  }

  protected failureBody(status: number): unknown {
    return problem(status, status === 429 ? 'Too Many Requests' : 'Internal Server Error', status === 429 ? 'You have exceeded the limit of 10 simultaneous connections.' : 'An unexpected internal error has occurred.').body;
  }

  protected route(): Reply {
    return problem(404, 'Resource Not Found', 'The requested resource could not be found.');
  }

  /** Every request is authenticated here: the metadata endpoint and the API take different schemes. */
  protected override async unauthenticated(method: string, path: string, record?: RecordedRequest): Promise<Reply | undefined> {
    const header = String(record?.headers.authorization ?? '');
    if (path === '/oauth2/metadata') {
      const token = /^OAuth\s+(\S+)$/.exec(header)?.[1];
      const info = token ? await this.introspect(token) : null;
      if (!info) return { status: 401, body: { error: 'invalid_token', error_description: 'The access token is missing or invalid; send it as "Authorization: OAuth <token>".' } };
      if (method !== 'GET') return problem(405, 'Method Not Allowed', 'The requested method and resource are not compatible.');
      return { status: 200, body: this.metadata(info) };
    }
    const token = apiToken(header);
    if (!token) return this.unauthorized('missing');
    const info = await this.introspect(token);
    if (!info) return this.unauthorized('invalid');
    if (record) {
      record.clientId = info.client_id;
      record.sub = info.sub;
    }
    const user = info.sub;
    const now = (this.inFlight.get(user) ?? 0) + 1;
    if (now > (this.options.maxConnections ?? 10)) {
      this.refusedForConnections += 1;
      return problem(429, 'Too Many Requests', 'You have exceeded the limit of 10 simultaneous connections.');
    }
    this.inFlight.set(user, now);
    this.maxInFlight.set(user, Math.max(this.maxInFlight.get(user) ?? 0, now));
    try {
      if (this.options.latencyMs) await sleep(this.options.latencyMs);
      return this.api(method, path, record?.body ?? '');
    } finally {
      this.inFlight.set(user, (this.inFlight.get(user) ?? 1) - 1);
    }
  }

  private metadata(info: TokenInfo): Record<string, unknown> {
    const dc = this.options.dc ?? 'us7';
    const userId = Number.parseInt(crypto.createHash('md5').update(info.sub).digest('hex').slice(0, 7), 16);
    return {
      dc,
      role: 'owner',
      accountname: `Account of ${info.sub}`,
      user_id: userId,
      login: { email: `${info.sub}@example.com`, avatar: null, login_id: userId, login_name: info.sub, login_email: `${info.sub}@example.com` },
      login_url: 'https://login.mailchimp.com',
      api_endpoint: this.url,
    };
  }

  private api(method: string, path: string, raw: string): Reply {
    if (path === '/3.0/ping' || path === '/3.0/ping/') return method === 'GET' ? { status: 200, body: { health_status: "Everything's Chimpy!" } } : notAllowed();
    const journey = JOURNEY.exec(path);
    if (journey) return method === 'POST' ? this.triggerJourney(`${journey[1]}/${journey[2]}`, raw) : notAllowed();
    const match = ROUTE.exec(path);
    if (!match) return this.route();
    const [, listId = '', mergeFields, hash, sub] = match;
    const list = this.lists.get(listId);
    if (!list) return problem(404, 'Resource Not Found', 'The requested resource could not be found.');
    if (mergeFields) {
      if (method !== 'GET') return notAllowed();
      return { status: 200, body: { merge_fields: [...list.mergeFields].map((tag, i) => ({ merge_id: i + 1, tag, list_id: list.id })), list_id: list.id, total_items: list.mergeFields.size } };
    }
    if (hash === undefined) return method === 'POST' ? this.addMember(list, raw) : notAllowed();
    if (sub === undefined) {
      if (method === 'PUT') return this.putMember(list, decodeURIComponent(hash), raw);
      if (method === 'PATCH') return this.patchMember(list, decodeURIComponent(hash), raw);
      if (method === 'GET') return this.found(list, hash, (m) => ({ status: 200, body: view(list, m) }));
      return notAllowed();
    }
    if (method !== 'POST') return notAllowed();
    return sub === 'tags' ? this.found(list, hash, (m) => tag(m, raw)) : this.found(list, hash, (m) => addEvent(m, raw));
  }

  private triggerJourney(key: string, raw: string): Reply {
    const step = this.journeySteps.get(key);
    if (!step) return problem(404, 'Resource Not Found', 'The requested resource could not be found.');
    const body = parseObject(raw);
    if (!body) return invalidJson();
    const email = body['email_address'];
    if (typeof email !== 'string' || email === '') return invalid([{ field: 'email_address', message: 'This value should not be blank.' }]);
    const member = this.lists.get(step.listId)?.members.get(subscriberHash(email));
    if (member?.status !== 'subscribed') return problem(400, 'Bad Request', `${email} is not a subscribed contact of the journey's audience.`);
    step.started.push(email);
    return { status: 204 };
  }

  private found(list: MailchimpList, hash: string, then: (member: MailchimpMember) => Reply): Reply {
    const key = hash.includes('@') ? subscriberHash(decodeURIComponent(hash)) : hash;
    const member = list.members.get(key);
    return member ? then(member) : problem(404, 'Resource Not Found', 'The requested resource could not be found.');
  }

  private addMember(list: MailchimpList, raw: string): Reply {
    const body = parseObject(raw);
    if (!body) return invalidJson();
    const email = typeof body['email_address'] === 'string' ? body['email_address'] : '';
    if (list.members.has(subscriberHash(email))) return problem(400, 'Member Exists', `${email} is already a list member. Use PUT to insert or update list members.`);
    return this.putMember(list, subscriberHash(email), raw, 'status');
  }

  private putMember(list: MailchimpList, hash: string, raw: string, statusField: 'status' | 'status_if_new' = 'status_if_new'): Reply {
    const body = parseObject(raw);
    if (!body) return invalidJson();
    const unknown = Object.keys(body).filter((k) => !MEMBER_FIELDS.has(k));
    if (unknown.length > 0) return invalid(unknown.map((field) => ({ field, message: 'Schema describes object, NULL found instead' })), `The resource submitted could not be validated. ${unknown.join(', ')} is not a member field.`);
    const email = body['email_address'];
    if (typeof email !== 'string' || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) return invalid([{ field: 'email_address', message: 'This value should be a valid email address.' }]);
    const key = hash.includes('@') ? subscriberHash(hash) : hash;
    if (key !== subscriberHash(email)) return invalid([{ field: 'email_address', message: 'The subscriber hash in the path is not the MD5 of the lower-cased email_address.' }]);
    const existing = list.members.get(key);
    const wanted = body[statusField] ?? body['status'];
    if (!existing && (typeof wanted !== 'string' || !STATUSES.includes(wanted))) {
      return invalid([{ field: statusField, message: `Required for a new member: one of ${STATUSES.join(', ')}.` }]);
    }
    if (body['status'] !== undefined && (typeof body['status'] !== 'string' || !STATUSES.includes(body['status']))) return invalid([{ field: 'status', message: `One of ${STATUSES.join(', ')}.` }]);
    const fields = this.mergeFieldProblems(list, body['merge_fields']);
    if (fields) return fields;
    const lower = email.toLowerCase();
    if (!existing && this.forgotten.has(lower)) return problem(400, 'Forgotten Email Not Subscribed', `${email} was permanently deleted and cannot be re-imported. The contact must re-subscribe to get back on the list.`);
    if (!existing && this.suppressed.has(lower) && (wanted === 'subscribed' || wanted === 'pending')) {
      return problem(400, 'Member In Compliance State', `${email} is already a list member in compliance state due to unsubscribe, bounce, or compliance review.`);
    }
    const merge = (body['merge_fields'] ?? {}) as Record<string, unknown>;
    const member: MailchimpMember = existing ?? { id: key, email_address: email, status: String(wanted), merge_fields: {}, tags: new Set(), events: [], timestamp_signup: String(body['timestamp_signup'] ?? '') };
    member.email_address = email;
    member.merge_fields = { ...member.merge_fields, ...merge };
    if (existing && typeof body['status'] === 'string') member.status = body['status'];
    list.members.set(key, member);
    return { status: 200, body: view(list, member) };
  }

  private patchMember(list: MailchimpList, hash: string, raw: string): Reply {
    const body = parseObject(raw);
    if (!body) return invalidJson();
    return this.found(list, hash, (member) => {
      const fields = this.mergeFieldProblems(list, body['merge_fields']);
      if (fields) return fields;
      member.merge_fields = { ...member.merge_fields, ...((body['merge_fields'] ?? {}) as Record<string, unknown>) };
      return { status: 200, body: view(list, member) };
    });
  }

  private mergeFieldProblems(list: MailchimpList, value: unknown): Reply | null {
    if (value === undefined) return null;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return invalid([{ field: 'merge_fields', message: 'Schema describes object, array found instead' }]);
    const missing = Object.keys(value).filter((tag) => !list.mergeFields.has(tag));
    if (missing.length === 0) return null;
    return invalid(missing.map((tag) => ({ field: `merge_fields.${tag}`, message: `${tag} is not a merge field of this audience` })), 'Your merge fields were invalid.');
  }
}

function apiToken(header: string): string | null {
  const bearer = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  if (bearer) return bearer;
  const basic = /^Basic\s+(\S+)$/i.exec(header)?.[1];
  if (!basic) return null;
  const decoded = Buffer.from(basic, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 && colon < decoded.length - 1 ? decoded.slice(colon + 1) : null;
}

function tag(member: MailchimpMember, raw: string): Reply {
  const body = parseObject(raw);
  if (!body) return invalidJson();
  const tags = body['tags'];
  if (!Array.isArray(tags)) return invalid([{ field: 'tags', message: 'Required: an array of {name, status}.' }]);
  for (const [i, t] of tags.entries()) {
    const item = t as { name?: unknown; status?: unknown } | null;
    if (typeof item?.name !== 'string' || item.name === '' || item.name.length > 100) return invalid([{ field: `tags[${i}].name`, message: 'A tag name of 1 to 100 characters is required.' }]);
    if (item.status !== 'active' && item.status !== 'inactive') return invalid([{ field: `tags[${i}].status`, message: 'Status must be active or inactive.' }]);
  }
  for (const t of tags as Array<{ name: string; status: string }>) {
    if (t.status === 'active') member.tags.add(t.name);
    else member.tags.delete(t.name);
  }
  return { status: 204 };
}

function addEvent(member: MailchimpMember, raw: string): Reply {
  const body = parseObject(raw);
  if (!body) return invalidJson();
  const name = body['name'];
  if (typeof name !== 'string' || !/^[A-Za-z0-9_-]{2,30}$/.test(name)) return invalid([{ field: 'name', message: 'Required: 2 to 30 letters, numbers, underscores or dashes.' }]);
  const properties = body['properties'] ?? {};
  if (properties === null || typeof properties !== 'object' || Array.isArray(properties) || Object.values(properties).some((v) => typeof v !== 'string')) {
    return invalid([{ field: 'properties', message: 'An object whose values are strings.' }]);
  }
  const at = body['occurred_at'];
  if (at !== undefined && (typeof at !== 'string' || !ISO.test(at))) return invalid([{ field: 'occurred_at', message: 'An ISO 8601 date and time.' }]);
  member.events.push({ name, properties: properties as Record<string, string>, occurred_at: typeof at === 'string' ? at : null });
  return { status: 204 };
}

function view(list: MailchimpList, m: MailchimpMember): Record<string, unknown> {
  return { id: m.id, email_address: m.email_address, unique_email_id: m.id.slice(0, 10), status: m.status, merge_fields: m.merge_fields, tags: [...m.tags].map((name, i) => ({ id: i + 1, name })), list_id: list.id, timestamp_signup: m.timestamp_signup };
}

function problem(status: number, title: string, detail: string, extra: Record<string, unknown> = {}): Reply {
  return {
    status,
    headers: { 'content-type': 'application/problem+json; charset=utf-8' },
    body: { type: 'https://mailchimp.com/developer/marketing/docs/errors/', title, status, detail, instance: crypto.randomUUID(), ...extra },
  };
}

function invalid(errors: Array<{ field: string; message: string }>, detail = "The resource submitted could not be validated. For field-specific details, see the 'errors' array."): Reply {
  return problem(400, 'Invalid Resource', detail, { errors });
}

function invalidJson(): Reply {
  return problem(400, 'JSON Parse Error', "We encountered an unspecified JSON parsing error. Ensure the body is valid JSON.");
}

function notAllowed(): Reply {
  return problem(405, 'Method Not Allowed', "The requested method and resource are not compatible. See the Allow header for this resource's available methods.");
}
