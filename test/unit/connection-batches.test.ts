import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ManualClock } from '../../src/core/clock';
import { loadManifest } from '../../src/connectors/loader';
import type { LoadedConnector } from '../../src/connectors/loader';
import { ConnectorRuntime } from '../../src/connectors/runtime';
import type { OutgoingRequest } from '../../src/connectors/hooks';
import { BatchQueue } from '../../src/core/batch-queue';
import type { BatchOutcome, BatchTimers } from '../../src/core/batch-queue';
import { batchesRequests, ConnectionBatches } from '../../src/integrations/connection-batches';
import { ConnectionPacer } from '../../src/integrations/paced-transport';
import { localRateSlots } from '../../src/integrations/shared-rate-limiter';
import type { HttpResult } from '../../src/transport/http-sender';

/**
 * action.batch: the jobs of one connection that reach a batched action go as one request, when
 * max_items have come or the first has waited max_wait_ms; one request per connection and action
 * in flight; a job that would wait behind a full batch comes back later; every job records the
 * one request's answer. Time is a ManualClock and the timers fire when it is moved on.
 */

/** Timers that fire when the test moves the clock on, never by themselves. */
class ManualTimers implements BatchTimers {
  private pending: Array<{ at: number; callback: () => void; handle: number }> = [];
  private next = 0;

  constructor(private readonly clock: ManualClock) {}

  set(callback: () => void, delayMs: number): unknown {
    const handle = ++this.next;
    this.pending.push({ at: this.clock.now() + delayMs, callback, handle });
    return handle;
  }

  clear(handle: unknown): void {
    this.pending = this.pending.filter((t) => t.handle !== handle);
  }

  /** Moves the clock on and fires every timer that is due by then. */
  advance(ms: number): void {
    this.clock.advance(ms);
    const due = this.pending.filter((t) => t.at <= this.clock.now());
    this.pending = this.pending.filter((t) => t.at > this.clock.now());
    for (const t of due) t.callback();
  }
}

/** Lets resolved promises run their continuations. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function deferred<T>(): { promise: Promise<T>; resolve(value: T): void; reject(err: unknown): void } {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('BatchQueue', () => {
  const limits = { maxItems: 3, maxWaitMs: 1000 };
  let clock: ManualClock;
  let timers: ManualTimers;
  let queue: BatchQueue<string, string>;
  let flushed: string[][];
  let answers: Array<ReturnType<typeof deferred<BatchOutcome<string>>>>;
  const flush = (items: string[]): Promise<BatchOutcome<string>> => {
    flushed.push(items);
    const answer = deferred<BatchOutcome<string>>();
    answers.push(answer);
    return answer.promise;
  };

  beforeEach(() => {
    clock = new ManualClock(1_000_000);
    timers = new ManualTimers(clock);
    queue = new BatchQueue(clock, timers);
    flushed = [];
    answers = [];
  });

  it('sends a batch when max_items jobs have come, at once', async () => {
    const jobs = ['a', 'b', 'c'].map((item) => queue.add('k', limits, item, flush));
    expect(flushed).toEqual([['a', 'b', 'c']]);
    answers[0]?.resolve({ kind: 'sent', value: 'ok' });
    expect(await Promise.all(jobs)).toEqual([
      { kind: 'sent', value: 'ok' },
      { kind: 'sent', value: 'ok' },
      { kind: 'sent', value: 'ok' },
    ]);
  });

  it('sends a smaller batch once its first job has waited max_wait_ms, not before', async () => {
    const first = queue.add('k', limits, 'a', flush);
    timers.advance(600);
    const second = queue.add('k', limits, 'b', flush);
    timers.advance(399);
    expect(flushed).toEqual([]);
    timers.advance(1);
    expect(flushed).toEqual([['a', 'b']]);
    answers[0]?.resolve({ kind: 'sent', value: 'ok' });
    await expect(first).resolves.toEqual({ kind: 'sent', value: 'ok' });
    await expect(second).resolves.toEqual({ kind: 'sent', value: 'ok' });
  });

  it('keeps one request per key in flight: jobs that come meanwhile form the next batch, sent when it answers', async () => {
    const firstBatch = ['a', 'b', 'c'].map((item) => queue.add('k', limits, item, flush));
    const next = ['d', 'e'].map((item) => queue.add('k', limits, item, flush));
    // Due, but the first request has not answered.
    timers.advance(5000);
    expect(flushed).toEqual([['a', 'b', 'c']]);
    answers[0]?.resolve({ kind: 'sent', value: 'one' });
    await Promise.all(firstBatch);
    await settle();
    expect(flushed).toEqual([['a', 'b', 'c'], ['d', 'e']]);
    answers[1]?.resolve({ kind: 'sent', value: 'two' });
    expect(await Promise.all(next)).toEqual([
      { kind: 'sent', value: 'two' },
      { kind: 'sent', value: 'two' },
    ]);
    expect(queue.waiting('k')).toBe(0);
  });

  it('defers a job that finds a full batch waiting behind the one in flight, instead of letting it wait for two requests', async () => {
    ['a', 'b', 'c'].forEach((item) => void queue.add('k', limits, item, flush));
    ['d', 'e', 'f'].forEach((item) => void queue.add('k', limits, item, flush));
    await expect(queue.add('k', limits, 'g', flush)).resolves.toEqual({ kind: 'deferred', delayMs: 1000 });
    expect(queue.waiting('k')).toBe(3);
  });

  it('sends a waiting batch as soon as the request in flight answers once an item was turned away for its size, not at max_wait_ms', async () => {
    const sized = { maxItems: 100, maxWaitMs: 60_000, maxBytes: 2048 };
    const add = (item: string) => queue.add('k', sized, item, flush, 700);
    // 1 and 2 fit; 3 does not: 1 and 2 go, 3 waits.
    const jobs = ['1', '2', '3'].map(add);
    expect(flushed).toEqual([['1', '2']]);
    // 4 joins 3; 5 would take them past 2048 while 1 and 2 are in flight: turned away (comes back later).
    jobs.push(add('4'));
    await expect(add('5')).resolves.toEqual({ kind: 'deferred', delayMs: 60_000 });
    answers[0]?.resolve({ kind: 'sent', value: 'one' });
    await settle();
    // 3 and 4 go at once: nothing more fits, so waiting out the 60 s would only delay them.
    expect(flushed).toEqual([['1', '2'], ['3', '4']]);
    answers[1]?.resolve({ kind: 'sent', value: 'two' });
    expect(await Promise.all(jobs)).toEqual(['one', 'one', 'two', 'two'].map((value) => ({ kind: 'sent', value })));
  });

  it('keys batch apart: two connections never share a request', () => {
    void queue.add('k1', limits, 'a', flush);
    void queue.add('k2', limits, 'b', flush);
    timers.advance(1000);
    expect(flushed).toEqual([['a'], ['b']]);
  });

  it('gives every job of the batch the same deferral, and rejects every job when the request throws', async () => {
    const deferredJobs = ['a', 'b', 'c'].map((item) => queue.add('k', limits, item, flush));
    answers[0]?.resolve({ kind: 'deferred', delayMs: 4200 });
    expect(await Promise.all(deferredJobs)).toEqual(Array(3).fill({ kind: 'deferred', delayMs: 4200 }));
    await settle();
    const failing = ['x', 'y', 'z'].map((item) => queue.add('k', limits, item, flush));
    answers[1]?.reject(new Error('store down'));
    for (const job of failing) await expect(job).rejects.toThrow('store down');
  });
});

describe('a batched action through the runtime and ConnectionBatches', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'hh-connection-batches-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  function connector(): LoadedConnector {
    const name = `batch-${Math.random().toString(36).slice(2, 10)}`;
    mkdirSync(path.join(root, name));
    const file = path.join(root, name, 'connector.yaml');
    writeFileSync(
      file,
      `name: ${name}
version: 1.0.0
title: Batches
description: a connector for one test
auth: { type: webhook_url }
actions:
  append:
    method: POST
    url: "{{ $credentials.webhook_url }}"
    body: '{"rows": $, "ids": [$events.id]}'
    response: { id: range }
    batch: { max_items: 3, max_wait_ms: 2000 }
triggers:
  - event: business.created
    actions: [append]
    mapping: '[data.id, data.name]'
  - event: review.created
    actions: [append]
    mapping: '[data.id, $string(data.rating)]'
`,
    );
    const result = loadManifest(file, root);
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    return result.connector;
  }

  const ctx = { connectionId: 'con_1', config: {}, credentials: { webhook_url: 'https://api.example.com/append' }, metadata: {} };
  const event = (id: string, type: string, data: Record<string, unknown>) => ({ id, type, version: '1.0', timestamp: '2026-12-01T00:00:00Z', data });

  it('sends the rows of several events, of different types, as one request, and every job records its answer', async () => {
    const clock = new ManualClock(1_000_000);
    const timers = new ManualTimers(clock);
    const sent: OutgoingRequest[] = [];
    const transport = {
      send: async (_action: string, request: OutgoingRequest): Promise<HttpResult> => {
        sent.push(request);
        return { status: 200, headers: {}, body: JSON.stringify({ range: 'Sheet1!A2:B3' }), durationMs: 7, error: null, errorCode: null };
      },
    };
    const runtime = new ConnectorRuntime();
    const batches = new ConnectionBatches(runtime, transport, new ConnectionPacer(localRateSlots(), clock), clock, timers);
    const c = connector();
    expect(batchesRequests(c)).toBe(true);
    const runs = [event('evt_1', 'business.created', { id: 'biz_1', name: 'Blue Door' }), event('evt_2', 'review.created', { id: 'rev_1', rating: 4 })].map((e) => {
      const sink = batches.forJob({ connector: c, context: ctx, webhookId: `msg_${e.id}`, refreshCredentials: async () => ({}) });
      return { sink, run: runtime.run(c, e, ctx, { webhookId: `msg_${e.id}`, triggers: null, transport, batches: sink }) };
    });
    // The mappings run in the sandbox; then both wait for company until max_wait_ms has passed.
    const key = `${c.manifest.name}:con_1:append`;
    for (let i = 0; i < 600 && batches['queue'].waiting(key) < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(batches['queue'].waiting(key)).toBe(2);
    expect(sent).toHaveLength(0);
    timers.advance(2000);
    const results = await Promise.all(runs.map((r) => r.run));
    expect(sent).toHaveLength(1);
    expect(JSON.parse(sent[0]?.body ?? '{}')).toEqual({ rows: [['biz_1', 'Blue Door'], ['rev_1', '4']], ids: ['evt_1', 'evt_2'] });
    for (const result of results) {
      expect(result.outcome).toEqual({ kind: 'success' });
      expect(result.externalId).toBe('Sheet1!A2:B3');
      expect(result.steps).toMatchObject([{ action: 'append', method: 'POST', status: 200, durationMs: 7 }]);
    }
    expect(runs.map((r) => r.sink.deferMs)).toEqual([null, null]);
  });

  it('without a sink (fixtures, dry runs) sends a batch of one at once', async () => {
    const sent: OutgoingRequest[] = [];
    const transport = {
      send: async (_action: string, request: OutgoingRequest): Promise<HttpResult> => {
        sent.push(request);
        return { status: 200, headers: {}, body: '{}', durationMs: 1, error: null, errorCode: null };
      },
    };
    const result = await new ConnectorRuntime().run(connector(), event('evt_3', 'business.created', { id: 'biz_3', name: 'Rosa' }), ctx, { webhookId: 'msg_3', triggers: null, transport });
    expect(result.outcome).toEqual({ kind: 'success' });
    expect(JSON.parse(sent[0]?.body ?? '{}')).toEqual({ rows: [['biz_3', 'Rosa']], ids: ['evt_3'] });
  });
});
