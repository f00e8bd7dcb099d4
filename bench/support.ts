import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import amqplib from 'amqplib';
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { businessCreated } from '../test/support/test-hub';
import { AMQP_URL, MONGODB_BASE } from '../test/support/services';

// The bench runs on the same services as the tests (HOOKHUB_TEST_AMQP_URL / HOOKHUB_TEST_MONGODB_URL override them).
export { AMQP_URL, MONGODB_BASE };

/** A positive whole number from the environment, or the fallback. */
export function envInt(name: string, fallback: number, min = 1): number {
  const raw = process.env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name}="${raw}" must be a whole number >= ${min}`);
  return value;
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

export function mongoUrlFor(database: string): string {
  return `${MONGODB_BASE}/${database}`;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${Math.round(ms / 1000)} s`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` until it is true; throws with `describe()` after `timeoutMs`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s: ${describe()}`);
    await sleep(intervalMs);
  }
}

/** Teardown steps, run newest first, each bounded in time; failures are reported, not thrown. */
export class Cleanup {
  private readonly steps: Array<{ name: string; run: () => Promise<void> }> = [];
  private ran = false;

  add(name: string, run: () => Promise<void>): void {
    this.steps.push({ name, run });
  }

  async runAll(): Promise<boolean> {
    if (this.ran) return true;
    this.ran = true;
    let ok = true;
    for (const step of this.steps.reverse()) {
      try {
        await withTimeout(step.run(), 60_000, `cleanup ${step.name}`);
      } catch (err) {
        ok = false;
        console.error(`cleanup: ${step.name} failed: ${(err as Error).message}`);
      }
    }
    return ok;
  }
}

/** Runs a bench side tool: `main` gets the cleanup, which runs however it ends; a failure exits 1. */
export function runTool(main: (cleanup: Cleanup) => Promise<void>): void {
  const cleanup = new Cleanup();
  main(cleanup)
    .finally(() => cleanup.runAll())
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}

// Topology and database cleanup are the test suite's own helpers.
export { deleteTopology, dropDatabase } from '../test/support/services';

export async function deleteQueue(queue: string): Promise<void> {
  const connection = await amqplib.connect(AMQP_URL);
  try {
    const channel = await connection.createChannel();
    await channel.deleteQueue(queue);
    await channel.close();
  } finally {
    await connection.close();
  }
}


/** A confirm channel that respects flow control; `settle()` waits for every outstanding confirm. */
export class ConfirmPublisher {
  nacked = 0;
  private constructor(
    private readonly connection: ChannelModel,
    readonly channel: ConfirmChannel,
  ) {}

  static async open(): Promise<ConfirmPublisher> {
    const connection = await amqplib.connect(AMQP_URL);
    const channel = await connection.createConfirmChannel();
    return new ConfirmPublisher(connection, channel);
  }

  /** Publishes (exchange "" = default exchange, routing key = queue); waits only when the channel's buffer is full. */
  async publish(exchange: string, routingKey: string, body: Buffer): Promise<void> {
    const ok = this.channel.publish(exchange, routingKey, body, { persistent: true, contentType: 'application/json' }, (err) => {
      if (err) this.nacked += 1;
    });
    if (!ok) await once(this.channel, 'drain');
  }

  async settle(): Promise<void> {
    await this.channel.waitForConfirms();
    if (this.nacked > 0) throw new Error(`RabbitMQ nacked ${this.nacked} published messages`);
  }

  async close(): Promise<void> {
    await this.channel.close().catch(() => undefined);
    await this.connection.close().catch(() => undefined);
  }
}

/**
 * The webhook receiver: node:http servers on loopback (one by default; several
 * give distinct endpoint origins) that answer 200 at once. It counts requests
 * over all its servers; `onBody`, when set, also sees each request body.
 */
export class Receiver {
  received = 0;
  onBody: ((body: string, at: number) => void) | null = null;
  readonly urls: string[] = [];
  private readonly servers: http.Server[] = [];
  private readonly waiters: Array<{ count: number; resolve: () => void }> = [];

  private constructor() {}

  static async start(servers = 1): Promise<Receiver> {
    const receiver = new Receiver();
    for (let i = 0; i < servers; i++) await receiver.listen();
    return receiver;
  }

  /** The first server's URL. */
  get url(): string {
    return this.urls[0] as string;
  }

  private async listen(): Promise<void> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
        res.end('ok');
        this.record(chunks);
      });
    });
    server.keepAliveTimeout = 60_000;
    server.headersTimeout = 65_000;
    this.servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    this.urls.push(`http://127.0.0.1:${port}`);
  }

  private record(chunks: Buffer[]): void {
    this.received += 1;
    if (this.onBody) this.onBody(Buffer.concat(chunks).toString('utf8'), Date.now());
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i];
      if (waiter && this.received >= waiter.count) {
        this.waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  reset(): void {
    this.received = 0;
    this.onBody = null;
  }

  /** Resolves as soon as `count` requests have arrived (since the last reset). */
  async waitFor(count: number, timeoutMs: number): Promise<void> {
    if (this.received >= count) return;
    const reached = new Promise<void>((resolve) => this.waiters.push({ count, resolve }));
    try {
      await withTimeout(reached, timeoutMs, `receiver waiting for ${count} requests`);
    } catch (err) {
      throw new Error(`${(err as Error).message}; received ${this.received}`);
    }
  }

  async close(): Promise<void> {
    await Promise.all(
      this.servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
          }),
      ),
    );
  }
}

/** Peak resident set size of this process, sampled every 500 ms. */
export class RssSampler {
  peakBytes = 0;
  private timer: NodeJS.Timeout | null = null;

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), 500);
    this.timer.unref();
  }

  sample(): void {
    this.peakBytes = Math.max(this.peakBytes, process.memoryUsage().rss);
  }

  stop(): void {
    this.sample();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  get peakMb(): number {
    return this.peakBytes / (1024 * 1024);
  }
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export const round = (value: number, digits = 0): number => {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
};

/** Size an event envelope is padded to, in bytes of JSON. */
export const EVENT_BYTES = 1024;

/**
 * A valid business.created envelope of about EVENT_BYTES bytes. `publishedAtMs`
 * rides in `data` (delivered to the receiver) and in `metadata` (not delivered).
 */
export function businessCreatedEvent(id: string, publishedAtMs: number | null = null): Buffer {
  const build = (padding: string): string =>
    JSON.stringify({
      id,
      version: '1.0',
      timestamp: new Date().toISOString(),
      ...businessCreated({}, { id: `biz_${id}`, description: padding, ...(publishedAtMs === null ? {} : { published_at_ms: publishedAtMs }) }),
      metadata: { source: 'hookhub-bench', ...(publishedAtMs === null ? {} : { published_at_ms: publishedAtMs }) },
    });
  const bare = build('');
  return Buffer.from(bare.length >= EVENT_BYTES ? bare : build('x'.repeat(EVENT_BYTES - bare.length)));
}
