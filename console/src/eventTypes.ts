import { api } from './api';
import type { Schema } from './schema';

export interface EventType {
  type: string;
  source: string;
  description: string;
  schema: Schema;
}

let cached: Promise<EventType[]> | null = null;

/** The event catalog (GET /v1/event-types), read once per page load. */
export function eventTypes(): Promise<EventType[]> {
  cached ??= api<{ data: EventType[] }>('GET', '/v1/event-types').then((r) => r.data);
  return cached;
}
