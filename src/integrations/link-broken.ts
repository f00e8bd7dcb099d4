import type { OperationalEvents } from '../events/operational-events';
import type { ConnectionRecord } from './model';

/**
 * What the hub does once a connector's error rule said a connection's link is dead (the
 * connection is marked broken by then): tells its tenant with connection.broken, saying how to fix it.
 */
export function announceLinkBroken(operational: Pick<OperationalEvents, 'emit'>): (connection: ConnectionRecord, reason: string) => Promise<void> {
  return (connection, reason) =>
    operational.emit(connection.tenantId, 'connection.broken', {
      connection_id: connection.id,
      connector: connection.connector,
      reason,
      fix: `PATCH /v1/connections/${connection.id} with the link's new credentials or settings (or link the account again); the parked deliveries are then replayed`,
    });
}
