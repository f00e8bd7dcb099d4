import type { OAuthStateRecord } from '../../integrations/model';
import type { OAuthStates } from '../../integrations/ports';
import type { MongoDatabase } from './database';
import { insertOnce } from './documents';
import type { Doc } from './documents';

/**
 * OAuth states in `oauth_states`. Claims and uses are inserts under a unique id
 * into `oauth_state_claims`, not conditional updates: a MongoDB-protocol server
 * need not make an update-if-unchanged atomic under concurrency, but a second
 * insert of an id always fails.
 */
export function mongoOAuthStates(db: MongoDatabase): OAuthStates {
  const claimOnce = (id: string, value: string): Promise<boolean> =>
    insertOnce(db.models.oauthClaims, { _id: id, kind: id.split(':')[0], value, at: new Date() });
  return {
    async insertOAuthState(record) {
      const { id, ...rest } = record;
      await db.models.oauthStates.collection.insertOne({ _id: id, ...rest } as never);
    },

    async getOAuthState(id) {
      const [doc, claim, used] = await Promise.all([
        db.models.oauthStates.findById(id).lean<Doc>(),
        db.models.oauthClaims.findById(`browser:${id}`).lean<Doc>(),
        db.models.oauthClaims.findById(`used:${id}`).lean<Doc>(),
      ]);
      if (!doc || used) return null;
      const { _id, ...rest } = doc;
      return { ...(rest as Omit<OAuthStateRecord, 'id'>), id: String(_id), browserNonceHash: claim ? String(claim['value']) : '' };
    },

    claimOAuthState(id, browserNonceHash) {
      return claimOnce(`browser:${id}`, browserNonceHash);
    },

    async consumeOAuthState(id) {
      const first = await claimOnce(`used:${id}`, 'used');
      if (first) await db.models.oauthStates.deleteOne({ _id: id });
      return first;
    },

    async purgeOAuthStatesBefore(before) {
      // States first: a claim or use mark outlives its state, never the reverse (a used state must not come back).
      const states = await db.models.oauthStates.deleteMany({ expiresAt: { $lt: before } });
      await db.models.oauthClaims.deleteMany({ at: { $lt: before } });
      return states.deletedCount;
    },
  };
}
