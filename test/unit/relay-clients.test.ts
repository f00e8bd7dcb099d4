import { RelayClients } from '../../src/webhooks/relay-target';
import type { RelayClient } from '../../src/webhooks/relay-target';

const client = (): RelayClient => ({ deliver: () => Promise.reject(new Error('not used')) });

describe('listen clients of one process', () => {
  it('a reconnected client replaces its stale connection, whose later close forgets nothing', () => {
    const clients = new RelayClients();
    const stale = client();
    const fresh = client();
    expect(clients.attach('rly_1', stale)).toBeUndefined();
    expect(clients.attach('rly_1', fresh)).toBe(stale);

    // The stale socket closes after the client came back: the relay keeps its client here.
    expect(clients.detach('rly_1', stale)).toBe(false);
    expect(clients.get('rly_1')).toBe(fresh);

    expect(clients.detach('rly_1', fresh)).toBe(true);
    expect(clients.get('rly_1')).toBeUndefined();
  });
});
