import type { ConsoleSessionRecord } from '../../access/model';
import type { ConsoleSessions } from '../../access/ports';
import type { MongoDatabase } from './database';
import type { Doc } from './documents';

/** Console sessions in `console_sessions`, under the hash of their token. */
export function mongoConsoleSessions(db: MongoDatabase): ConsoleSessions {
  const sessions = () => db.models.consoleSessions;
  return {
    async insertConsoleSession(record) {
      const { id, ...rest } = record;
      await sessions().collection.insertOne({ _id: id, ...rest } as never);
    },
    async findConsoleSession(id) {
      const doc = await sessions().findById(id).lean<Doc>();
      if (!doc) return null;
      const { _id, ...rest } = doc;
      return { ...(rest as Omit<ConsoleSessionRecord, 'id'>), id: String(_id) };
    },
    async deleteConsoleSession(id) {
      const result = await sessions().deleteOne({ _id: id });
      return result.deletedCount > 0;
    },
    async purgeConsoleSessionsBefore(before) {
      const result = await sessions().deleteMany({ expiresAt: { $lt: before } });
      return result.deletedCount;
    },
  };
}
