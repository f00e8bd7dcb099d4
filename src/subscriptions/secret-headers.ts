import type { SecretBox } from '../core/secret-box';
import type { ValidationProblem } from '../events/validator';
import type { WebhookSubscription } from './model';

/** A custom header as a request gives it: a plain value, or `{"value"?, "secret"}`. */
export type HeaderInput = string | { value?: string; secret: boolean };

/** How a secret header appears in every answer: that it is set, never its value. */
export const SECRET_HEADER_VIEW = Object.freeze({ secret: true });

/** What a test send shows in place of a secret header's value in the request it reports. */
export const MASKED_VALUE = '********';

export type HeaderFields = Pick<WebhookSubscription, 'headers'> & { secretHeaders: string[]; headersSealed: string | null };

/** A header's value as given, for checks that apply to plain and secret values alike (undefined: keep the stored one). */
export function headerValue(input: HeaderInput): string | undefined {
  return typeof input === 'string' ? input : input.value;
}

/**
 * Splits a request's headers (already schema-checked) into plain ones and the
 * secret ones, sealed together. `{"secret": true}` without a value keeps the
 * value stored for that header in `current`, so an answer sent back as it was
 * (the secret shown as `{"secret": true}`) changes nothing.
 */
export function headerFields(raw: Record<string, HeaderInput>, current: WebhookSubscription | null, box: SecretBox): { fields: HeaderFields; problems: ValidationProblem[] } {
  const stored = current ? openSecretHeaders(current, box) : {};
  const headers: Record<string, string> = {};
  const secrets: Record<string, string> = {};
  const problems: ValidationProblem[] = [];
  for (const [name, input] of Object.entries(raw)) {
    const given = headerValue(input);
    const secret = typeof input !== 'string' && input.secret;
    const value = given ?? (secret ? storedValue(stored, name) : undefined);
    if (value === undefined) {
      problems.push({
        path: `/headers/${name}`,
        message: secret ? 'is not a stored secret header, so it needs its value: {"value": "...", "secret": true}' : 'needs a value: a string, or {"value": "...", "secret": false}',
      });
    } else if (secret) secrets[name] = value;
    else headers[name] = value;
  }
  const names = Object.keys(secrets);
  return { fields: { headers, secretHeaders: names, headersSealed: names.length > 0 ? box.seal(JSON.stringify(secrets)) : null }, problems };
}

function storedValue(stored: Record<string, string>, name: string): string | undefined {
  const key = Object.keys(stored).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : stored[key];
}

/** The values of a subscription's secret headers, unsealed; {} without any. */
export function openSecretHeaders(record: WebhookSubscription, box: SecretBox): Record<string, string> {
  return record.headersSealed ? (JSON.parse(box.open(record.headersSealed)) as Record<string, string>) : {};
}

/**
 * The record as requests are built from it: `headers` holds the secret headers'
 * values too, in clear. Only for sending; answers are made from stored records.
 */
export function withSecretHeaders(record: WebhookSubscription, box: SecretBox): WebhookSubscription {
  if (!record.headersSealed) return record;
  return { ...record, headers: { ...record.headers, ...openSecretHeaders(record, box) } };
}

/** The custom headers as answers show them: plain values as stored, secret ones as {"secret": true}. */
export function headersView(record: WebhookSubscription): Record<string, string | typeof SECRET_HEADER_VIEW> {
  const view: Record<string, string | typeof SECRET_HEADER_VIEW> = { ...record.headers };
  for (const name of record.secretHeaders ?? []) view[name] = SECRET_HEADER_VIEW;
  return view;
}

/** Request headers with the values of the subscription's secret headers replaced by MASKED_VALUE (names compared case-insensitively). */
export function maskSecretHeaders(headers: Record<string, string>, record: WebhookSubscription): Record<string, string> {
  const secret = new Set((record.secretHeaders ?? []).map((n) => n.toLowerCase()));
  if (secret.size === 0) return headers;
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, secret.has(name.toLowerCase()) ? MASKED_VALUE : value]));
}
