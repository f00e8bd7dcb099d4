import WebSocket from 'ws';
import type { RawData } from 'ws';

const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 15_000;

/** The hub refused the command for good (a bad key or request, the feature off, what it resumes gone). */
export class HubRefused extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export interface HubSocketOptions {
  hubUrl: URL;
  apiKey: string;
  /** The endpoint below the hub's URL, e.g. `v1/listen`. */
  path: string;
  /** How notes name the command, e.g. `hookhub listen`. */
  command: string;
  /** The error code of the feature being turned off on the hub (a refusal, not worth retrying). */
  disabledCode: string;
  /** The first frame on each connection (it may resume what an earlier connection opened). */
  hello(): Record<string, unknown>;
  /** Every frame but `error` (which ends the command). */
  onFrame(frame: Record<string, unknown>, socket: WebSocket): void;
  /** A close code of the hub's that ends the command: the error to end it with; null to reconnect. */
  endsWith?(code: number, reason: string): Error | null;
  /** A note about the connection (stderr). */
  note(line: string): void;
}

/**
 * The CLI's end of a hub WebSocket (`hookhub listen`, `hookhub tunnel`): connects with the API key, says hello,
 * hands frames on, and reconnects with backoff when the connection drops, until stopped or refused.
 */
export class HubSocket {
  private socket: WebSocket | null = null;
  private stopped = false;
  private backoffMs = FIRST_BACKOFF_MS;
  private failed: ((err: Error) => void) | null = null;
  private stopResolve: (() => void) | null = null;
  /** Why the current connection is closing, when known before its close event. */
  private closeReason: string | null = null;

  constructor(private readonly options: HubSocketOptions) {}

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

  /** The hub accepted the hello: the next reconnect starts with a short wait again. */
  ready(): void {
    this.backoffMs = FIRST_BACKOFF_MS;
  }

  private fail(err: Error): void {
    this.failed?.(err);
  }

  private connect(): void {
    const url = new URL(this.options.path, this.options.hubUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(url, { headers: { authorization: `Bearer ${this.options.apiKey}` } });
    this.socket = socket;
    socket.on('open', () => socket.send(JSON.stringify({ type: 'hello', ...this.options.hello() })));
    socket.on('message', (data: RawData) => this.onMessage(socket, data));
    socket.on('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const error = errorOf(Buffer.concat(chunks).toString('utf8'));
        const status = res.statusCode ?? 0;
        const message = error?.message ?? `The hub answered the upgrade with HTTP ${status}.`;
        // A refusal (bad key, missing scope, the feature off) does not change by trying again.
        if ((status >= 400 && status < 500) || error?.code === this.options.disabledCode) this.fail(new HubRefused(message, error?.code ?? 'refused'));
        this.closeReason = message;
        socket.terminate();
      });
    });
    socket.on('error', (err) => {
      if (this.closeReason === null && !this.stopped) this.options.note(`${this.options.command}: ${err.message}`);
    });
    socket.on('close', (code: number, reason: Buffer) => {
      if (this.socket === socket) this.socket = null;
      const ending = this.options.endsWith?.(code, reason.toString('utf8')) ?? null;
      if (ending) return this.fail(ending);
      const why = this.closeReason ?? 'the connection to the hub was lost';
      this.closeReason = null;
      this.reconnect(why);
    });
  }

  private reconnect(why: string): void {
    if (this.stopped) return;
    const wait = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
    this.options.note(`${this.options.command}: ${why}; reconnecting in ${(wait / 1000).toFixed(1)} s`);
    setTimeout(() => {
      if (!this.stopped) this.connect();
    }, wait);
  }

  private onMessage(socket: WebSocket, data: RawData): void {
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(String(data)) as Record<string, unknown>;
    } catch {
      return;
    }
    if (frame['type'] === 'error') {
      const error = (frame['error'] ?? {}) as { code?: string; message?: string };
      this.fail(new HubRefused(error.message ?? `The hub refused ${this.options.command}.`, error.code ?? 'refused'));
    } else this.options.onFrame(frame, socket);
  }
}

function errorOf(text: string): { code?: string; message?: string } | null {
  try {
    return (JSON.parse(text) as { error?: { code?: string; message?: string } }).error ?? null;
  } catch {
    return null;
  }
}
