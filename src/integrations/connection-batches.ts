import type { Clock } from '../core/clock';
import type { CompiledAction, LoadedConnector } from '../connectors/compiled-connector';
import type { BatchExchange, BatchItem, BatchSink, ConnectionContext, ConnectorRuntime, Transport } from '../connectors/runtime';
import { BatchQueue } from '../core/batch-queue';
import type { BatchOutcome, BatchTimers } from '../core/batch-queue';
import { ConnectionPacer } from './paced-transport';

/** Whether a connector batches any action: its deliveries then hold no endpoint slot each (a slot per job would cap a batch). */
export function batchesRequests(connector: LoadedConnector): boolean {
  for (const action of connector.actions.values()) if (action.batch) return true;
  return false;
}

/** What a job's run lends to the batches it opens: its link, and a token refresh for when the API asks for one. */
export interface JobLink {
  connector: LoadedConnector;
  context: ConnectionContext;
  webhookId: string;
  refreshCredentials: () => Promise<Record<string, unknown>>;
}

/**
 * The batched actions of every connection in this process (action.batch): each job's input joins
 * its connection's pending batch of the action, and the batch goes as one request, paced by the
 * connection's rate limit and concurrency like any other of its requests. Every job of a batch
 * records that one request and its answer.
 */
export class ConnectionBatches {
  private readonly queue: BatchQueue<BatchItem, BatchExchange>;

  constructor(
    private readonly runtime: Pick<ConnectorRuntime, 'sendBatch'>,
    private readonly transport: Transport,
    private readonly pacer: ConnectionPacer,
    clock: Clock,
    timers?: BatchTimers,
  ) {
    this.queue = new BatchQueue(clock, timers);
  }

  /** The sink of one job's run; its `deferMs` says when the job should come back if its batch was not sent. */
  forJob(link: JobLink): JobBatches {
    return new JobBatches(this, link);
  }

  /** @internal Joins the pending batch of `action` on the link's connection. */
  join(link: JobLink, action: CompiledAction, item: BatchItem): Promise<BatchOutcome<BatchExchange>> {
    const limits = action.batch;
    if (!limits) throw new Error(`action ${action.name} is not batched`);
    const key = `${ConnectionPacer.key(link.connector, link.context.connectionId)}:${action.name}`;
    return this.queue.add(key, limits, item, (items) => this.send(link, action, items));
  }

  private async send(link: JobLink, action: CompiledAction, items: BatchItem[]): Promise<BatchOutcome<BatchExchange>> {
    const paced = this.pacer.paced(this.transport, link.connector, link.context.connectionId);
    const value = await this.runtime.sendBatch(link.connector, action, items, link.context, {
      webhookId: link.webhookId,
      triggers: null,
      transport: paced ?? this.transport,
      refreshCredentials: link.refreshCredentials,
    });
    // The connection's rate limit had no slot for the request soon enough: every job of the batch comes back later.
    if (paced && paced.deferMs !== null) return { kind: 'deferred', delayMs: paced.deferMs };
    return { kind: 'sent', value };
  }
}

/** One job's view of the batches: the runtime's sink, and whether the job's batch was not sent. */
export class JobBatches implements BatchSink {
  deferMs: number | null = null;

  constructor(
    private readonly batches: ConnectionBatches,
    private readonly link: JobLink,
  ) {}

  async join(action: CompiledAction, item: BatchItem): Promise<BatchExchange | null> {
    const outcome = await this.batches.join(this.link, action, item);
    if (outcome.kind === 'sent') return outcome.value;
    this.deferMs = outcome.delayMs;
    return null;
  }
}
