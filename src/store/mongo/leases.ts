import type { Leases } from '../../integrations/ports';
import type { MongoDatabase } from './database';
import { insertOnce } from './documents';
import type { Doc } from './documents';

/** Old takeover claims are swept after this long. */
const TAKEOVER_CLAIM_TTL_MS = 10 * 60_000;

/** Leases in `leases`: a unique _id is the lock; expiresAt lets a crashed holder's lease be taken over. */
export function mongoLeases(db: MongoDatabase): Leases {
  return {
    async acquireLease(name, owner, ttlMs) {
      const leases = db.models.leases;
      const insert = (id: string): Promise<boolean> => insertOnce(leases, { _id: id, owner, expiresAt: new Date(Date.now() + ttlMs) });
      if (await insert(name)) return true;
      const held = await leases.findById(name).lean<Doc>();
      if (!held) return insert(name);
      if (held['owner'] === owner) return true;
      const expiresAt = held['expiresAt'] as Date;
      if (expiresAt > new Date()) return false;
      // Expired: whoever first claims this very lease (owner and expiry) by an insert takes it over.
      // A delete by filter is not atomic on every MongoDB-protocol server, so no one deletes on a guess.
      // The claim stays (a racer with the same stale view must still lose); old claims are swept.
      const takeover = `takeover:${name}:${String(held['owner'])}:${expiresAt.getTime()}`;
      if (!(await insert(takeover))) return false;
      await leases.deleteOne({ _id: name });
      const won = await insert(name);
      await leases.collection.deleteMany({ _id: { $regex: `^takeover:${escapeRegex(name)}:` }, expiresAt: { $lt: new Date(Date.now() - TAKEOVER_CLAIM_TTL_MS) } } as never);
      return won;
    },

    async releaseLease(name, owner) {
      await db.models.leases.deleteOne({ _id: name, owner });
    },
  };
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
