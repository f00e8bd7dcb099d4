import type { Paint } from './output';

/** A delivery attempt as the API shows it (docs/openapi.json, DeliveryAttempt). */
export interface AttemptView {
  id: string;
  subscriptionId: string;
  eventId: string;
  eventType: string;
  webhookId: string;
  attempt: number;
  status: 'succeeded' | 'failed';
  next: 'none' | 'retry' | 'dead_letter';
  nextAttemptAt: string | null;
  url: string;
  httpStatus: number | null;
  durationMs: number;
  responseHeaders: Record<string, string>;
  responseBody: string | null;
  error: string | null;
  errorCode?: string | null;
  /** The request as sent (webhooks; secret header values masked, body cut to the hub's limit); null when not stored. */
  request?: { method: string; url: string; headers: Record<string, string>; body: string | null; bodyTruncated: boolean } | null;
  replay: boolean;
  /** Attempts of a resend: the attempt resent (null otherwise; absent from older hubs). */
  resentFrom?: string | null;
  test: boolean;
  acceptedAt?: string | null;
  createdAt: string;
  externalId?: string | null;
  steps?: unknown[];
  skipped?: string | null;
}

/** A page of a list (lists run newest first; pass nextCursor as cursor for the older ones). */
export interface PageView<T> {
  data: T[];
  nextCursor: string | null;
}

/** What follows an attempt: nothing, a retry at a time, or a dead letter. */
export function nextStep(a: AttemptView): string {
  if (a.next === 'retry') return a.nextAttemptAt === null ? 'retry' : `retry ${a.nextAttemptAt}`;
  if (a.next === 'dead_letter') return 'dead letter';
  return '-';
}

/** The outcome: succeeded/failed with the endpoint's status, or the error when there was no answer. */
function outcome(a: AttemptView, paint: Paint): string {
  const status = `${a.status} ${a.httpStatus ?? '---'}`.padEnd(13);
  return a.status === 'succeeded' ? paint.green(status) : paint.red(status);
}

/** One line per attempt: time, event type, event id, subscription, status, duration, next retry, marks, attempt id. */
export function attemptLine(a: AttemptView, paint: Paint): string {
  const marks = [a.attempt > 1 ? `#${a.attempt}` : '', a.resentFrom ? 'resend' : a.replay ? 'replay' : '', a.test ? 'test' : ''].filter((m) => m !== '').join(',');
  return [
    paint.dim(a.createdAt),
    a.eventType.padEnd(24),
    a.eventId,
    a.subscriptionId,
    outcome(a, paint),
    `${a.durationMs} ms`.padStart(8),
    nextStep(a),
    marks === '' ? '' : paint.dim(`(${marks})`),
    // Last, for `hookhub deliveries show <id>`.
    paint.dim(a.id),
  ]
    .filter((column) => column !== '')
    .join('  ')
    .trimEnd();
}

/** The attempt in full, for `deliveries show`. */
export function attemptDetail(a: AttemptView, paint: Paint): string[] {
  const lines = [
    `${paint.bold('Attempt')}       ${a.id} (#${a.attempt}${a.resentFrom ? `, resent from ${a.resentFrom}` : a.replay ? ', replay' : ''}${a.test ? ', test send' : ''})`,
    `Event         ${a.eventType} ${a.eventId}`,
    `Subscription  ${a.subscriptionId}`,
    `Webhook id    ${a.webhookId}`,
    `At            ${a.createdAt}`,
    `Request       ${a.request?.method ?? 'POST'} ${a.request?.url ?? a.url}`,
    `Outcome       ${outcome(a, paint).trimEnd()} in ${a.durationMs} ms`,
    `Next          ${nextStep(a)}`,
  ];
  if (a.error !== null) lines.push(`Error         ${a.error}`);
  if (a.skipped) lines.push(`Skipped       ${a.skipped}`);
  if (a.externalId) lines.push(`External id   ${a.externalId}`);
  if (a.request) lines.push(...requestLines(a.request, paint));
  const headers = Object.entries(a.responseHeaders);
  if (headers.length > 0) {
    lines.push('', paint.bold('Response headers'));
    for (const [name, value] of headers) lines.push(`  ${name}: ${value}`);
  }
  if (a.responseBody !== null) lines.push('', paint.bold('Response body'), a.responseBody);
  if (a.steps !== undefined && a.steps.length > 0) lines.push('', paint.bold('Requests (credentials masked)'), JSON.stringify(a.steps, null, 2));
  else if (!a.request) {
    lines.push(
      '',
      paint.dim(`The request as sent (headers, body) is not stored: its body was event ${a.eventId} (GET /v1/events/${a.eventId}) in the subscription's payload format, with the signature headers.`),
    );
  }
  return lines;
}

/** The request as sent: its headers (secret values masked by the hub) and body, or why the body is missing. */
function requestLines(request: NonNullable<AttemptView['request']>, paint: Paint): string[] {
  const lines = ['', paint.bold('Request headers')];
  for (const [name, value] of Object.entries(request.headers)) lines.push(`  ${name}: ${value}`);
  if (request.body === null) lines.push('', paint.dim('The request body is not stored (HOOKHUB_ATTEMPT_REQUEST_BODY_BYTES=0 on the hub).'));
  else {
    lines.push('', paint.bold(request.bodyTruncated ? 'Request body (cut at the hub\'s HOOKHUB_ATTEMPT_REQUEST_BODY_BYTES)' : 'Request body'), request.body);
  }
  return lines;
}
