import type { OperationalEvents } from '../events/operational-events';
import type { ConnectionRecord } from './model';

/**
 * What the hub does once a connection's OAuth grant is lost (the token manager has marked it
 * needs_reauth): tells its tenant with connection.needs_reauth, saying how to link it again.
 */
export function announceGrantLost(operational: Pick<OperationalEvents, 'emit'>): (connection: ConnectionRecord, reason: string) => Promise<void> {
  return (connection, reason) =>
    operational.emit(connection.tenantId, 'connection.needs_reauth', {
      connection_id: connection.id,
      connector: connection.connector,
      reason,
      relink: `POST /v1/connections/authorize {"connector": "${connection.connector}", "connectionId": "${connection.id}"}`,
    });
}
