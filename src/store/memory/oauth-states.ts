import type { OAuthStates } from '../../integrations/ports';
import { clone, cloneOrNull, duplicateKey } from './tables';
import type { MemoryTables } from './tables';

/** OAuth states in memory; consuming one deletes it. */
export function memoryOAuthStates(tables: MemoryTables): OAuthStates {
  const states = tables.oauthStates;
  return {
    async insertOAuthState(record) {
      if (states.has(record.id)) throw duplicateKey();
      states.set(record.id, clone(record));
    },
    async getOAuthState(id) {
      return cloneOrNull(states.get(id));
    },
    async claimOAuthState(id, browserNonceHash) {
      const found = states.get(id);
      if (!found || found.browserNonceHash !== '') return false;
      found.browserNonceHash = browserNonceHash;
      return true;
    },
    async consumeOAuthState(id) {
      return states.delete(id);
    },
    async purgeOAuthStatesBefore(before) {
      let purged = 0;
      for (const [id, state] of states) {
        if (state.expiresAt.getTime() < before.getTime() && states.delete(id)) purged++;
      }
      return purged;
    },
  };
}
