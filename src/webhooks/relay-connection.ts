import type { WebSocket } from 'ws';
import { newId } from '../core/ids';
import { PendingAnswers } from '../core/pending-answers';
import { RESPONSE_BODY_LIMIT } from '../transport/http-sender';
import type { HttpResult } from '../transport/http-sender';
import type { RelayClient, RelayDelivery } from './relay-target';

/**
 * The listen protocol, JSON text frames over one WebSocket:
 * - client → hub, first: `{"type": "hello", events?, filters?, filter?, subscriptionId?, relayId?, keepSeconds?}`
 * - hub → client: `{"type": "ready", relayId, secret, events, keepSeconds, resumed}` or `{"type": "error", error}`
 * - hub → client: `{"type": "delivery", id, webhookId, eventId, eventType, attempt, headers, body}`
 * - client → hub: `{"type": "answer", id, status, headers, body, durationMs}`, or `{..., status: null, error}`
 *   when the local URL did not answer.
 */
export type ListenMessage = { type: string } & Record<string, unknown>;

/** A connected listen client, as the relay target writes to it: deliveries out, answers back by id. */
export class RelayConnection implements RelayClient {
  private readonly pending = new PendingAnswers<HttpResult>();

  constructor(
    private readonly socket: WebSocket,
    /** How long an answer may take (the hub's delivery timeout, plus the client's own round trip). */
    private readonly answerTimeoutMs: number,
  ) {}

  deliver(delivery: RelayDelivery): Promise<HttpResult> {
    const id = newId('lsd');
    return this.pending.wait(
      id,
      this.answerTimeoutMs,
      (started) => failed('The listen client did not answer in time.', 'timeout', started),
      (settle) => {
        const started = Date.now();
        this.socket.send(JSON.stringify({ type: 'delivery', id, ...delivery }), (err) => {
          if (err) settle(failed(`Could not write to the listen client: ${err.message}`, 'client_disconnected', started));
        });
      },
    );
  }

  /** An answer from the client; false when it is not one to a pending delivery. */
  answer(message: ListenMessage): boolean {
    const id = message['id'];
    const started = this.pending.startedAt(id);
    if (started === undefined) return false;
    return this.pending.settle(id as string, answerResult(message, started));
  }

  /** The connection closed: every delivery still waiting fails, to be retried. */
  closed(): void {
    this.pending.settleAll((started) => failed('The listen client disconnected before answering.', 'client_disconnected', started));
  }
}

function failed(error: string, errorCode: string, started: number): HttpResult {
  return { status: null, headers: {}, body: null, durationMs: Date.now() - started, error, errorCode };
}

/** The client's answer as the attempt's response; the client is not trusted to keep to the limits. */
function answerResult(message: ListenMessage, started: number): HttpResult {
  const status = message['status'];
  const duration = message['durationMs'];
  const durationMs = typeof duration === 'number' && Number.isFinite(duration) && duration >= 0 ? Math.round(duration) : Date.now() - started;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) {
    const error = typeof message['error'] === 'string' ? message['error'].slice(0, 500) : 'The listen client sent no status.';
    return { status: null, headers: {}, body: null, durationMs, error: `Local endpoint: ${error}`, errorCode: 'local_endpoint_failed' };
  }
  const headers: Record<string, string> = {};
  const given = message['headers'];
  if (given && typeof given === 'object' && !Array.isArray(given)) {
    for (const [name, value] of Object.entries(given as Record<string, unknown>).slice(0, 100)) {
      if (typeof value === 'string') headers[name.toLowerCase()] = value.slice(0, 8192);
    }
  }
  const body = typeof message['body'] === 'string' ? message['body'].slice(0, RESPONSE_BODY_LIMIT) : null;
  return { status, headers, body, durationMs, error: null, errorCode: null };
}
