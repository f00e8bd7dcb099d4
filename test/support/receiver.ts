import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: Record<string, unknown>;
  at: number;
}

export type Responder = (req: ReceivedRequest, nth: number) => { status?: number; headers?: Record<string, string>; body?: string; delayMs?: number } | void;

/** A real HTTP server on loopback that records what it receives and answers as told. */
export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  respond(responder: Responder): void;
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

export async function startReceiver(responder?: Responder): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  let current: Responder = responder ?? (() => undefined);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(body) as Record<string, unknown>;
      } catch {
        // not JSON; kept as text
      }
      const received: ReceivedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, json, at: Date.now() };
      requests.push(received);
      const answer = current(received, requests.length) ?? {};
      const send = (): void => {
        if (res.destroyed) return;
        res.writeHead(answer.status ?? 200, answer.headers ?? { 'content-type': 'text/plain' });
        res.end(answer.body ?? 'ok');
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    respond(next) {
      current = next;
    },
    async waitFor(count, timeoutMs = 20_000) {
      await waitUntil(() => requests.length >= count, timeoutMs, () => `expected ${count} requests, got ${requests.length}`);
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 45_000, describe?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms${describe ? `: ${describe()}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Receivers a test file starts as it goes, all closed at the end (`afterAll(pool.closeAll)`). */
export interface ReceiverPool {
  start(responder?: Responder): Promise<Receiver>;
  closeAll(): Promise<void>;
}

export function receiverPool(): ReceiverPool {
  const started: Receiver[] = [];
  return {
    async start(responder) {
      const r = await startReceiver(responder);
      started.push(r);
      return r;
    },
    async closeAll() {
      await Promise.all(started.splice(0).map((r) => r.close()));
    },
  };
}
