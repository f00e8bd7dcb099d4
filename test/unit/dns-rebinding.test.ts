import dns from 'node:dns';
import dnsPromises from 'node:dns/promises';
import { HttpSender } from '../../src/transport/http-sender';
import { startReceiver } from '../support/receiver';
import type { Receiver } from '../support/receiver';

/**
 * A name that resolves to a public address when it is checked and to a private
 * one when the hub connects (DNS rebinding). The resolver is replaced for the
 * one name; everything else, the HTTP server included, is real.
 */
describe('a name whose address changes between check and connect', () => {
  let receiver: Receiver;
  const sender = new HttpSender({ timeoutMs: 5000, allowPrivateNetworks: false, connectionsPerOrigin: 2 });
  const realLookup = dns.lookup;

  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(async () => {
    jest.restoreAllMocks();
    await Promise.all([receiver.close(), sender.close()]);
  });

  it('is refused at connect time although it looked public when registered', async () => {
    const answers = ['93.184.216.34', '127.0.0.1'];
    jest.spyOn(dnsPromises, 'lookup').mockImplementation((async () => [{ address: answers[0] as string, family: 4 }]) as never);
    jest.spyOn(dns, 'lookup').mockImplementation(((host: string, options: dns.LookupOptions, callback: (err: Error | null, addresses: dns.LookupAddress[]) => void) => {
      if (host !== 'rebind.test') return (realLookup as unknown as (...args: unknown[]) => void)(host, options, callback);
      callback(null, [{ address: answers[1] as string, family: 4 }]);
    }) as never);
    // At registration the name looks public.
    expect((await dnsPromises.lookup('rebind.test', { all: true }))[0]?.address).toBe('93.184.216.34');
    const before = receiver.requests.length;
    const result = await sender.send(`http://rebind.test:${new URL(receiver.url).port}/hook`, { 'content-type': 'application/json' }, '{}');
    expect(result).toMatchObject({ status: null, errorCode: 'endpoint_address_blocked' });
    expect(result.error).toMatch(/rebind\.test resolves to 127\.0\.0\.1/);
    expect(receiver.requests.length).toBe(before);
  });
});
