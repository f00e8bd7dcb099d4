import { errorMessage, UnrecoverableError, ValidationError } from '../core/errors';
import { ExpressionLimitError } from '../core/sandbox/expression-sandbox';
import { newId, webhookIdFor } from '../core/ids';
import type { SecretBox } from '../core/secret-box';
import { isEventType } from '../events/catalog';
import { CURRENT_EVENT_VERSION } from '../events/envelope';
import type { EventEnvelope } from '../events/envelope';
import { sampleData } from '../events/samples';
import type { EventValidator } from '../events/validator';
import type { AttemptRecord } from './model';
import type { WebhookSubscription } from '../subscriptions/model';
import type { AttemptRecorder } from './attempt-recorder';
import { notSentResult } from '../transport/http-sender';
import type { HttpResult, HttpSender } from '../transport/http-sender';
import { classify } from '../transport/outcome';
import type { PayloadBuilder } from '../webhooks/payload';
import { activeSecrets, signingSecrets } from '../subscriptions/secrets';
import { buildWebhookRequest } from '../webhooks/webhook-request';
import type { WebhookRequest } from '../webhooks/webhook-request';
import { maskSecretHeaders } from '../subscriptions/secret-headers';
import { sentRequest } from '../transport/sent-request';

export interface TestResult {
  success: boolean;
  outcome: string;
  webhookId: string;
  event: EventEnvelope;
  request: { url: string; headers: Record<string, string>; body: string };
  response: { status: number | null; headers: Record<string, string>; body: string | null };
  durationMs: number;
  error: string | null;
}

/**
 * Sends one signed test event right away and reports what the endpoint
 * answered. The attempt goes into the delivery log too, marked as a test, so
 * it shows beside real deliveries (it is never retried or dead-lettered).
 */
export class TestSender {
  constructor(
    private readonly validator: EventValidator,
    private readonly payloads: PayloadBuilder,
    private readonly sender: HttpSender,
    private readonly secretBox: SecretBox,
    private readonly recorder: AttemptRecorder,
    /** How much of the request body the attempt record keeps (HOOKHUB_ATTEMPT_REQUEST_BODY_BYTES). */
    private readonly requestBodyBytes = 16_384,
  ) {}

  async send(subscription: WebhookSubscription, type: string, data: Record<string, unknown> | undefined): Promise<TestResult> {
    if (!isEventType(type)) throw new ValidationError(`"${type}" is not a known event type; see GET /v1/event-types.`, [{ path: '/type', message: 'unknown event type' }]);
    const eventData = data ?? sampleData(type);
    const problems = this.validator.checkData(type, eventData);
    if (problems.length > 0) throw new ValidationError(`The test data does not match the ${type} schema.`, problems);
    const event: EventEnvelope = {
      id: newId('evt_test'),
      type,
      version: CURRENT_EVENT_VERSION,
      timestamp: new Date().toISOString(),
      data: eventData,
      metadata: { test: true },
    };
    const webhookId = webhookIdFor(event.id, subscription.id);
    let request: WebhookRequest;
    try {
      // Signed like a delivery: both signatures during a rotation overlap, v1a for Ed25519 subscriptions.
      const secrets = activeSecrets(signingSecrets(subscription, this.secretBox));
      request = await buildWebhookRequest(this.payloads, subscription, secrets, webhookId, event, 1);
    } catch (err) {
      if (!(err instanceof UnrecoverableError)) throw err;
      await this.record(subscription, event, webhookId, notSentResult(errorMessage(err)), false);
      // A sandbox limit (time, memory) is the expression's fault: 422 with the reason, so the tenant fixes it before events flow.
      if (err instanceof ExpressionLimitError) throw new ExpressionLimitError(err.limit, `The subscription's payload transform failed on the test event: ${err.message}`);
      // The subscription's own payload transform failed: report it like the delivery would.
      return {
        success: false,
        outcome: 'permanent',
        webhookId,
        event,
        request: { url: subscription.endpointUrl, headers: {}, body: '' },
        response: { status: null, headers: {}, body: null },
        durationMs: 0,
        error: errorMessage(err),
      };
    }
    const result = await this.sender.send(request.url, request.headers, request.body);
    const outcome = classify(result);
    await this.record(subscription, event, webhookId, result, outcome.kind === 'success', request);
    return {
      success: outcome.kind === 'success',
      outcome: outcome.kind,
      webhookId,
      event,
      request,
      response: { status: result.status, headers: result.headers, body: result.body },
      durationMs: result.durationMs,
      error: result.error,
    };
  }

  private async record(subscription: WebhookSubscription, event: EventEnvelope, webhookId: string, result: HttpResult, success: boolean, request?: WebhookRequest): Promise<void> {
    const attempt: AttemptRecord = {
      id: newId('att'),
      tenantId: subscription.tenantId,
      subscriptionId: subscription.id,
      eventId: event.id,
      eventType: event.type,
      webhookId,
      attempt: 1,
      status: success ? 'succeeded' : 'failed',
      next: 'none',
      nextAttemptAt: null,
      url: subscription.endpointUrl,
      httpStatus: result.status,
      durationMs: result.durationMs,
      responseHeaders: result.headers,
      responseBody: result.body,
      error: result.error ?? null,
      errorCode: result.errorCode,
      replay: false,
      test: true,
      createdAt: new Date(),
    };
    if (request) attempt.request = sentRequest('POST', request.url, maskSecretHeaders(request.headers, subscription), request.body, this.requestBodyBytes);
    await this.recorder.record(attempt);
  }
}
