import WebSocket from 'ws';
import { HubSocket } from './hub-socket';

/** The first part of a local response sent back as the attempt's response. */
const BODY_LIMIT = 64 * 1024;
const LOCAL_TIMEOUT_MS = 30_000;

/** What the relay delivers: events, filters, or a subscription to mirror; how long it is kept without this client. */
export interface ListenRequest {
  events?: string[];
  filters?: unknown[];
  filter?: string;
  subscriptionId?: string;
  keepSeconds: number;
}

export interface ListenerOptions {
  hubUrl: URL;
  apiKey: string;
  forwardTo: URL;
  request: ListenRequest;
  /** What happened, for the developer (stdout): the relay is ready, or a delivery was forwarded. */
  report(event: ListenEvent): void;
  /** A note about the connection (stderr). */
  note(line: string): void;
}

/** What `hookhub listen` reports: one line of text each, or one JSON line with --json. */
export type ListenEvent =
  | { type: 'ready'; relayId: string; events: string[] | '*'; forwardTo: string; secret: string }
  | {
      type: 'delivery';
      /** When the local answer came (ISO time). */
      time: string;
      webhookId: string | null;
      eventId: string;
      eventType: string;
      attempt: number | null;
      /** The local app's status; null when it gave no answer (see error). */
      status: number | null;
      durationMs: number;
      error: string | null;
    };

/** A ListenEvent as the line `hookhub listen` prints without --json. */
export function listenLine(event: ListenEvent): string {
  if (event.type === 'ready') {
    const events = event.events === '*' ? '*' : event.events.join(', ');
    return (
      `Ready. Relay ${event.relayId} forwards ${events} to ${event.forwardTo}\n` +
      `Signing secret: ${event.secret} (Standard Webhooks: verify the webhook-id, webhook-timestamp and webhook-signature headers with it)`
    );
  }
  const shown = event.status === null ? `error: ${event.error ?? 'no answer'}  ${event.durationMs} ms` : `${event.status}  ${event.durationMs} ms`;
  return `${new Date(event.time).toTimeString().slice(0, 8)}  ${event.eventType}  ${event.eventId}  → ${shown}`;
}

/** The hub refused the listen request for good (a bad key or request, relays off, the relay gone). */
export { HubRefused as ListenRefused } from './hub-socket';

interface Delivery {
  id: string;
  webhookId?: string;
  attempt?: number;
  eventId: string;
  eventType: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * `hookhub listen`: holds a WebSocket to the hub, posts each delivery to the local URL as the hub would
 * send it, and answers with the response. Reconnects with backoff, resuming the same relay (and secret).
 */
export class Listener {
  private relayId: string | null = null;
  private readonly socket: HubSocket;

  constructor(private readonly options: ListenerOptions) {
    this.socket = new HubSocket({
      hubUrl: options.hubUrl,
      apiKey: options.apiKey,
      path: 'v1/listen',
      command: 'hookhub listen',
      disabledCode: 'relays_disabled',
      hello: () => (this.relayId === null ? { ...options.request } : { relayId: this.relayId, keepSeconds: options.request.keepSeconds }),
      onFrame: (frame, socket) => void this.onFrame(frame, socket),
      note: options.note,
    });
  }

  /** Runs until stop() or a refusal (which it rejects with). */
  run(): Promise<void> {
    return this.socket.run();
  }

  stop(): void {
    this.socket.stop();
  }

  private async onFrame(message: Record<string, unknown>, socket: WebSocket): Promise<void> {
    if (message['type'] === 'ready') {
      this.socket.ready();
      const resumed = this.relayId !== null;
      this.relayId = String(message['relayId']);
      if (resumed) this.options.note(`hookhub listen: reconnected to relay ${this.relayId}`);
      else this.printReady(message);
    } else if (message['type'] === 'delivery') {
      const delivery = message as unknown as Delivery;
      const answer = await this.forward(delivery);
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'answer', id: delivery.id, ...answer }));
    }
  }

  private printReady(ready: Record<string, unknown>): void {
    this.options.report({
      type: 'ready',
      relayId: String(ready['relayId']),
      events: Array.isArray(ready['events']) ? (ready['events'] as string[]) : '*',
      forwardTo: this.options.forwardTo.href,
      secret: String(ready['secret']),
    });
  }

  /** Posts the delivery to the local URL exactly as the hub would send it; the response, or why there is none. */
  private async forward(delivery: Delivery): Promise<Record<string, unknown>> {
    const started = performance.now();
    let answer: Record<string, unknown>;
    let status: number | null = null;
    let error: string | null = null;
    try {
      const response = await fetch(this.options.forwardTo, {
        method: 'POST',
        headers: delivery.headers,
        body: delivery.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(LOCAL_TIMEOUT_MS),
      });
      const body = Buffer.from(await response.arrayBuffer()).subarray(0, BODY_LIMIT).toString('utf8');
      const durationMs = Math.round(performance.now() - started);
      answer = { status: response.status, headers: Object.fromEntries(response.headers), body, durationMs };
      status = response.status;
    } catch (err) {
      const durationMs = Math.round(performance.now() - started);
      const cause = (err as { cause?: { message?: string } }).cause?.message;
      error = cause ?? (err as Error).message;
      answer = { status: null, error, durationMs };
    }
    this.options.report({
      type: 'delivery',
      time: new Date().toISOString(),
      webhookId: delivery.webhookId ?? null,
      eventId: delivery.eventId,
      eventType: delivery.eventType,
      attempt: delivery.attempt ?? null,
      status,
      durationMs: answer['durationMs'] as number,
      error,
    });
    return answer;
  }
}
