import type { TunnelRecord } from '../../src/tunnels/model';
import { adapters, connectedStore } from './store-adapters';

const at = new Date('2026-12-03T10:00:00.000Z');
const record = (id: string, tenantId: string, tokenHash = `hash_${id}`): TunnelRecord => ({
  id,
  tenantId,
  tokenHash,
  resumeHash: `resume_${id}`,
  target: 'http://localhost:4000',
  apiKeyId: 'key_1',
  holder: 'hub_a',
  lastSeenAt: at,
  keepSeconds: 600,
  createdAt: at,
});

/** TunnelStore (tunnels/ports.ts), on every adapter. */
describe.each(adapters)('TunnelStore contract: %s', (_name, create) => {
  const { store } = connectedStore(create);

  it('finds a tunnel by its token hash for any tenant, by id only for its own; lists a tenant\'s newest first', async () => {
    await store.insertTunnel(record('tun_01', 't_a'));
    await store.insertTunnel(record('tun_02', 't_a'));
    await store.insertTunnel(record('tun_03', 't_b'));
    expect(await store.findTunnelByTokenHash('hash_tun_02')).toEqual(record('tun_02', 't_a'));
    expect(await store.findTunnelByTokenHash('hash_unknown')).toBeNull();
    expect(await store.getTunnel('t_a', 'tun_01')).toEqual(record('tun_01', 't_a'));
    expect(await store.getTunnel('t_b', 'tun_01')).toBeNull();
    expect(await store.listTunnels('t_a', { limit: 1 })).toEqual({ data: [record('tun_02', 't_a')], nextCursor: 'tun_02' });
    expect(await store.listTunnels('t_a', { limit: 5, cursor: 'tun_02' })).toEqual({ data: [record('tun_01', 't_a')], nextCursor: null });
  });

  it('refuses a second tunnel with the same token hash', async () => {
    await store.insertTunnel(record('tun_10', 't_c', 'hash_same'));
    await expect(store.insertTunnel(record('tun_11', 't_c', 'hash_same'))).rejects.toMatchObject({ code: 11000 });
  });

  it('moves the holder, only from the expected one when asked; deletes only the tenant\'s own', async () => {
    await store.insertTunnel(record('tun_20', 't_d'));
    const later = new Date(at.getTime() + 60_000);
    expect(await store.setTunnelHolder('tun_20', null, later, 'hub_other')).toBe(false);
    expect((await store.getTunnel('t_d', 'tun_20'))?.holder).toBe('hub_a');
    expect(await store.setTunnelHolder('tun_20', null, later, 'hub_a')).toBe(true);
    expect(await store.getTunnel('t_d', 'tun_20')).toMatchObject({ holder: null, lastSeenAt: later });
    expect(await store.setTunnelHolder('tun_20', 'hub_b', later)).toBe(true);
    expect((await store.getTunnel('t_d', 'tun_20'))?.holder).toBe('hub_b');
    expect(await store.setTunnelHolder('tun_missing', 'hub_b', later)).toBe(false);

    expect(await store.deleteTunnel('t_other', 'tun_20')).toBe(false);
    expect(await store.deleteTunnel('t_d', 'tun_20')).toBe(true);
    expect(await store.deleteTunnel('t_d', 'tun_20')).toBe(false);
    expect(await store.findTunnelByTokenHash('hash_tun_20')).toBeNull();
  });
});
