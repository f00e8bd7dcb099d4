import { HttpSender } from '../../src/transport/http-sender';
import { guardedLookup, isBlockedAddress } from '../../src/transport/network-guard';
import { startReceiver } from '../support/receiver';
import type { Receiver } from '../support/receiver';

let receiver: Receiver;
let target: Receiver;
const guarded = new HttpSender({ timeoutMs: 5000, allowPrivateNetworks: false, connectionsPerOrigin: 4 });
const open = new HttpSender({ timeoutMs: 5000, allowPrivateNetworks: true, connectionsPerOrigin: 4 });

beforeAll(async () => {
  receiver = await startReceiver();
  target = await startReceiver();
});

afterAll(async () => {
  await Promise.all([receiver.close(), target.close(), guarded.close(), open.close()]);
});

describe('isBlockedAddress', () => {
  it.each([
    '127.0.0.1', '127.8.9.10', '10.0.0.1', '172.16.5.4', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0',
    '255.255.255.255', '224.0.0.1', '::1', '::', 'fe80::1', 'fc00::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', 'not-an-ip',
    // IPv4-compatible (::/96, deprecated): refused whatever IPv4 address it embeds, in every spelling.
    '::127.0.0.1', '::7f00:1', '0:0:0:0:0:0:7f00:1', '::8.8.8.8', '::808:808', '::0.0.0.2',
  ])('blocks %s', (address) => expect(isBlockedAddress(address)).toBe(true));

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111'])('allows public %s', (address) => expect(isBlockedAddress(address)).toBe(false));
});

describe('deliveries with the guard on', () => {
  const port = (): string => new URL(receiver.url).port;
  it.each([
    ['loopback', (p: string) => `http://127.0.0.1:${p}/`],
    ['a name resolving to loopback', (p: string) => `http://localhost:${p}/`],
    ['IPv6 loopback', (p: string) => `http://[::1]:${p}/`],
    ['IPv4-mapped IPv6', (p: string) => `http://[::ffff:127.0.0.1]:${p}/`],
    ['IPv4-compatible IPv6', (p: string) => `http://[::127.0.0.1]:${p}/`],
    ['the unspecified address', (p: string) => `http://0.0.0.0:${p}/`],
    ['decimal IPv4', (p: string) => `http://2130706433:${p}/`],
    ['octal IPv4', (p: string) => `http://0177.0.0.1:${p}/`],
    ['hex IPv4', (p: string) => `http://0x7f.1:${p}/`],
  ])('refuses %s at connect time and sends nothing, every time', async (_name, url) => {
    const before = receiver.requests.length;
    // Twice: the sender remembers the URLs that passed its check, and a refused one must not be among them.
    for (const _ of [1, 2]) {
      const result = await guarded.send(url(port()), { 'content-type': 'application/json' }, '{}');
      expect(result.status).toBeNull();
      expect(result.errorCode).toBe('endpoint_address_blocked');
      expect(result.error).toMatch(/private or reserved address/);
      // Read by the tenant in attempts and dead letters: what they can change, not an operator's setting.
      expect(result.error).toMatch(/Use a URL on a public address/);
      expect(result.error).not.toMatch(/HOOKHUB_/);
    }
    expect(receiver.requests.length).toBe(before);
  });

  it('checks the addresses the socket connects to, through the lookup', async () => {
    const answer = await new Promise<{ err: NodeJS.ErrnoException | null }>((resolve) =>
      guardedLookup('localhost', { all: true }, (err) => resolve({ err })),
    );
    expect(answer.err?.message).toMatch(/localhost resolves to .* private or reserved/);
  });
});

describe('redirects', () => {
  it('are never followed: the 3xx is the answer', async () => {
    receiver.respond(() => ({ status: 302, headers: { location: `${target.url}/stolen` } }));
    const result = await open.send(`${receiver.url}/hook`, { 'content-type': 'application/json' }, '{}');
    expect(result.status).toBe(302);
    expect(target.requests).toHaveLength(0);
    receiver.respond(() => undefined);
  });
});

describe('requests', () => {
  it('go to the path and query of the endpoint URL, the fragment left out, on every send', async () => {
    const url = `${receiver.url}/hooks/in?token=a%20b&x=1#frag`;
    const before = receiver.requests.length;
    for (const n of [1, 2]) {
      const result = await open.send(url, { 'content-type': 'application/json', 'x-n': String(n) }, `{"n":${n}}`);
      expect(result.status).toBe(200);
    }
    const sent = receiver.requests.slice(before);
    expect(sent.map((r) => [r.method, r.path, r.headers['x-n'], r.body])).toEqual([
      ['POST', '/hooks/in?token=a%20b&x=1', '1', '{"n":1}'],
      ['POST', '/hooks/in?token=a%20b&x=1', '2', '{"n":2}'],
    ]);
  });
});

describe('responses', () => {
  it('keeps only the first 64 KiB of a response body', async () => {
    receiver.respond(() => ({ status: 200, body: 'x'.repeat(200 * 1024) }));
    const result = await open.send(`${receiver.url}/big`, { 'content-type': 'application/json' }, '{}');
    expect(result.status).toBe(200);
    expect(result.body).toHaveLength(64 * 1024);
    receiver.respond(() => undefined);
  });

  it('reports a timeout as an error with no status', async () => {
    const slow = new HttpSender({ timeoutMs: 300, allowPrivateNetworks: true, connectionsPerOrigin: 1 });
    receiver.respond(() => ({ delayMs: 2000 }));
    try {
      const result = await slow.send(`${receiver.url}/slow`, {}, '{}');
      expect(result).toMatchObject({ status: null, errorCode: 'timeout', error: 'no response within 300 ms' });
    } finally {
      receiver.respond(() => undefined);
      await slow.close();
    }
  });
});
