import { createHash } from 'node:crypto';
import { UnrecoverableError } from '../core/errors';
import { USER_AGENT } from '../transport/http-sender';
import { connectorFailure, evaluateIn } from './connector-failure';
import { urlSuspects } from './failure-places';
import type { OutgoingRequest } from './hooks';
import type { CompiledAction, LoadedConnector } from './compiled-connector';
import type { ConnectionContext } from './run-types';
import { secretMasker } from './secret-masker';

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
const HEADER_NAME = /^[!#$%&'*+^_`|~0-9A-Za-z-]+$/;

/** What rendering an action's request reads besides the action: the connector, the link, the delivery. */
export interface RenderContext {
  connector: LoadedConnector;
  /** Read at each render: a token refresh replaces its credentials. */
  ctx: ConnectionContext;
  webhookId: string;
  /** The trigger running the action; none for the health check. */
  trigger?: string;
  now?: Date | undefined;
  /** Receives the body fields cut to the action's max_lengths, e.g. "City (52 → 40)". */
  truncated?: string[];
}

/** The parts of one action being rendered, for the helpers below. */
interface Rendering {
  render: RenderContext;
  action: CompiledAction;
  input: unknown;
  bindings: Record<string, unknown>;
}

/** An action's request: method, URL, headers (auth included), body, then the connector's before_request hook. */
export async function renderRequest(render: RenderContext, action: CompiledAction, input: unknown, bindings: Record<string, unknown>): Promise<OutgoingRequest> {
  const r: Rendering = { render, action, input, bindings };
  const method = (await text(r, 'method', () => action.method.render(input, bindings))).toUpperCase();
  if (!METHODS.has(method)) throw failure(r, 'method', new Error(`"${method}" is not one of ${[...METHODS].join(', ')}`));
  const url = await renderUrl(r);
  const headers = await renderHeaders(r);
  applyAuth(render.connector, render.ctx, url, headers);
  const body = await renderBody(r, headers);
  if (action.idempotency) {
    const key = action.idempotency.key;
    headers[action.idempotency.header] = key ? await text(r, 'idempotency key', () => key.render(input, bindings)) : idempotencyKey(render.webhookId, render.trigger ?? '', action.name);
  }
  for (const [name, value] of Object.entries(headers)) {
    if (/[\r\n\0]/.test(value) || !HEADER_NAME.test(name)) throw failure(r, `header ${name}`, new Error('is not a legal header (bad name, or CR/LF in the value)'));
  }
  const request: OutgoingRequest = { method, url: url.toString(), headers, body };
  if (!render.connector.beforeRequest) return request;
  const { ctx, webhookId } = render;
  return render.connector.beforeRequest(request, { config: ctx.config, credentials: ctx.credentials, webhookId, now: render.now ?? new Date() });
}

/** The action's url, or the base URL (the link's override first) and path; then its query parameters. */
async function renderUrl(r: Rendering): Promise<URL> {
  const { action, input, bindings } = r;
  const { connector, ctx } = r.render;
  let urlText: string;
  if (action.url) {
    const template = action.url;
    urlText = await text(r, 'url', () => template.render(input, bindings));
  } else {
    const baseUrl = connector.baseUrl as NonNullable<typeof connector.baseUrl>;
    const path = action.path as NonNullable<typeof action.path>;
    const base = ctx.baseUrl ?? (await text(r, 'base_url', () => baseUrl.render(input, bindings)));
    urlText = base.replace(/\/+$/, '') + (await text(r, 'path', () => path.render(input, bindings)));
  }
  let url: URL;
  try {
    url = new URL(urlText);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('not http(s)');
  } catch {
    throw failure(r, 'url', new Error(`gave "${secretMasker(ctx)(urlText)}", which is not an absolute http(s) URL; ${urlSuspects(connector, action, !action.url && ctx.baseUrl !== undefined)}`));
  }
  for (const [name, template] of action.query) {
    const value = await text(r, `query ${name}`, () => template.render(input, bindings));
    if (value !== '') url.searchParams.append(name, value);
  }
  return url;
}

/** The user agent, then the action's headers: templates by name, or one expression giving an object. */
async function renderHeaders(r: Rendering): Promise<Record<string, string>> {
  const { action, input, bindings } = r;
  const headers: Record<string, string> = { 'user-agent': USER_AGENT };
  if (Array.isArray(action.headers)) {
    for (const [name, template] of action.headers) headers[name] = await text(r, `header ${name}`, () => template.render(input, bindings));
    return headers;
  }
  const value = await evaluateIn(r.render.connector, where(r, 'headers'), action.headers, input, bindings);
  if (value === undefined || value === null) return headers;
  if (typeof value !== 'object' || Array.isArray(value)) throw failure(r, 'headers', new Error('must yield an object of header names to values'));
  for (const [name, v] of Object.entries(value as Record<string, unknown>)) if (v !== undefined && v !== null) headers[name.toLowerCase()] = String(v);
  return headers;
}

/** The body as JSON (null when the action has none or it yields nothing); sets a JSON content type unless one is given. */
async function renderBody(r: Rendering, headers: Record<string, string>): Promise<string | null> {
  if (!r.action.body) return null;
  const value = await evaluateIn(r.render.connector, where(r, 'body'), r.action.body, r.input, r.bindings);
  if (value === undefined) return null;
  headers['content-type'] ??= 'application/json';
  return JSON.stringify(truncate(r, value));
}

/**
 * The body with each string longer than the action's max_lengths cut to it: an API refuses the
 * whole record for one long field (Salesforce's STRING_TOO_LONG), and a cut name serves better
 * than no record. A UTF-16 surrogate pair is never split. The fields cut go to render.truncated.
 */
function truncate(r: Rendering, value: unknown): unknown {
  if (r.action.maxLengths.length === 0 || value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const out = { ...(value as Record<string, unknown>) };
  for (const [field, max] of r.action.maxLengths) {
    const text = out[field];
    if (typeof text !== 'string' || text.length <= max) continue;
    let cut = text.slice(0, max);
    if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
    out[field] = cut;
    r.render.truncated?.push(`${field} (${text.length} → ${max})`);
  }
  return out;
}

/**
 * The default idempotency key of one request: a UUID (the form the strictest APIs ask for) derived
 * from the delivery's webhook id, the trigger and the action. The webhook id is the same on every
 * retry and replay of a delivery and different for every other delivery (another event or another
 * integration); the trigger and action tell apart the requests of one delivery.
 */
export function idempotencyKey(webhookId: string, trigger: string, action: string): string {
  const hex = createHash('sha256').update(`${webhookId}\n${trigger}\n${action}`).digest('hex');
  // RFC 9562 version 8 (custom), variant 10xx: a valid UUID whatever the hash.
  const variant = ((parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function where(r: Rendering, part: string): string {
  return `action ${r.action.name}, ${part}`;
}

function failure(r: Rendering, part: string, err: unknown): UnrecoverableError {
  return connectorFailure(r.render.connector, where(r, part), err);
}

async function text(r: Rendering, part: string, render: () => Promise<string>): Promise<string> {
  try {
    return await render();
  } catch (err) {
    throw failure(r, part, err);
  }
}

function applyAuth(connector: LoadedConnector, ctx: ConnectionContext, url: URL, headers: Record<string, string>): void {
  const auth = connector.manifest.auth;
  const credential = (name: string): string => {
    const value = ctx.credentials[name];
    if (typeof value !== 'string' || value === '') {
      throw new UnrecoverableError('connection_credentials_missing', `connector ${connector.manifest.name}: the connection has no ${name}; PATCH /v1/connections/${ctx.connectionId} with credentials.${name}`);
    }
    return value;
  };
  // The action's own Authorization header wins (a provider endpoint that wants another scheme, e.g. "OAuth <token>").
  const own = Object.keys(headers).some((name) => name.toLowerCase() === 'authorization');
  if (own && (auth.type !== 'api_key' || (auth.in === 'header' && auth.name.toLowerCase() === 'authorization'))) return;
  switch (auth.type) {
    case 'api_key': {
      const value = `${auth.prefix ?? ''}${credential('api_key')}`;
      if (auth.in === 'header') headers[auth.name.toLowerCase()] = value;
      else url.searchParams.set(auth.name, value);
      return;
    }
    case 'basic':
      headers['authorization'] = `Basic ${Buffer.from(`${credential('username')}:${credential('password')}`).toString('base64')}`;
      return;
    case 'oauth2':
      headers['authorization'] = `Bearer ${credential('access_token')}`;
      return;
    default:
      return;
  }
}
