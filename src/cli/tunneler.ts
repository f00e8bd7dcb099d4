import http from 'node:http';
import https from 'node:https';
import WebSocket from 'ws';
import { endToEnd, headerObject, pairsOf } from '../tunnels/http-headers';
import type { HeaderPairs } from '../tunnels/http-headers';
import { TUNNEL_CLOSED_CODE } from '../tunnels/tunnel-connection';
import { HubRefused, HubSocket } from './hub-socket';

/** What the hub said it allows, until its ready frame says otherwise. */
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export interface TunnelerOptions {
  hubUrl: URL;
  apiKey: string;
  /** The local URL requests go to; the path below the tunnel's prefix is appended to its path. */
  to: URL;
  keepSeconds: number;
  /** The public URL, once (stdout). */
  ready(url: string, tunnelId: string): void;
  /** One request handled (stdout). */
  handled(line: HandledRequest): void;
  /** A note about the connection (stderr). */
  note(line: string): void;
}

/** A request the tunnel took and what the local app answered (or why it did not). */
export interface HandledRequest {
  time: string;
  method: string;
  path: string;
  status: number | null;
  durationMs: number;
  error?: string;
}

interface RequestFrame {
  id: string;
  method: string;
  path: string;
  headers: unknown;
  body: string;
}

type LocalAnswer = { status: number; headers: HeaderPairs; body: string; durationMs: number } | { status: null; error: string; durationMs: number };

/**
 * `hookhub tunnel`: holds a WebSocket to the hub and sends each request made to the public URL to the local URL,
 * answering with the local response; many at once, each matched by its id. Reconnects with backoff, resuming
 * the same tunnel (and URL) with the resume key the hub gave on the first connection.
 */
export class Tunneler {
  private resume: { tunnelId: string; resumeKey: string } | null = null;
  private timeoutMs = DEFAULT_TIMEOUT_MS;
  private maxBodyBytes = DEFAULT_MAX_BODY_BYTES;
  private readonly socket: HubSocket;

  constructor(private readonly options: TunnelerOptions) {
    this.socket = new HubSocket({
      hubUrl: options.hubUrl,
      apiKey: options.apiKey,
      path: 'v1/tunnel',
      command: 'hookhub tunnel',
      disabledCode: 'tunnels_disabled',
      hello: () => this.resume ?? { target: options.to.href, keepSeconds: options.keepSeconds },
      onFrame: (frame, socket) => this.onFrame(frame, socket),
      endsWith: (code) => (code === TUNNEL_CLOSED_CODE ? new HubRefused('The tunnel was closed through the API (DELETE /v1/tunnels/:id); its URL no longer works.', 'tunnel_closed') : null),
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

  private onFrame(frame: Record<string, unknown>, socket: WebSocket): void {
    if (frame['type'] === 'ready') {
      this.socket.ready();
      this.timeoutMs = typeof frame['timeoutMs'] === 'number' ? frame['timeoutMs'] : this.timeoutMs;
      this.maxBodyBytes = typeof frame['maxBodyBytes'] === 'number' ? frame['maxBodyBytes'] : this.maxBodyBytes;
      const tunnelId = String(frame['tunnelId']);
      if (this.resume) this.options.note(`hookhub tunnel: reconnected to tunnel ${tunnelId} (same URL)`);
      else {
        this.resume = { tunnelId, resumeKey: String(frame['resumeKey']) };
        this.options.ready(String(frame['url']), tunnelId);
      }
    } else if (frame['type'] === 'request') {
      const request = frame as unknown as RequestFrame;
      void this.forward(request).then((answer) => {
        if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'response', id: request.id, ...answer }));
        this.options.handled({
          time: new Date().toISOString(),
          method: request.method,
          path: request.path,
          status: answer.status,
          durationMs: answer.durationMs,
          ...(answer.status === null ? { error: answer.error } : {}),
        });
      });
    }
  }

  /** Sends the request to the local URL as it came to the public one; the response, or why there is none. */
  private forward(request: RequestFrame): Promise<LocalAnswer> {
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    const base = this.options.to;
    const url = new URL(`${base.origin}${base.pathname.replace(/\/+$/, '')}${request.path}`);
    const body = Buffer.from(typeof request.body === 'string' ? request.body : '', 'base64');
    const headers = headerObject(endToEnd(request.headers));
    if (body.length > 0) headers['content-length'] = String(body.length);
    return new Promise((resolve) => {
      const settle = (answer: LocalAnswer): void => {
        clearTimeout(timer);
        resolve(answer);
      };
      const local = (url.protocol === 'https:' ? https : http).request(url, { method: request.method, headers }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > this.maxBodyBytes) {
            res.destroy();
            settle({ status: null, error: `the local response body is larger than ${this.maxBodyBytes} bytes, the most the hub forwards`, durationMs: elapsed() });
          } else chunks.push(chunk);
        });
        res.on('end', () => settle({ status: res.statusCode ?? 502, headers: endToEnd(pairsOf(res.rawHeaders)), body: Buffer.concat(chunks).toString('base64'), durationMs: elapsed() }));
        res.on('error', (err) => settle({ status: null, error: err.message, durationMs: elapsed() }));
      });
      // The hub answers 504 at its timeout; the local request is given up just after.
      const timer = setTimeout(() => local.destroy(new Error(`no answer within ${this.timeoutMs / 1000} s`)), this.timeoutMs + 1000);
      local.on('error', (err) => settle({ status: null, error: err.message || String((err as { code?: string }).code), durationMs: elapsed() }));
      local.end(body);
    });
  }
}
