/**
 * A router consumer that dies (SIGKILL, as from a V8 fatal error) while handling
 * the event with id "killer", and takes its time over every other event so that
 * they are in flight when it dies. Prints one line per handled event and per
 * poison report. Run by poison.test.ts: node --import tsx test/reliability/crash-consumer.ts <amqp url> <prefix>
 */
import { AmqpBroker } from '../../src/broker/amqp/amqp-broker';
import { silentLogger } from '../../src/core/logger';

async function main(): Promise<void> {
  const [url, prefix] = process.argv.slice(2) as [string, string];
  const broker = new AmqpBroker({ url, prefix, logger: silentLogger });
  await broker.start();
  await broker.consumeEvents(
    async (event) => {
      const id = String((JSON.parse(event.body.toString()) as { id: string }).id);
      if (id === 'killer') {
        setTimeout(() => process.kill(process.pid, 'SIGKILL'), 100);
        return new Promise<void>(() => undefined);
      }
      await new Promise((r) => setTimeout(r, 300));
      process.stdout.write(`HANDLED ${id}\n`);
    },
    {
      prefetch: 50,
      onPoisoned: async (poisoned) => {
        process.stdout.write(`POISONED ${JSON.stringify(poisoned)}\n`);
      },
    },
  );
  process.stdout.write('READY\n');
}

void main();
