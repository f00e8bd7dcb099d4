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

/**
 * What the hub does when a token endpoint refuses its own app credentials while refreshing a
 * connection: tells the tenant with connection.app_credentials_failed that nothing is asked of it.
 */
export function announceAppCredentialsFailed(operational: Pick<OperationalEvents, 'emit'>): (connection: ConnectionRecord, reason: string) => Promise<void> {
  return (connection, reason) =>
    operational.emit(connection.tenantId, 'connection.app_credentials_failed', {
      connection_id: connection.id,
      connector: connection.connector,
      reason,
      action: "nothing to do: Hookhub's operators are alerted; the connection is kept and its deliveries are retried until the app credentials work again",
    });
}
