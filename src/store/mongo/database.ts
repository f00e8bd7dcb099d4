import mongoose from 'mongoose';
import type { Connection, Model } from 'mongoose';
import type { Health } from '../../core/health';
import type { StoreLifecycle } from '../store';
import { registerModels } from './models';
import type { HubModels } from './models';

export interface MongoStoreOptions {
  url: string;
  /** How long an operation waits for a reachable server before it fails. */
  serverSelectionTimeoutMs?: number;
}

/** The connection and models every aggregate of the Mongo adapter shares; models exist once connected. */
export class MongoDatabase implements StoreLifecycle, Health {
  private connection: Connection | null = null;
  private hubModels: HubModels | null = null;

  constructor(readonly options: MongoStoreOptions) {}

  async connect(): Promise<void> {
    const connection = mongoose.createConnection(this.options.url, {
      serverSelectionTimeoutMS: this.options.serverSelectionTimeoutMs ?? 5000,
      bufferCommands: false,
      maxPoolSize: 20,
      // Collections and indexes are made below, one at a time, before the process takes work.
      autoCreate: false,
      autoIndex: false,
    });
    await connection.asPromise();
    this.connection = connection;
    this.hubModels = registerModels(connection);
    await this.prepareCollections(connection, Object.values(this.hubModels));
    // Attempts once had a createdAt field and index; the purge now goes by _id, so the index only costs writes.
    // Its absence (IndexNotFound, 27) is the usual case; any other failure is the store's and stops the start.
    await this.hubModels.attempts.collection.dropIndex('createdAt_1').catch((err: unknown) => {
      if ((err as { code?: number }).code !== 27) throw err;
    });
  }

  /**
   * Every collection the hub writes exists, with its indexes, before the process takes work: none is
   * created by a first write under load (a schema change that, on MongoDB-protocol servers built on a
   * catalog lock, stalls every other request), and a process starting beside busy ones makes one
   * catalog change at a time rather than one per collection at once.
   */
  private async prepareCollections(connection: Connection, models: Array<Model<Record<string, unknown>>>): Promise<void> {
    const db = connection.db;
    if (!db) throw new Error('MongoDB connection has no database');
    const existing = new Set((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
    for (const model of models) {
      if (!existing.has(model.collection.collectionName)) await model.createCollection();
      await model.createIndexes();
    }
  }

  async close(): Promise<void> {
    await this.connection?.close();
    this.connection = null;
  }

  /**
   * Opened and not closed. Whether the server answers right now is what ping()
   * tells: mongoose's readyState can stay "disconnected" after the driver has
   * quietly reconnected.
   */
  isReady(): boolean {
    return this.connection !== null;
  }

  async ping(): Promise<void> {
    const db = this.connection?.db;
    if (!db) throw new Error('MongoDB connection is not open');
    await db.command({ ping: 1 });
  }

  /** Drops every collection of the database (tests only). */
  async dropDatabase(): Promise<void> {
    await this.connection?.db?.dropDatabase();
  }

  /** The models, once connected. */
  get models(): HubModels {
    if (!this.hubModels) throw new Error('MongoStore used before connect()');
    return this.hubModels;
  }
}
