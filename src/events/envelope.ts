export interface EventEnvelope {
  id: string;
  type: string;
  version: string;
  timestamp: string;
  data: Record<string, unknown>;
  metadata?: Record<string, unknown>;
}

export const CURRENT_EVENT_VERSION = '1.0';

/**
 * The key an event is stored and deduplicated under. Events published on a
 * tenant's behalf live in that tenant's namespace, so no tenant can claim (and
 * so suppress) the id of a directory event or of another tenant's event.
 */
export function eventStoreKey(id: string, scopeTenantId: string | null): string {
  return scopeTenantId === null ? id : `${scopeTenantId}/${id}`;
}
