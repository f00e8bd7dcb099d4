import { randomBytes } from 'node:crypto';
import amqplib from 'amqplib';
import mongoose from 'mongoose';
import { allQueues, topologyNames } from '../../src/broker/amqp/topology';

export const AMQP_URL = process.env['HOOKHUB_TEST_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
export const MONGODB_BASE = process.env['HOOKHUB_TEST_MONGODB_URL'] ?? 'mongodb://127.0.0.1:27017';

export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

export function mongoUrlFor(database: string): string {
  return `${MONGODB_BASE.replace(/\/$/, '')}/${database}`;
}

/** Removes every queue and the exchange of one queue prefix. */
export async function deleteTopology(prefix: string): Promise<void> {
  const names = topologyNames(prefix);
  const connection = await amqplib.connect(AMQP_URL);
  try {
    const channel = await connection.createChannel();
    for (const queue of allQueues(names)) await channel.deleteQueue(queue);
    await channel.deleteExchange(names.eventsExchange);
    await channel.close();
  } finally {
    await connection.close();
  }
}

export async function dropDatabase(database: string, base = MONGODB_BASE): Promise<void> {
  const connection = await mongoose.createConnection(`${base.replace(/\/$/, '')}/${database}`, { serverSelectionTimeoutMS: 5000 }).asPromise();
  try {
    await connection.db?.dropDatabase();
  } finally {
    await connection.close();
  }
}

/** Reads (and removes) every message of a queue. */
export async function drainQueue(queue: string): Promise<amqplib.GetMessage[]> {
  const connection = await amqplib.connect(AMQP_URL);
  const messages: amqplib.GetMessage[] = [];
  try {
    const channel = await connection.createChannel();
    for (;;) {
      const message = await channel.get(queue, { noAck: false });
      if (!message) break;
      messages.push(message);
      channel.ack(message);
    }
    await channel.close();
  } finally {
    await connection.close();
  }
  return messages;
}

/** Publishes raw bytes to the events exchange, as the directory backend does. */
export async function publishRaw(prefix: string, routingKey: string, body: Buffer | string): Promise<void> {
  const connection = await amqplib.connect(AMQP_URL);
  try {
    const channel = await connection.createConfirmChannel();
    channel.publish(topologyNames(prefix).eventsExchange, routingKey, Buffer.from(body), { persistent: true, contentType: 'application/json' });
    await channel.waitForConfirms();
    await channel.close();
  } finally {
    await connection.close();
  }
}

/** Publishes many envelopes over one confirm channel. */
export async function publishMany(prefix: string, envelopes: ReadonlyArray<Record<string, unknown>>): Promise<void> {
  const connection = await amqplib.connect(AMQP_URL);
  try {
    const channel = await connection.createConfirmChannel();
    for (const envelope of envelopes) {
      channel.publish(topologyNames(prefix).eventsExchange, String(envelope['type']), Buffer.from(JSON.stringify(envelope)), { persistent: true });
    }
    await channel.waitForConfirms();
    await channel.close();
  } finally {
    await connection.close();
  }
}

/** Counts documents of a collection in a test database. */
export async function countDocuments(database: string, collection: string, filter: Record<string, unknown> = {}, base = MONGODB_BASE): Promise<number> {
  const connection = await mongoose.createConnection(`${base.replace(/\/$/, '')}/${database}`, { serverSelectionTimeoutMS: 5000 }).asPromise();
  try {
    return await connection.db!.collection(collection).countDocuments(filter);
  } finally {
    await connection.close();
  }
}

/** Reads the documents of a collection in a test database. */
export async function findDocuments(database: string, collection: string, filter: Record<string, unknown> = {}, base = MONGODB_BASE): Promise<Array<Record<string, unknown>>> {
  const connection = await mongoose.createConnection(`${base.replace(/\/$/, '')}/${database}`, { serverSelectionTimeoutMS: 5000 }).asPromise();
  try {
    return (await connection.db!.collection(collection).find(filter).toArray()) as Array<Record<string, unknown>>;
  } finally {
    await connection.close();
  }
}
