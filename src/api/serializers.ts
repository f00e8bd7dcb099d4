import type { AttemptRecord, DeadLetterRecord, SubscriptionRecord } from '../store/port';

/** The public view of a subscription. The secret is never part of it. */
export function subscriptionView(s: SubscriptionRecord): Record<string, unknown> {
  return {
    id: s.id,
    endpointUrl: s.endpointUrl,
    events: s.events,
    filters: s.filters,
    filter: s.filter,
    payload: s.payload,
    headers: s.headers,
    retryConfig: s.retryConfig,
    active: s.active,
    disabledReason: s.disabledReason,
    description: s.description,
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
    replay: a.replay,
    createdAt: a.createdAt.toISOString(),
  };
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
  };
}
