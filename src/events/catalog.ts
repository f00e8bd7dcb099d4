import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Where the JSON Schemas live, from src/ (ts) and dist/ (js) alike. */
export const SCHEMAS_DIR = path.resolve(__dirname, '../../schemas');

export const DIRECTORY_EVENT_TYPES = [
  'business.created',
  'business.updated',
  'business.verified',
  'business.deleted',
  'review.created',
  'review.updated',
  'review.responded',
  'review.moderated',
  'user.registered',
  'user.subscription_changed',
  'api.rate_limit_exceeded',
  'api.quota_warning',
] as const;

/** Events Hookhub emits about its own operation, delivered only to the tenant concerned. */
export const OPERATIONAL_EVENT_TYPES = [
  'webhook.delivery_exhausted',
  'webhook.endpoint_disabled',
  'webhook.endpoint_degraded',
  'webhook.endpoint_recovered',
  'webhook.sla_breach',
  'webhook.expression_failed',
  'webhook.delivery_quarantined',
  'connection.needs_reauth',
  'connection.broken',
  'connection.app_credentials_failed',
  'crm.lead_converted',
  'crm.opportunity_won',
] as const;

export type DirectoryEventType = (typeof DIRECTORY_EVENT_TYPES)[number];
export type OperationalEventType = (typeof OPERATIONAL_EVENT_TYPES)[number];
export type EventType = DirectoryEventType | OperationalEventType;

export const ALL_EVENT_TYPES: readonly EventType[] = [...DIRECTORY_EVENT_TYPES, ...OPERATIONAL_EVENT_TYPES];

export function isEventType(value: string): value is EventType {
  return (ALL_EVENT_TYPES as readonly string[]).includes(value);
}

export function isOperationalType(value: string): value is OperationalEventType {
  return (OPERATIONAL_EVENT_TYPES as readonly string[]).includes(value);
}

export interface EventTypeInfo {
  type: EventType;
  source: 'directory' | 'hookhub';
  description: string;
  schema: Record<string, unknown>;
}

let cached: EventTypeInfo[] | null = null;

export function loadJsonSchema(relativePath: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(SCHEMAS_DIR, relativePath), 'utf8')) as Record<string, unknown>;
}

export function eventCatalog(): readonly EventTypeInfo[] {
  cached ??= ALL_EVENT_TYPES.map((type) => {
    const schema = loadJsonSchema(`events/${type}.schema.json`);
    return {
      type,
      source: isOperationalType(type) ? 'hookhub' : 'directory',
      description: typeof schema['description'] === 'string' ? schema['description'] : '',
      schema,
    };
  });
  return cached;
}
