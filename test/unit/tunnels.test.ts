import { ManualClock } from '../../src/core/clock';
import { createMemoryStore } from '../../src/store/memory/memory-store';
import { endToEnd, headerObject } from '../../src/tunnels/http-headers';
import { TunnelService } from '../../src/tunnels/tunnel-service';

describe('endToEnd', () => {
  it('drops hop-by-hop headers, those the Connection header names, Host and Content-Length; keeps repeated ones in order', () => {
    const given = [
      ['Connection', 'keep-alive, X-Hop'],
      ['X-Hop', 'dropped'],
      ['Keep-Alive', 'timeout=5'],
      ['Transfer-Encoding', 'chunked'],
      ['Upgrade', 'websocket'],
      ['TE', 'trailers'],
      ['Proxy-Authorization', 'Basic x'],
      ['Host', 'hub.example.com'],
      ['Content-Length', '12'],
      ['Set-Cookie', 'a=1'],
      ['Set-Cookie', 'b=2'],
      ['Authorization', 'Bearer kept'],
      ['bad name', 'refused'],
    ];
    const kept = endToEnd(given);
    expect(kept).toEqual([
      ['Set-Cookie', 'a=1'],
      ['Set-Cookie', 'b=2'],
      ['Authorization', 'Bearer kept'],
    ]);
    expect(headerObject(kept)).toEqual({ 'set-cookie': ['a=1', 'b=2'], authorization: 'Bearer kept' });
    expect(endToEnd('not a list')).toEqual([]);
  });
});

describe('TunnelService', () => {
  const setup = async () => {
    const store = createMemoryStore();
    await store.connect();
    const clock = new ManualClock(Date.parse('2026-12-03T10:00:00Z'));
    return { store, clock, tunnels: new TunnelService(store, clock) };
  };

  it('finds a tunnel by its token, stores only hashes, and resumes it only with its resume key', async () => {
    const { store, tunnels } = await setup();
    const opened = await tunnels.open('acme', 'key_1', { target: 'http://localhost:4000/', keepSeconds: 60 }, 'hub_a');
    expect(opened.token).toMatch(/^[\w-]{22}$/);
    const stored = await store.getTunnel('acme', opened.record.id);
    expect(JSON.stringify(stored)).not.toContain(opened.token);
    expect(JSON.stringify(stored)).not.toContain(opened.resumeKey);
    expect((await tunnels.byToken(opened.token))?.id).toBe(opened.record.id);
    expect(await tunnels.byToken('x'.repeat(22))).toBeNull();

    await expect(tunnels.resume('acme', opened.record.id, 'wrong', 'hub_b')).rejects.toMatchObject({ code: 'unauthorized' });
    await expect(tunnels.resume('globex', opened.record.id, opened.resumeKey, 'hub_b')).rejects.toMatchObject({ code: 'tunnel_not_found' });
    expect(await tunnels.resume('acme', opened.record.id, opened.resumeKey, 'hub_b')).toMatchObject({ holder: 'hub_b' });
  });

  it('keeps a tunnel without a client for its keep, then its URL and listing are gone; a held one stays', async () => {
    const { clock, tunnels } = await setup();
    const left = await tunnels.open('acme', 'key_1', { keepSeconds: 60 }, 'hub_a');
    const held = await tunnels.open('acme', 'key_1', { keepSeconds: 120 }, 'hub_a');
    await tunnels.left(left.record, 'hub_a');
    clock.advance(59_000);
    expect(tunnels.connected((await tunnels.byToken(left.token))!)).toBe(false);
    expect((await tunnels.list('acme', { limit: 10 })).data.map((t) => t.connected)).toEqual([true, false]);
    clock.advance(2000);
    await tunnels.seen(held.record, 'hub_a');
    expect(await tunnels.byToken(left.token)).toBeNull();
    expect((await tunnels.list('acme', { limit: 10 })).data.map((t) => t.id)).toEqual([held.record.id]);
    // A holder that stopped confirming its client (it died): not connected after 60 s, gone after the keep.
    clock.advance(60_000);
    expect((await tunnels.list('acme', { limit: 10 })).data).toEqual([expect.objectContaining({ id: held.record.id, connected: false })]);
    clock.advance(60_000);
    expect(await tunnels.byToken(held.token)).toBeNull();
  });

  it('refuses a keep outside 1 s to 24 h', async () => {
    const { tunnels } = await setup();
    await expect(tunnels.open('acme', 'key_1', { keepSeconds: 0 }, 'hub_a')).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(tunnels.open('acme', 'key_1', { keepSeconds: 86_401 }, 'hub_a')).rejects.toMatchObject({ code: 'validation_failed' });
  });
});
