import WebSocket from 'ws';
import type { RawData } from 'ws';

/** The first part of a local response sent back as the attempt's response. */
const BODY_LIMIT = 64 * 1024;
const LOCAL_TIMEOUT_MS = 30_000;
const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 15_000;

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
  /** A line for the developer (stdout). */
  print(line: string): void;
  /** A note about the connection (stderr). */
  note(line: string): void;
}

/** The hub refused the listen request for good (a bad key or request, relays off, the relay gone). */
export class ListenRefused extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

interface Delivery {
  id: string;
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
  private socket: WebSocket | null = null;
  private stopped = false;
  private backoffMs = FIRST_BACKOFF_MS;
  private failed: ((err: Error) => void) | null = null;
  private stopResolve: (() => void) | null = null;
  /** Why the current connection is closing, when known before its close event. */
  private closeReason: string | null = null;

  constructor(private readonly options: ListenerOptions) {}

  /** Runs until stop() or a refusal (which it rejects with). */
  run(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.failed = (err) => {
        this.stopped = true;
        this.socket?.terminate();
        reject(err);
      };
      this.stopResolve = resolve;
      this.connect();
    });
  }

  stop(): void {
    this.stopped = true;
    this.socket?.close(1000, 'bye');
    this.stopResolve?.();
  }

  private connect(): void {
    const url = new URL('v1/listen', this.options.hubUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(url, { headers: { authorization: `Bearer ${this.options.apiKey}` } });
    this.socket = socket;
    socket.on('open', () => {
      const hello = this.relayId === null ? { ...this.options.request } : { relayId: this.relayId, keepSeconds: this.options.request.keepSeconds };
      socket.send(JSON.stringify({ type: 'hello', ...hello }));
    });
    socket.on('message', (data: RawData) => void this.onMessage(socket, data));
    socket.on('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const error = errorOf(Buffer.concat(chunks).toString('utf8'));
        const status = res.statusCode ?? 0;
        const message = error?.message ?? `The hub answered the upgrade with HTTP ${status}.`;
        // A refusal (bad key, missing scope, relays off) does not change by trying again.
        if ((status >= 400 && status < 500) || error?.code === 'relays_disabled') this.failed?.(new ListenRefused(message, error?.code ?? 'refused'));
        this.closeReason = message;
        socket.terminate();
      });
    });
    socket.on('error', (err) => {
      if (this.closeReason === null && !this.stopped) this.options.note(`hookhub listen: ${err.message}`);
    });
    socket.on('close', () => {
      if (this.socket === socket) this.socket = null;
      const why = this.closeReason ?? 'the connection to the hub was lost';
      this.closeReason = null;
      this.reconnect(why);
    });
  }

  private reconnect(why: string): void {
    if (this.stopped) return;
    const wait = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
    this.options.note(`hookhub listen: ${why}; reconnecting in ${(wait / 1000).toFixed(1)} s`);
    setTimeout(() => {
      if (!this.stopped) this.connect();
    }, wait);
  }

  private async onMessage(socket: WebSocket, data: RawData): Promise<void> {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(String(data)) as Record<string, unknown>;
    } catch {
      return;
    }
    if (message['type'] === 'ready') {
      this.backoffMs = FIRST_BACKOFF_MS;
      const resumed = this.relayId !== null;
      this.relayId = String(message['relayId']);
      if (resumed) this.options.note(`hookhub listen: reconnected to relay ${this.relayId}`);
      else this.printReady(message);
    } else if (message['type'] === 'error') {
      const error = (message['error'] ?? {}) as { code?: string; message?: string };
      this.failed?.(new ListenRefused(error.message ?? 'The hub refused the listen request.', error.code ?? 'refused'));
    } else if (message['type'] === 'delivery') {
      const delivery = message as unknown as Delivery;
      const answer = await this.forward(delivery);
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'answer', id: delivery.id, ...answer }));
    }
  }

  private printReady(ready: Record<string, unknown>): void {
    const events = Array.isArray(ready['events']) ? (ready['events'] as string[]).join(', ') : '*';
    this.options.print(`Ready. Relay ${String(ready['relayId'])} forwards ${events} to ${this.options.forwardTo.href}`);
    this.options.print(`Signing secret: ${String(ready['secret'])} (Standard Webhooks: verify the webhook-id, webhook-timestamp and webhook-signature headers with it)`);
  }

  /** Posts the delivery to the local URL exactly as the hub would send it; the response, or why there is none. */
  private async forward(delivery: Delivery): Promise<Record<string, unknown>> {
    const started = performance.now();
    let answer: Record<string, unknown>;
    let shown: string;
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
      shown = `${response.status}  ${durationMs} ms`;
    } catch (err) {
      const durationMs = Math.round(performance.now() - started);
      const cause = (err as { cause?: { message?: string } }).cause?.message;
      const error = cause ?? (err as Error).message;
      answer = { status: null, error, durationMs };
      shown = `error: ${error}  ${durationMs} ms`;
    }
    this.options.print(`${new Date().toTimeString().slice(0, 8)}  ${delivery.eventType}  ${delivery.eventId}  → ${shown}`);
    return answer;
  }
}

function errorOf(text: string): { code?: string; message?: string } | null {
  try {
    return (JSON.parse(text) as { error?: { code?: string; message?: string } }).error ?? null;
  } catch {
    return null;
  }
}
