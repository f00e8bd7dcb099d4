import { randomBytes } from 'node:crypto';
import mongoose from 'mongoose';
import { Webhook } from 'standardwebhooks';
import { sha256Hex } from '../../src/core/ids';
import { waitUntil } from '../support/receiver';
import { MONGODB_BASE } from '../support/services';
import { businessCreated, hubPerFile, waitForAttempts } from '../support/test-hub';
import type { TenantApi } from '../support/test-hub';

type Json = Record<string, unknown>;

const shared = hubPerFile();
const { receiver } = shared;

/** A tenant of its own with a key of these scopes (admin by default). */
async function tenant(scopes: string[] = ['admin']): Promise<{ id: string; api: TenantApi; withScopes(s: string[]): Promise<TenantApi> }> {
  const id = `rs${randomBytes(4).toString('hex')}`;
  const keyOf = async (granted: string[]): Promise<TenantApi> => {
    const key = `hh_${id}_${randomBytes(12).toString('hex')}`;
    await shared.th.hub.store.upsertApiKey({ hash: sha256Hex(key), tenantId: id, name: 'test', scopes: granted, createdAt: new Date() });
    return (method, path, body) => shared.th.api<Json>(method, path, body, key);
  };
  return { id, api: await keyOf(scopes), withScopes: keyOf };
}

const errorCode = (body: Json): unknown => (body['error'] as Json | undefined)?.['code'];

describe('POST /v1/attempts/:id/resend', () => {
  it("sends the attempt's event again to that subscription only, under its webhook-id and current settings, and links the new attempts", async () => {
    const { api } = await tenant();
    const r = await receiver();
    const other = await receiver();
    const sub = await api('POST', '/v1/subscriptions', { endpointUrl: r.url, events: ['business.created'] });
    const subId = String(sub.body['id']);
    const secret = String(sub.body['secret']);
    await api('POST', '/v1/subscriptions', { endpointUrl: other.url, events: ['business.created'] });
    await api('POST', '/v1/events', businessCreated());
    const [original] = await waitForAttempts(api, subId, 1);
    await other.waitFor(1);
    const originalId = String(original!['id']);
    // Settings changed since: the resend is shaped and sent under the current ones.
    await api('PATCH', `/v1/subscriptions/${subId}`, { headers: { 'X-Config-Version': '2' } });

    const resent = await api('POST', `/v1/attempts/${originalId}/resend`);
    expect(resent.status).toBe(202);
    expect(resent.body).toMatchObject({ resentFrom: originalId, subscriptionId: subId, eventId: original!['eventId'], webhookId: original!['webhookId'], batchId: null });

    const requests = await r.waitFor(2);
    expect(requests[1]!.headers['webhook-id']).toBe(requests[0]!.headers['webhook-id']);
    expect(requests[1]!.json['id']).toBe(requests[0]!.json['id']);
    expect(requests[1]!.headers['x-config-version']).toBe('2');
    expect(() => new Webhook(secret).verify(requests[1]!.body, requests[1]!.headers as Record<string, string>)).not.toThrow();

    const log = await waitForAttempts(api, subId, 2);
    const again = log.find((a) => a['id'] !== originalId)!;
    expect(again).toMatchObject({ resentFrom: originalId, replay: true, attempt: 1, status: 'succeeded', webhookId: original!['webhookId'] });
    expect((await api('GET', `/v1/deliveries/${String(again['id'])}`)).body).toMatchObject({ resentFrom: originalId });
    expect((await api('GET', `/v1/deliveries/${originalId}`)).body).toMatchObject({ resentFrom: null });
    // Where the answer says to look, the new attempt is.
    const listed = (await api('GET', String(resent.body['deliveries']))).body['data'] as Json[];
    expect(listed.map((a) => a['id'])).toContain(again['id']);
    // No other subscription got it again.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(other.requests).toHaveLength(1);

    let audit: Json[] = [];
    await waitUntil(async () => (audit = (await api('GET', '/v1/audit-log?action=attempt.resend')).body['data'] as Json[]).length > 0);
    expect(audit).toMatchObject([{ action: 'attempt.resend', resourceType: 'attempt', resourceId: originalId }]);
  });

  it('resends a failed delivery as a fresh series of retries, each attempt linked to the original', async () => {
    const { api } = await tenant();
    const r = await receiver(() => ({ status: 500 }));
    const sub = await api('POST', '/v1/subscriptions', { endpointUrl: r.url, events: ['business.created'], retryConfig: { maxRetries: 0 } });
    const subId = String(sub.body['id']);
    await api('POST', '/v1/events', businessCreated());
    const [failed] = await waitForAttempts(api, subId, 1);
    await api('PATCH', `/v1/subscriptions/${subId}`, { retryConfig: { maxRetries: 1, initialDelaySeconds: 1 } });
    expect((await api('POST', `/v1/attempts/${String(failed!['id'])}/resend`)).status).toBe(202);
    const log = await waitForAttempts(api, subId, 3, 30_000);
    expect(log.slice(0, 2).map((a) => [a['attempt'], a['resentFrom'], a['next']])).toEqual([
      [2, failed!['id'], 'dead_letter'],
      [1, failed!['id'], 'retry'],
    ]);
  });

  it("answers 404 for another tenant's attempt, and sends nothing", async () => {
    const owner = await tenant();
    const stranger = await tenant();
    const r = await receiver();
    const sub = await owner.api('POST', '/v1/subscriptions', { endpointUrl: r.url, events: ['business.created'] });
    await owner.api('POST', '/v1/events', businessCreated());
    const [attempt] = await waitForAttempts(owner.api, String(sub.body['id']), 1);
    const refused = await stranger.api('POST', `/v1/attempts/${String(attempt!['id'])}/resend`);
    expect([refused.status, errorCode(refused.body)]).toEqual([404, 'attempt_not_found']);
    expect((await stranger.api('POST', '/v1/attempts/att_made_up/resend')).status).toBe(404);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(r.requests).toHaveLength(1);
  });

  it('needs subscriptions:write', async () => {
    const t = await tenant();
    const reader = await t.withScopes(['deliveries:read']);
    const refused = await reader('POST', '/v1/attempts/att_any/resend');
    expect(refused.status).toBe(403);
  });

  it('says why it cannot: subscription disabled or deleted, event no longer stored, a test send', async () => {
    const { id: tenantId, api } = await tenant();
    const r = await receiver();
    const sub = await api('POST', '/v1/subscriptions', { endpointUrl: r.url, events: ['business.created'] });
    const subId = String(sub.body['id']);
    const published = await api('POST', '/v1/events', businessCreated());
    const [attempt] = await waitForAttempts(api, subId, 1);
    const attemptId = String(attempt!['id']);

    await api('PATCH', `/v1/subscriptions/${subId}`, { active: false });
    const disabled = await api('POST', `/v1/attempts/${attemptId}/resend`);
    expect([disabled.status, errorCode(disabled.body)]).toEqual([409, 'subscription_inactive']);
    expect(String((disabled.body['error'] as Json)['message'])).toContain(`PATCH /v1/subscriptions/${subId}`);
    await api('PATCH', `/v1/subscriptions/${subId}`, { active: true });

    // The event past retention: removed from the store as a purge would.
    const connection = await mongoose.createConnection(`${MONGODB_BASE}/${shared.th.database}`).asPromise();
    try {
      await connection.db!.collection('events').deleteOne({ _id: `${tenantId}/${String(published.body['id'])}` as never });
    } finally {
      await connection.close();
    }
    const gone = await api('POST', `/v1/attempts/${attemptId}/resend`);
    expect([gone.status, errorCode(gone.body)]).toEqual([410, 'event_not_stored']);

    const test = await api('POST', `/v1/subscriptions/${subId}/test`, { type: 'business.created' });
    expect(test.status).toBeLessThan(300);
    const testAttempt = (await waitForAttempts(api, subId, 2)).find((a) => a['test'] === true)!;
    const notResendable = await api('POST', `/v1/attempts/${String(testAttempt['id'])}/resend`);
    expect([notResendable.status, errorCode(notResendable.body)]).toEqual([409, 'attempt_not_resendable']);

    await api('DELETE', `/v1/subscriptions/${subId}`);
    const deleted = await api('POST', `/v1/attempts/${attemptId}/resend`);
    expect([deleted.status, errorCode(deleted.body)]).toEqual([409, 'subscription_deleted']);
    await waitUntil(() => r.requests.length >= 1);
    expect(r.requests.filter((q) => q.json['id'] === published.body['id'])).toHaveLength(1);
  });
});
