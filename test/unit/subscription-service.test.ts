import { randomBytes } from 'node:crypto';
import { SecretBox } from '../../src/core/secret-box';
import { createMemoryStore } from '../../src/store/memory/memory-store';
import { SubscriptionCache } from '../../src/subscriptions/subscription-cache';
import { SubscriptionService } from '../../src/subscriptions/subscription-service';

function service(options: { allowPrivateNetworks: boolean; requireHttps: boolean }): SubscriptionService {
  const store = createMemoryStore();
  const secretBox = new SecretBox([{ id: 'k1', key: randomBytes(32) }]);
  return new SubscriptionService({ store, secretBox, cache: new SubscriptionCache(store, secretBox), ...options });
}

async function problems(svc: SubscriptionService, endpointUrl: string): Promise<Array<{ path: string; message: string }>> {
  try {
    await svc.create('t', { endpointUrl, events: ['business.created'] });
  } catch (err) {
    return (err as { details: Array<{ path: string; message: string }> }).details;
  }
  return [];
}

describe('endpoint rules at registration', () => {
  const guarded = service({ allowPrivateNetworks: false, requireHttps: false });

  it.each(['http://127.0.0.1/hook', 'http://localhost:8080/hook', 'http://[::1]/hook', 'http://169.254.169.254/latest/meta-data', 'http://10.1.2.3/', 'http://2130706433/', 'http://[::127.0.0.1]/hook'])(
    'refuses %s when private networks are not allowed',
    async (url) => {
      const found = await problems(guarded, url);
      expect(found).toEqual([{ path: '/endpointUrl', message: expect.stringMatching(/private or reserved address/) }]);
    },
  );

  it('accepts a private address when the operator allows it', async () => {
    expect(await problems(service({ allowPrivateNetworks: true, requireHttps: false }), 'http://127.0.0.1/hook')).toEqual([]);
  });

  it('requires https in production and refuses credentials in the URL', async () => {
    const production = service({ allowPrivateNetworks: true, requireHttps: true });
    expect(await problems(production, 'http://example.com/hook')).toEqual([{ path: '/endpointUrl', message: 'must use https in production' }]);
    expect(await problems(production, 'https://user:pw@example.com/hook')).toEqual([
      { path: '/endpointUrl', message: expect.stringMatching(/^must not carry credentials \(user:password@ in the URL.*; send them in a secret header instead/) },
    ]);
  });

  it('refuses a host that does not resolve', async () => {
    expect(await problems(guarded, 'https://no-such-host.invalid/hook')).toEqual([{ path: '/endpointUrl', message: 'host "no-such-host.invalid" does not resolve' }]);
  });
});
