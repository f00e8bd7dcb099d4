import type http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { listenLocal } from '../local-server';
import type { LocalServer } from '../local-server';

/**
 * A local emulator of Discord's incoming webhooks, following Discord's developer documentation:
 *
 * - Execute Webhook, https://discord.com/developers/docs/resources/webhook#execute-webhook:
 *   POST /api/webhooks/{webhook.id}/{webhook.token} (also /api/v10/...), JSON body; at least one
 *   of content, embeds (or files, poll, components); `?wait=true` answers 200 with the message
 *   object, else 204 without a body.
 * - Embed limits, https://discord.com/developers/docs/resources/message#embed-object-embed-limits:
 *   title 256, description 4096, 25 fields of name 256 / value 1024, footer text 2048, author
 *   name 256, and 6000 characters across all embeds of a message; content 2000 and 10 embeds per
 *   message (Execute Webhook's JSON params). Get Webhook with Token (GET on the same URL,
 *   https://discord.com/developers/docs/resources/webhook#get-webhook-with-token) answers the
 *   webhook object. Lengths are counted in characters (code points).
 * - Allowed mentions, https://discord.com/developers/docs/resources/message#allowed-mentions-object:
 *   without `allowed_mentions` every mention in content pings; `{parse: []}` pings no one.
 * - JSON error codes, https://discord.com/developers/docs/topics/opcodes-and-status-codes#json:
 *   10015 Unknown Webhook (404), 50027 Invalid Webhook Token (401), 50006 Cannot send an empty
 *   message, 50035 Invalid Form Body with the nested `errors` object, 50109 invalid JSON (400).
 * - Rate limits, https://discord.com/developers/docs/topics/rate-limits (also
 *   https://docs.discord.com/developers/topics/rate-limits): X-RateLimit-Limit, -Remaining,
 *   -Reset (epoch seconds, decimal), -Reset-After (seconds, decimal), -Bucket on every answer;
 *   a 429 adds X-RateLimit-Scope, Retry-After (whole seconds) and the body
 *   {"message": "You are being rate limited.", "retry_after": 0.64, "global": false}; the global
 *   limit (50 requests a second; by IP address for webhooks, which carry no token header) adds
 *   X-RateLimit-Global: true.
 *
 * Tests can delete a webhook, or force the next answers to be 429s (with headers, from the body
 * only, or global). Every answer is recorded, and each accepted message says whether it pinged.
 */
export interface DiscordMessage {
  /** The webhook's id. */
  webhook: string;
  id: string;
  at: number;
  body: DiscordPayload;
  /** Whether the message pinged @everyone/@here, as Discord decides from content and allowed_mentions. */
  mentionEveryone: boolean;
  headers: http.IncomingHttpHeaders;
}

export interface DiscordPayload {
  content?: string;
  username?: string;
  embeds?: Array<Record<string, unknown>>;
  allowed_mentions?: { parse?: string[]; users?: string[]; roles?: string[] };
  [key: string]: unknown;
}

export interface DiscordAnswer {
  webhook: string;
  /** POST executes the webhook; GET reads it (the connection's health check). */
  method: string;
  at: number;
  status: number;
  body: string;
  headers: Record<string, string>;
}

/**
 * How a forced 429 looks: `headers: false` leaves only the body's retry_after (as a proxy that
 * strips headers would); `body: false` gives a plain-text body, as a proxy's own 429 has.
 */
export interface ForcedLimit {
  retryAfter: number;
  headers?: boolean;
  body?: boolean;
  global?: boolean;
}

interface Hook {
  id: string;
  token: string;
  channel: string;
  name: string;
  deleted: boolean;
  sent: number[];
  forced: ForcedLimit[];
}

/** Discord does not publish webhook limits; five messages per two seconds is what webhooks get in practice. */
const LIMIT = 5;
const WINDOW_MS = 2000;
/** The global limit: 50 requests a second, counted by IP address for requests without a token, as webhooks are. */
const GLOBAL_LIMIT = 50;
const GLOBAL_WINDOW_MS = 1000;
const ROUTE = /^\/api(?:\/v\d+)?\/webhooks\/(\d+)\/([^/?]+)\/?$/;

export class DiscordEmulator {
  readonly messages: DiscordMessage[] = [];
  readonly answers: DiscordAnswer[] = [];
  private readonly hooks = new Map<string, Hook>();
  /** When each request of the last second came, for the global limit. */
  private recent: number[] = [];
  private server: LocalServer | null = null;
  private base = '';

  static async start(): Promise<DiscordEmulator> {
    const emulator = new DiscordEmulator();
    emulator.server = await listenLocal((req, body, res) => emulator.handle(req, body, res));
    emulator.base = emulator.server.url;
    return emulator;
  }

  /** A new webhook URL, as Discord shows it under a channel's Integrations → Webhooks → Copy URL. */
  createWebhook(name = 'Directory'): string {
    const id = snowflake();
    const token = randomBytes(51).toString('base64url').slice(0, 68);
    this.hooks.set(id, { id, token, channel: snowflake(), name, deleted: false, sent: [], forced: [] });
    return `${this.base}/api/webhooks/${id}/${token}`;
  }

  /** Deletes the webhook (as a server admin would): later requests get 404 Unknown Webhook. */
  deleteWebhook(url: string): void {
    this.hook(url).deleted = true;
  }

  /** The next request(s) to this webhook are answered 429, one per limit given, in order. */
  forceRateLimit(url: string, ...limits: ForcedLimit[]): void {
    this.hook(url).forced.push(...limits);
  }

  messagesFor(url: string): DiscordMessage[] {
    const { id } = this.hook(url);
    return this.messages.filter((m) => m.webhook === id);
  }

  answersFor(url: string): DiscordAnswer[] {
    const { id } = this.hook(url);
    return this.answers.filter((a) => a.webhook === id);
  }

  async close(): Promise<void> {
    await this.server?.close();
  }

  private hook(url: string): Hook {
    const match = ROUTE.exec(new URL(url).pathname);
    const hook = match ? this.hooks.get(match[1]!) : undefined;
    if (!hook) throw new Error(`DiscordEmulator: ${url} is not one of its webhooks`);
    return hook;
  }

  private handle(req: http.IncomingMessage, raw: string, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', this.base);
    const match = ROUTE.exec(url.pathname);
    const id = match?.[1] ?? '';
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      const text = body === null ? '' : typeof body === 'string' ? body : JSON.stringify(body);
      const type = typeof body === 'string' ? 'text/plain' : 'application/json';
      const all = body === null ? headers : { 'content-type': type, ...headers };
      this.answers.push({ webhook: id, method: req.method ?? '', at: Date.now(), status, body: text, headers: all });
      res.writeHead(status, all);
      res.end(text);
    };
    const hook = this.hooks.get(id);
    if (!match || !hook || hook.deleted) return answer(404, { message: 'Unknown Webhook', code: 10015 });
    if (match[2] !== hook.token) return answer(401, { message: 'Invalid Webhook Token', code: 50027 });
    // Get Webhook with Token: the webhook object, no message posted.
    if (req.method === 'GET') return answer(200, { id: hook.id, type: 1, channel_id: hook.channel, name: hook.name, avatar: null, token: hook.token, application_id: null });
    if (req.method !== 'POST') return answer(405, { message: '405: Method Not Allowed', code: 0 });

    const now = Date.now();
    this.recent = this.recent.filter((t) => now - t < GLOBAL_WINDOW_MS);
    if (this.recent.length >= GLOBAL_LIMIT) {
      return this.rateLimited(hook, { retryAfter: Math.max(0.001, (this.recent[0]! + GLOBAL_WINDOW_MS - now) / 1000), global: true }, answer);
    }
    this.recent.push(now);
    const forced = hook.forced.shift();
    if (forced) return this.rateLimited(hook, forced, answer);
    hook.sent = hook.sent.filter((t) => now - t < WINDOW_MS);
    if (hook.sent.length >= LIMIT) {
      const retryAfter = Math.max(0.001, (hook.sent[0]! + WINDOW_MS - now) / 1000);
      return this.rateLimited(hook, { retryAfter }, answer);
    }

    let payload: DiscordPayload;
    try {
      payload = JSON.parse(raw) as DiscordPayload;
    } catch {
      return answer(400, { message: 'The request body contains invalid JSON.', code: 50109 });
    }
    const refusal = discordRefusal(payload);
    if (refusal) return answer(400, refusal);

    hook.sent.push(now);
    const message: DiscordMessage = { webhook: hook.id, id: snowflake(), at: now, body: payload, mentionEveryone: pingsEveryone(payload), headers: req.headers };
    this.messages.push(message);
    const limits = this.limitHeaders(hook, now);
    if (url.searchParams.get('wait') !== 'true') return answer(204, null, limits);
    answer(200, messageObject(hook, message), limits);
  }

  private rateLimited(hook: Hook, limit: ForcedLimit, answer: (status: number, body: unknown, headers?: Record<string, string>) => void): void {
    const body = limit.body === false ? 'Too Many Requests' : { message: 'You are being rate limited.', retry_after: limit.retryAfter, global: limit.global === true };
    if (limit.headers === false) return answer(429, body);
    const headers: Record<string, string> = {
      'retry-after': String(Math.ceil(limit.retryAfter)),
      'x-ratelimit-scope': limit.global ? 'global' : 'user',
    };
    if (limit.global) headers['x-ratelimit-global'] = 'true';
    else Object.assign(headers, this.limitHeaders(hook, Date.now(), limit.retryAfter));
    answer(429, body, headers);
  }

  /** The bucket headers Discord sends on every answer; `resetAfter` overrides the window's own reset. */
  private limitHeaders(hook: Hook, now: number, resetAfter?: number): Record<string, string> {
    const after = resetAfter ?? (hook.sent.length > 0 ? (hook.sent[0]! + WINDOW_MS - now) / 1000 : WINDOW_MS / 1000);
    return {
      'x-ratelimit-limit': String(LIMIT),
      'x-ratelimit-remaining': String(resetAfter !== undefined ? 0 : Math.max(0, LIMIT - hook.sent.length)),
      'x-ratelimit-reset': ((now + after * 1000) / 1000).toFixed(3),
      'x-ratelimit-reset-after': after.toFixed(3),
      'x-ratelimit-bucket': createHash('sha1').update(`webhook:${hook.id}`).digest('hex').slice(0, 32),
    };
  }
}

type Errors = Record<string, unknown>;

/** The 400 body Discord answers a parsed Execute Webhook body with, or null when it accepts it. */
export function discordRefusal(payload: unknown): { message: string; code: number; errors?: Errors } | null {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return { message: 'The request body contains invalid JSON.', code: 50109 };
  const body = payload as DiscordPayload;
  const errors = formErrors(body);
  if (errors) return { message: 'Invalid Form Body', code: 50035, errors };
  const empty = !(typeof body.content === 'string' && body.content.trim() !== '') && !(Array.isArray(body.embeds) && body.embeds.length > 0) && !body['poll'] && !body['components'];
  return empty ? { message: 'Cannot send an empty message', code: 50006 } : null;
}

/** Discord's Invalid Form Body errors object: the failing field's path as nested keys, `_errors` at the leaf. */
function formErrors(payload: DiscordPayload): Errors | null {
  const errors: Errors = {};
  const put = (path: Array<string | number>, code: string, message: string): void => {
    let node = errors;
    for (const key of path) node = (node[String(key)] ??= {}) as Errors;
    ((node['_errors'] ??= []) as unknown[]).push({ code, message });
  };
  const maxLength = (path: Array<string | number>, value: unknown, max: number, required = false): number => {
    if (value === undefined || value === null) {
      if (required) put(path, 'BASE_TYPE_REQUIRED', 'This field is required');
      return 0;
    }
    if (typeof value !== 'string') {
      put(path, 'BASE_TYPE_STRING', 'Must be a string.');
      return 0;
    }
    const length = [...value].length;
    if (length > max) put(path, 'BASE_TYPE_MAX_LENGTH', `Must be ${max} or fewer in length.`);
    if (required && length === 0) put(path, 'BASE_TYPE_REQUIRED', 'This field is required');
    return length;
  };
  maxLength(['content'], payload.content, 2000);
  if (payload.username !== undefined) maxLength(['username'], payload.username, 80);
  const mentions = payload.allowed_mentions;
  if (mentions !== undefined && (mentions === null || typeof mentions !== 'object' || (mentions.parse !== undefined && (!Array.isArray(mentions.parse) || mentions.parse.some((p) => !['everyone', 'roles', 'users'].includes(p)))))) {
    put(['allowed_mentions'], 'MESSAGE_ALLOWED_MENTIONS_PARSE_INVALID', 'parse must be a list of everyone, roles and users.');
  }
  const embeds = payload.embeds;
  if (embeds !== undefined) {
    if (!Array.isArray(embeds)) put(['embeds'], 'BASE_TYPE_ARRAY', 'Must be an array.');
    else {
      if (embeds.length > 10) put(['embeds'], 'BASE_TYPE_MAX_LENGTH', 'Must be 10 or fewer in length.');
      let total = 0;
      embeds.forEach((embed, i) => {
        total += embedLength(embed, ['embeds', i], maxLength, put);
      });
      if (total > 6000) put(['embeds'], 'MAX_EMBED_SIZE_EXCEEDED', 'Embed size exceeds maximum size of 6000');
    }
  }
  return Object.keys(errors).length > 0 ? errors : null;
}

function embedLength(
  embed: Record<string, unknown>,
  at: Array<string | number>,
  maxLength: (path: Array<string | number>, value: unknown, max: number, required?: boolean) => number,
  put: (path: Array<string | number>, code: string, message: string) => void,
): number {
  if (embed === null || typeof embed !== 'object') {
    put(at, 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
    return 0;
  }
  let total = maxLength([...at, 'title'], embed['title'], 256) + maxLength([...at, 'description'], embed['description'], 4096);
  const color = embed['color'];
  if (color !== undefined && (typeof color !== 'number' || !Number.isInteger(color) || color < 0 || color > 0xffffff)) put([...at, 'color'], 'NUMBER_TYPE_MAX', 'int value should be less than or equal to 16777215.');
  const footer = embed['footer'] as Record<string, unknown> | undefined;
  if (footer !== undefined) total += maxLength([...at, 'footer', 'text'], footer['text'], 2048, true);
  const author = embed['author'] as Record<string, unknown> | undefined;
  if (author !== undefined) total += maxLength([...at, 'author', 'name'], author['name'], 256, true);
  const fields = embed['fields'];
  if (fields !== undefined) {
    if (!Array.isArray(fields)) put([...at, 'fields'], 'BASE_TYPE_ARRAY', 'Must be an array.');
    else {
      if (fields.length > 25) put([...at, 'fields'], 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
      fields.forEach((field: Record<string, unknown>, j) => {
        total += maxLength([...at, 'fields', j, 'name'], field['name'], 256, true) + maxLength([...at, 'fields', j, 'value'], field['value'], 1024, true);
      });
    }
  }
  return total;
}

/** @everyone and @here ping when the content has them and allowed_mentions (absent: everything) allows "everyone". */
function pingsEveryone(payload: DiscordPayload): boolean {
  const content = typeof payload.content === 'string' ? payload.content : '';
  if (!/@(everyone|here)/.test(content)) return false;
  const parse = payload.allowed_mentions?.parse;
  return payload.allowed_mentions === undefined || (Array.isArray(parse) && parse.includes('everyone'));
}

function messageObject(hook: Hook, message: DiscordMessage): Record<string, unknown> {
  return {
    id: message.id,
    type: 0,
    channel_id: hook.channel,
    webhook_id: hook.id,
    author: { id: hook.id, username: message.body.username ?? hook.name, bot: true, discriminator: '0000' },
    content: message.body.content ?? '',
    embeds: (message.body.embeds ?? []).map((e) => ({ type: 'rich', ...e })),
    mentions: [],
    mention_roles: [],
    mention_everyone: message.mentionEveryone,
    attachments: [],
    tts: false,
    pinned: false,
    timestamp: new Date(message.at).toISOString(),
    edited_timestamp: null,
    flags: 0,
    components: [],
  };
}

/** A Discord id: milliseconds since the Discord epoch (2015) in the top bits. */
function snowflake(): string {
  const ms = BigInt(Date.now() - 1420070400000);
  return ((ms << 22n) | BigInt(randomBytes(2).readUInt16BE(0) & 0x3fffff)).toString();
}
