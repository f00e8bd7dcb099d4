import type { LoadedConnector } from '../connectors/loader';
import type { AttemptRecord, DeadLetterRecord } from '../pipeline/model';
import type { ConnectionRecord } from '../integrations/model';
import type { IntegrationSubscription, WebhookSubscription } from '../subscriptions/model';
import { headersView } from '../subscriptions/secret-headers';

/** The public view of a subscription. The secret is never part of it. */
export function subscriptionView(s: WebhookSubscription): Record<string, unknown> {
  return {
    id: s.id,
    endpointUrl: s.endpointUrl,
    events: s.events,
    filters: s.filters,
    filter: s.filter,
    payload: s.payload,
    // Secret headers show as {"secret": true}: their values are stored encrypted and never shown again.
    headers: headersView(s),
    retryConfig: s.retryConfig,
    allowedIps: s.allowedIps ?? [],
    rateLimit: s.rateLimit ?? null,
    batch: s.batch ?? null,
    ordering: s.ordering ?? null,
    // The client certificate is stored encrypted; only that one is configured is shown.
    tls: s.tlsSealed ? { clientCertificate: 'configured' } : null,
    active: s.active,
    disabledReason: s.disabledReason,
    description: s.description,
    // Signing: the algorithm, and for Ed25519 the public key (not secret; the private key never leaves the hub).
    signing: { algorithm: s.signing?.algorithm ?? 'hmac-sha256' },
    publicKey: s.publicKey ?? null,
    // Until then the secret before the last rotation signs too (second signature).
    previousSecretExpiresAt: s.previousSecretSealed && s.previousSecretExpiresAt ? s.previousSecretExpiresAt.toISOString() : null,
    // A public JWK, shown as registered.
    encryption: s.encryption ?? null,
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
  };
}

export function attemptView(a: AttemptRecord): Record<string, unknown> {
  return {
    id: a.id,
    subscriptionId: a.subscriptionId,
    eventId: a.eventId,
    eventType: a.eventType,
    webhookId: a.webhookId,
    attempt: a.attempt,
    status: a.status,
    next: a.next,
    nextAttemptAt: a.nextAttemptAt?.toISOString() ?? null,
    url: a.url,
    httpStatus: a.httpStatus,
    durationMs: a.durationMs,
    responseHeaders: a.responseHeaders,
    responseBody: a.responseBody,
    error: a.error,
    errorCode: a.errorCode ?? null,
    // The request as sent (webhooks); null for integrations (their requests are the steps) and older attempts.
    request: a.request ?? null,
    replay: a.replay,
    // The attempt this one's series resends (POST /v1/attempts/:id/resend); null otherwise.
    resentFrom: a.resentFrom ?? null,
    test: a.test ?? false,
    acceptedAt: a.acceptedAt?.toISOString() ?? null,
    createdAt: a.createdAt.toISOString(),
    ...(a.batch ? { batch: a.batch } : {}),
    ...(a.steps === undefined ? {} : { externalId: a.externalId ?? null, steps: a.steps, skipped: a.skipped ?? null, routing: a.routing ?? null }),
  };
}

/** The public view of an integration: a connection subscribed to events. */
export function integrationView(s: IntegrationSubscription): Record<string, unknown> {
  return {
    id: s.id,
    connection: s.integration.connectionId,
    connector: s.integration.connector,
    events: s.events,
    filters: s.filters,
    filter: s.filter,
    triggers: s.integration.triggers,
    qualification: s.integration.qualification ?? null,
    retryConfig: s.retryConfig,
    active: s.active,
    disabledReason: s.disabledReason,
    description: s.description,
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
  };
}

/** The public view of a connection. Credentials and secret settings never appear. */
export function connectionView(c: ConnectionRecord, running: LoadedConnector | null): Record<string, unknown> {
  return {
    id: c.id,
    connector: c.connector,
    connectorVersion: c.connectorVersion,
    runningVersion: running?.manifest.version ?? null,
    config: c.config,
    hasSecrets: c.secretsSealed !== null,
    metadata: c.metadata,
    status: c.status,
    tokenExpiresAt: c.tokenExpiresAt?.toISOString() ?? null,
    description: c.description,
    lastCheckAt: c.lastCheckAt?.toISOString() ?? null,
    lastCheckOk: c.lastCheckOk,
    lastError: c.lastError,
    requirements: c.requirements ?? null,
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
  };
}

/** What a tenant needs to link a connector and pick its triggers. */
export function connectorView(c: LoadedConnector, majors: number[]): Record<string, unknown> {
  const m = c.manifest;
  return {
    name: m.name,
    version: m.version,
    installedMajors: majors,
    title: m.title,
    description: m.description,
    docs: m.docs ?? null,
    auth: { type: m.auth.type },
    config: m.config ?? null,
    credentials: credentialFields(m.auth.type),
    triggers: c.triggers.map((t) => ({ name: t.name, event: t.event, actions: t.actions, conditional: t.when !== null })),
    actions: Object.keys(m.actions),
    rateLimit: m.rate_limit ?? null,
    healthCheck: c.healthCheck !== null,
    requirements: c.requirements ? { scopes: c.requirements.scopes, checks: c.requirements.checks.map((k) => k.name) } : null,
  };
}

function credentialFields(type: string): string[] {
  switch (type) {
    case 'api_key':
      return ['api_key'];
    case 'basic':
      return ['username', 'password'];
    case 'webhook_url':
      return ['webhook_url'];
    default:
      return [];
  }
}

export function deadLetterView(d: DeadLetterRecord): Record<string, unknown> {
  return {
    id: d.id,
    subscriptionId: d.subscriptionId,
    eventId: d.eventId,
    eventType: d.eventType,
    webhookId: d.webhookId,
    reason: d.reason,
    attempts: d.attempts,
    lastStatus: d.lastStatus,
    lastError: d.lastError,
    event: d.event,
    createdAt: d.createdAt.toISOString(),
    replayedAt: d.replayedAt?.toISOString() ?? null,
    replayCount: d.replayCount,
    batch: d.batch ?? null,
    ...(d.overtakenBy ? { overtakenBy: d.overtakenBy } : {}),
  };
}
