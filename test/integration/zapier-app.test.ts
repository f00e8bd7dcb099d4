import diagnostics from 'node:diagnostics_channel';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import { businessCreated, hubPerFile } from '../support/test-hub';
import type { TenantApi } from '../support/test-hub';
import { waitUntil } from '../support/receiver';
import type { ReceivedRequest } from '../support/receiver';

type Json = Record<string, unknown>;
type Bundle = Record<string, unknown>;
type AppTester = (method: unknown, bundle?: Bundle) => Promise<unknown>;
interface Operation {
  performSubscribe: unknown;
  performUnsubscribe: unknown;
  perform: unknown;
  performList: unknown;
  sample: Json;
}
interface ZapierApp {
  authentication: { test: unknown };
  triggers: Record<string, { operation: Operation }>;
}

// The app as `zapier push` uploads it (plain CommonJS), loaded with zapier-platform-core's own app tester.
const APP_DIR = path.join(__dirname, '../../integrations/zapier');
const load = createRequire(path.join(APP_DIR, 'index.js'));
const zapier = load('zapier-platform-core') as { createAppTester(app: unknown): AppTester };
const App = load('./index.js') as ZapierApp;

/**
 * Every TCP connection this process opens while the app runs, by address: zapier-platform-core
 * streams its logs to Zapier only when LOGGING_TOKEN is set (or Zapier's runtime passes a token),
 * so the app tester must reach nothing but the hub on loopback.
 */
function connectionsDuring(): { addresses: string[]; stop(): void } {
  const addresses: string[] = [];
  const onSocket = (message: unknown): void => {
    const { socket } = message as { socket: Socket };
    socket.once('lookup', (_err: unknown, address: string) => addresses.push(address));
    socket.once('connect', () => addresses.push(socket.remoteAddress ?? '?'));
  };
  diagnostics.subscribe('net.client.socket', onSocket);
  return { addresses, stop: () => diagnostics.unsubscribe('net.client.socket', onSocket) };
}

describe('the Zapier app (integrations/zapier) against a running hub', () => {
  const hub = hubPerFile();
  const { receiver } = hub;
  const appTester = zapier.createAppTester(App);
  const trigger = (key: string): Operation => App.triggers[key]!.operation;
  let api: TenantApi;
  let authData: { baseUrl: string; apiKey: string };
  let connections: ReturnType<typeof connectionsDuring>;

  beforeAll(async () => {
    delete process.env['LOGGING_TOKEN'];
    const key = await hub.th.keyForTenant(`zap${Date.now().toString(36)}`);
    api = (method, p, body) => hub.th.api(method, p, body, key);
    authData = { baseUrl: hub.th.hub.url, apiKey: key };
    connections = connectionsDuring();
  });

  /** The hub's deliveries to a hook URL: a local "Zapier" receiver, signed with the subscription's secret. */
  async function delivered(hookRequests: () => Promise<ReceivedRequest[]>, subscriptionId: string): Promise<ReceivedRequest> {
    const [request] = await hookRequests();
    const secret = String((await api('GET', `/v1/subscriptions/${subscriptionId}/secret`)).body['secret']);
    expect(new Webhook(secret).verify(request!.body, request!.headers as Record<string, string>)).toEqual(request!.json);
    return request!;
  }

  it('has a trigger for every event type of the catalog, each with a sample as deliveries send it', async () => {
    const types = ((await hub.th.api('GET', '/v1/event-types')).body['data'] as Json[]).map((t) => String(t['type']));
    expect(Object.keys(App.triggers).sort()).toEqual(types.map((t) => t.replace(/\./g, '_')).sort());
    for (const type of types) expect(trigger(type.replace(/\./g, '_')).sample).toMatchObject({ type, webhook: { subscription_id: 'sub_sample' } });
  });

  it('tests the connection with the key and labels it with the key\'s name and tenant; a key lacking scopes is refused saying which', async () => {
    expect(await appTester(App.authentication.test, { authData })).toMatchObject({ keyName: 'test', missingScopes: [] });

    const narrow = await api('POST', '/v1/api-keys', { name: 'read only', scopes: ['subscriptions:read'] });
    await expect(appTester(App.authentication.test, { authData: { ...authData, apiKey: String(narrow.body['key']) } })).rejects.toThrow(
      /lacks the scopes subscriptions:write, deliveries:read/,
    );
    await expect(appTester(App.authentication.test, { authData: { ...authData, apiKey: 'hh_not_a_key' } })).rejects.toThrow(/not valid or was revoked/);
    await expect(appTester(App.authentication.test, { authData: { apiKey: authData.apiKey } })).rejects.toThrow(/No Hookhub URL/);
  });

  it('subscribes a Zap, lists samples, gets a published event at the hook, signed, and unsubscribes', async () => {
    const hook = await receiver();
    const targetUrl = `${hook.url}/hooks/catch/123/abcdef/`;
    const business = trigger('business_created');

    const subscribeData = (await appTester(business.performSubscribe, { authData, targetUrl })) as Json;
    expect(subscribeData).toMatchObject({ id: expect.stringMatching(/^sub_/), endpointUrl: targetUrl, events: ['business.created'], description: 'Zapier: business.created' });
    const id = String(subscribeData['id']);

    // No event yet: the catalog's sample, in the shape the trigger receives.
    expect(await appTester(business.performList, { authData })).toEqual([expect.objectContaining({ id: 'evt_sample_business_created', type: 'business.created' })]);

    const accepted = await api('POST', '/v1/events', businessCreated({}, { name: 'Zap Bakery' }));
    const request = await delivered(() => hook.waitFor(1), id);
    expect(request.path).toBe('/hooks/catch/123/abcdef/');
    expect(request.json).toMatchObject({ id: accepted.body['id'], type: 'business.created', data: { name: 'Zap Bakery' }, webhook: { subscription_id: id } });
    // What the Zap gets from the delivery Zapier received.
    expect(await appTester(business.perform, { authData, cleanedRequest: request.json })).toEqual([request.json]);
    // The sample list now holds that event, in the same body.
    const [listed] = (await appTester(business.performList, { authData })) as Json[];
    expect(listed).toEqual({ ...request.json, webhook: { subscription_id: 'sub_sample', delivery_attempt: 1 } });

    expect(await appTester(business.performUnsubscribe, { authData, subscribeData })).toEqual({});
    expect((await api('GET', `/v1/subscriptions/${id}`)).status).toBe(404);
  });

  it('a Zap whose hook answers 410 Gone has its subscription disabled', async () => {
    const hook = await receiver(() => ({ status: 410 }));
    const subscribeData = (await appTester(trigger('review_created').performSubscribe, { authData, targetUrl: hook.url })) as Json;
    const id = String(subscribeData['id']);
    const review = { type: 'review.created', data: trigger('review_created').sample['data'] };
    expect((await api('POST', '/v1/events', review)).status).toBe(202);
    await hook.waitFor(1);
    await waitUntil(async () => (await api('GET', `/v1/subscriptions/${id}`)).body['active'] === false, 10_000);
    expect((await api('GET', `/v1/subscriptions/${id}`)).body).toMatchObject({ disabledReason: 'endpoint answered 410 Gone' });
  });

  it('reached nothing but loopback: no logs or other calls to Zapier from zapier-platform-core', () => {
    connections.stop();
    expect(connections.addresses.length).toBeGreaterThan(0);
    expect(connections.addresses.filter((a) => a !== '127.0.0.1' && a !== '::1')).toEqual([]);
  });
});
