import amqplib from 'amqplib';
import type { ConsumeMessage } from 'amqplib';
import { Agent, request } from 'undici';
import type { Cleanup, Receiver } from './support';
import { AMQP_URL, ConfirmPublisher, businessCreatedEvent, deleteQueue, uniqueName, withTimeout } from './support';

export interface BaselineResult {
  deliveries: number;
  publishMs: number;
  elapsedMs: number;
  perSecond: number;
}

const PREFETCH = 200;

/**
 * (a) The floor to compare the hub with: a plain amqplib consumer (prefetch 200)
 * on a fresh quorum queue that POSTs each body to the receiver with undici over a
 * keep-alive Agent and acks. The queue is filled first (publisher confirms), then
 * the clock runs from consumer start to the last ack.
 */
export async function runBaseline(n: number, receiver: Receiver, cleanup: Cleanup): Promise<BaselineResult> {
  const queue = uniqueName('hhbench_baseline');
  cleanup.add(`baseline queue ${queue}`, () => deleteQueue(queue));
  receiver.reset();

  const publisher = await ConfirmPublisher.open();
  let publishMs: number;
  try {
    await publisher.channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    const started = performance.now();
    for (let i = 0; i < n; i++) await publisher.publish('', queue, businessCreatedEvent(`evt_base_${i}`));
    await publisher.settle();
    publishMs = performance.now() - started;
  } finally {
    await publisher.close();
  }

  const connection = await amqplib.connect(AMQP_URL);
  const agent = new Agent({ keepAliveTimeout: 10_000 });
  try {
    const channel = await connection.createChannel();
    await channel.prefetch(PREFETCH);
    let acked = 0;
    let fail: (err: Error) => void = () => undefined;
    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    const deliver = async (msg: ConsumeMessage): Promise<void> => {
      const response = await request(receiver.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: msg.content,
        dispatcher: agent,
      });
      await response.body.dump();
      if (response.statusCode !== 200) throw new Error(`receiver answered ${response.statusCode}`);
    };
    const started = performance.now();
    const { consumerTag } = await channel.consume(
      queue,
      (msg) => {
        if (!msg) {
          fail(new Error('baseline consumer was cancelled by the broker'));
          return;
        }
        deliver(msg).then(
          () => {
            channel.ack(msg);
            acked += 1;
            if (acked === n) finish();
          },
          (err: unknown) => fail(err instanceof Error ? err : new Error(String(err))),
        );
      },
      { noAck: false },
    );
    await withTimeout(done, Math.max(120_000, n * 20), `baseline consumer (acked ${acked}/${n})`);
    const elapsedMs = performance.now() - started;
    await channel.cancel(consumerTag);
    await channel.close();
    return { deliveries: n, publishMs, elapsedMs, perSecond: (n * 1000) / elapsedMs };
  } finally {
    await agent.close().catch(() => undefined);
    await connection.close().catch(() => undefined);
  }
}
