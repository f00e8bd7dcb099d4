import type { CompiledAction, LoadedConnector } from '../connectors/compiled-connector';
import type { BatchExchange, BatchItem, BatchSink, ConnectionContext, ConnectorRuntime, ExternalRefs, RunResult, Transport } from '../connectors/runtime';
import type { EventEnvelope } from '../events/envelope';

/** How a page went: sent (with where its rows went, as the API said), or why it stopped. */
export type PageOutcome = { kind: 'sent'; range: string | null } | { kind: 'stopped'; reason: string; verdict: 'retry' | 'fail' | 'broken' };

export interface PageLink {
  runtime: Pick<ConnectorRuntime, 'run' | 'sendBatch'>;
  connector: LoadedConnector;
  context: ConnectionContext;
  /** The connection's paced transport; its deferMs set means a request was not sent (the rate limit). */
  transport: Transport & { deferMs?: number | null };
  refreshCredentials: () => Promise<Record<string, unknown>>;
  refs: ExternalRefs;
  /** Names the page's requests (their webhook id). */
  exportId: string;
}

/**
 * Sends one page of past events through the connector's triggers, as deliveries would go: each
 * event's run with its mapping and actions, every batched action's items of the page gathered
 * into one request, in the page's order. The page must fit one batch (at most max_items).
 */
export async function sendPage(link: PageLink, events: readonly EventEnvelope[]): Promise<PageOutcome> {
  const sink = new PageSink(link, events);
  const refs = onePutPerRef(link.refs);
  const runs = await Promise.all(
    events.map((event) =>
      link.runtime
        .run(link.connector, event, link.context, { webhookId: `${link.exportId}_${event.id}`, triggers: null, transport: link.transport, refreshCredentials: link.refreshCredentials, refs, batches: sink })
        .finally(() => sink.leave()),
    ),
  );
  if (link.transport.deferMs !== undefined && link.transport.deferMs !== null) return { kind: 'stopped', reason: "the connection's rate limit had no room; the page goes again next run", verdict: 'retry' };
  return pageOutcome(runs, link.connector.export?.action ?? null);
}

/**
 * The page's runs remember the same ids at once (the header row of a spreadsheet): each id is
 * written once per page, as concurrent upserts of one key may collide in the store.
 */
function onePutPerRef(refs: ExternalRefs): ExternalRefs {
  const puts = new Map<string, Promise<void>>();
  return {
    get: (type, key) => refs.get(type, key),
    put: (type, key, externalId) => {
      const id = JSON.stringify([type, key, externalId]);
      const put = puts.get(id) ?? refs.put(type, key, externalId);
      puts.set(id, put);
      return put;
    },
  };
}

/** The page's outcome from its runs: the worst of them (broken, fail, retry), else sent. */
function pageOutcome(runs: RunResult[], action: string | null): PageOutcome {
  for (const verdict of ['broken', 'fail', 'refresh', 'retry'] as const) {
    const stopped = runs.find((r) => r.outcome.kind === verdict);
    if (stopped && 'reason' in stopped.outcome) return { kind: 'stopped', reason: stopped.outcome.reason, verdict: verdict === 'refresh' ? 'fail' : verdict };
  }
  const step = runs.flatMap((r) => r.steps).find((s) => s.action === action && s.externalId !== null);
  return { kind: 'sent', range: step?.externalId ?? null };
}

interface Waiting {
  item: BatchItem;
  resolve(exchange: BatchExchange | null): void;
  reject(reason: unknown): void;
}

/**
 * The page's batches: an action's items go as one request once every run still going has reached
 * a batched action (nothing more can join), in the order of the page's events.
 */
class PageSink implements BatchSink {
  private running: number;
  private readonly waiting = new Map<CompiledAction, Waiting[]>();
  private readonly order: Map<string, number>;

  constructor(
    private readonly link: PageLink,
    events: readonly EventEnvelope[],
  ) {
    this.running = events.length;
    this.order = new Map(events.map((e, i) => [e.id, i]));
  }

  join(action: CompiledAction, item: BatchItem): Promise<BatchExchange | null> {
    return new Promise((resolve, reject) => {
      const lane = this.waiting.get(action) ?? [];
      lane.push({ item, resolve, reject });
      this.waiting.set(action, lane);
      this.flushIfAllWaiting();
    });
  }

  /** A run ended. */
  leave(): void {
    this.running--;
    this.flushIfAllWaiting();
  }

  private flushIfAllWaiting(): void {
    let waiting = 0;
    for (const lane of this.waiting.values()) waiting += lane.length;
    if (waiting === 0 || waiting < this.running) return;
    const lanes = [...this.waiting.entries()];
    this.waiting.clear();
    for (const [action, lane] of lanes) {
      lane.sort((a, b) => (this.order.get(a.item.event.id) ?? 0) - (this.order.get(b.item.event.id) ?? 0));
      const link = this.link;
      link.runtime
        .sendBatch(link.connector, action, lane.map((w) => w.item), link.context, { webhookId: link.exportId, triggers: null, transport: link.transport, refreshCredentials: link.refreshCredentials })
        .then(
          (exchange) => lane.forEach((w) => w.resolve(link.transport.deferMs === undefined || link.transport.deferMs === null ? exchange : null)),
          (err: unknown) => lane.forEach((w) => w.reject(err)),
        );
    }
  }
}
