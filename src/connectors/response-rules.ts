import { headerDelayMs } from '../transport/retry-policy';
import type { HttpResult } from '../transport/http-sender';
import type { CompiledErrorRule } from './compiled-connector';
import type { StatusMatch } from './manifest';
import type { Template } from './template';

export type ResponseVerdict =
  | { kind: 'success' }
  | { kind: 'retry'; retryAfterMs: number | null; reason: string }
  | { kind: 'fail'; reason: string }
  | { kind: 'refresh'; reason: string }
  /** The link itself is dead (a deleted webhook, a revoked key): no later delivery through it can succeed until it is fixed. */
  | { kind: 'broken'; reason: string };

/** The response body as JSON when it is JSON, else the text (or null when there was none). */
export function parseBody(result: HttpResult): unknown {
  if (result.body === null || result.body === '') return null;
  const type = result.headers['content-type'] ?? '';
  const text = result.body.trim();
  if (type.includes('json') || text.startsWith('{') || text.startsWith('[')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return result.body;
    }
  }
  return result.body;
}

/**
 * Reads a response with the connector's declared error vocabulary; the first
 * rule that matches decides. Without one: 2xx succeeds, 408, 429 and 5xx are
 * retried (honouring Retry-After), anything else is a permanent failure: the
 * API refused this request and would refuse it again.
 */
export async function judgeResponse(rules: readonly CompiledErrorRule[], result: HttpResult, body: unknown, now: number = Date.now()): Promise<ResponseVerdict> {
  if (result.status === null) {
    const reason = result.error ?? 'no response';
    return result.errorCode === 'endpoint_address_blocked' ? { kind: 'fail', reason } : { kind: 'retry', retryAfterMs: null, reason };
  }
  const status = result.status;
  for (const rule of rules) {
    if (rule.statuses !== null && !rule.statuses.some((s) => statusMatches(s, status))) continue;
    if (rule.body !== null) {
      let matched: unknown;
      try {
        matched = await rule.body.evaluate(body, { status, headers: result.headers });
      } catch {
        matched = false;
      }
      if (matched !== true) continue;
    }
    const reason = rule.message ? await messageOf(rule.message, result, body) : describe(status, result.body);
    switch (rule.action) {
      case 'success':
        return { kind: 'success' };
      case 'fail':
        return { kind: 'fail', reason };
      case 'refresh_token_then_retry':
        return { kind: 'refresh', reason };
      case 'broken':
        return { kind: 'broken', reason };
      case 'retry':
        return { kind: 'retry', retryAfterMs: await backoffFrom(rule, result, body, now), reason };
    }
  }
  if (status >= 200 && status < 300) return { kind: 'success' };
  if (status === 408 || status === 429 || status >= 500) {
    return { kind: 'retry', retryAfterMs: headerDelayMs(result.headers['retry-after'], 'seconds', now), reason: describe(status, result.body) };
  }
  return { kind: 'fail', reason: describe(status, result.body) };
}

function statusMatches(match: StatusMatch, status: number): boolean {
  if (typeof match === 'number') return match === status;
  return Math.floor(status / 100) === Number(match[0]);
}

/**
 * The delay a retry rule reads: its backoff header in the declared format, its
 * expression over the parsed body (a number of seconds or milliseconds), or
 * Retry-After when the rule names none. Every value is read as headerDelayMs
 * reads a header (decimals accepted): one that is missing, negative or
 * unreadable gives null, and the subscription's own schedule applies.
 */
async function backoffFrom(rule: CompiledErrorRule, result: HttpResult, body: unknown, now: number): Promise<number | null> {
  const backoff = rule.backoff;
  const headers = result.headers;
  if (!backoff) return headerDelayMs(headers['retry-after'], 'seconds', now);
  if ('header' in backoff) return headerDelayMs(headers[backoff.header.toLowerCase()], backoff.format ?? 'seconds', now);
  let value: unknown;
  try {
    value = await backoff.expression.evaluate(body, { status: result.status, headers });
  } catch {
    return null;
  }
  if (typeof value !== 'number' && typeof value !== 'string') return null;
  // A number is written out in plain digits (1e-7 would not be), so the header's reader takes it as is.
  const text = typeof value === 'number' ? (Number.isFinite(value) && value >= 0 ? value.toFixed(3).replace(/\.?0+$/, '') : 'unreadable') : value;
  return headerDelayMs(text, backoff.unit === 'milliseconds' ? 'millis' : 'seconds', now);
}

/** The longest text a message takes from one placeholder: an API's error, not its whole answer. */
const MESSAGE_VALUE_LIMIT = 300;

/**
 * A rule's message with its placeholders filled from the response: the parsed body as input,
 * $body, $status and $headers bound; each value cut to MESSAGE_VALUE_LIMIT characters, with the
 * whitespace of the answer collapsed. A placeholder that fails leaves the message without the
 * answer's text. The runtime masks the link's secrets in the result.
 */
async function messageOf(message: Template, result: HttpResult, body: unknown): Promise<string> {
  try {
    return (await message.render(body, { body, status: result.status, headers: result.headers }, MESSAGE_VALUE_LIMIT)).replace(/\s+/g, ' ').trim();
  } catch {
    return `${message.source} (the API answered ${result.status ?? 'nothing'})`;
  }
}

function describe(status: number, body: string | null): string {
  const snippet = (body ?? '').replace(/\s+/g, ' ').trim().slice(0, 300);
  return `the API answered ${status}${snippet ? `: ${snippet}` : ''}`;
}
