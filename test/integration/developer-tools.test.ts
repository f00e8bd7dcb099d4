import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createHmac } from 'node:crypto';
import { compactDecrypt, exportJWK, generateKeyPair } from 'jose';
import { makeTestPki } from '../support/certificates';
import type { TestPki } from '../support/certificates';
import { freePort } from '../support/local-server';
import { businessCreated, hubPerFile, startTestHub, waitForAttempts } from '../support/test-hub';
import type { TenantApi } from '../support/test-hub';
import { signPayload } from '../../src/transport/signing';
import { verifyWebhook } from '../../src/verify';

type Json = Record<string, unknown>;

const { receiver, tenant } = hubPerFile();

async function subscribe(api: TenantApi, body: Json): Promise<Json> {
  const created = await api('POST', '/v1/subscriptions', body);
  expect(created.status).toBe(201);
  return created.body;
}

describe('POST /v1/events/inspect', () => {
  it('says for each subscription whether it matches, which check failed, and the exact signed request a match gets; nothing is published', async () => {
    const api = await tenant();
    const r = await receiver();
    const shaped = await subscribe(api, {
      endpointUrl: `${r.url}/shaped`,
      events: ['business.created'],
      payload: { fields: ['data.name', 'data.address.city'] },
      headers: { 'X-Api-Key': { value: 'k-123', secret: true }, 'X-Team': 'growth' },
    });
    const otherType = await subscribe(api, { endpointUrl: `${r.url}/reviews`, events: ['review.created'] });
    const berlin = await subscribe(api, { endpointUrl: `${r.url}/berlin`, events: ['*'], filters: [{ field: 'data.address.city', operator: 'equals', value: 'Berlin' }] });
    const cafes = await subscribe(api, { endpointUrl: `${r.url}/cafes`, events: ['*'], filter: 'data.category = "cafe" ? true : data.category' });
    const paused = await subscribe(api, { endpointUrl: `${r.url}/paused`, events: ['*'], active: false });

    const event = businessCreated({ id: 'evt_inspect_1' });
    const answer = await api('POST', '/v1/events/inspect', event);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ valid: true, reason: null, problems: [], truncated: false, event: { id: 'evt_inspect_1', type: 'business.created', version: expect.any(String) } });
    const byId = new Map((answer.body['subscriptions'] as Json[]).map((s) => [s['id'], s]));
    expect(byId.size).toBe(5);

    expect(byId.get(otherType['id'])).toMatchObject({ matched: false, failedCheck: 'event_type', reason: 'It listens to review.created, not to business.created.', request: null });
    expect(byId.get(berlin['id'])).toMatchObject({
      matched: false,
      failedCheck: 'field_filters',
      checks: { fieldFilters: [{ field: 'data.address.city', operator: 'equals', value: 'Berlin', actual: 'Austin', passed: false }] },
      reason: expect.stringContaining('the event has "Austin"'),
    });
    expect(byId.get(cafes['id'])).toMatchObject({ matched: false, failedCheck: 'filter', checks: { filter: { result: 'restaurant', passed: false, error: null } }, reason: 'The JSONata filter returned "restaurant"; only true matches.' });
    expect(byId.get(paused['id'])).toMatchObject({ matched: false, failedCheck: 'inactive' });

    const match = byId.get(shaped['id']) as Json;
    expect(match).toMatchObject({ matched: true, failedCheck: null, reason: null, error: null, endpointUrl: `${r.url}/shaped` });
    const request = match['request'] as { url: string; webhookId: string; headers: Record<string, string>; body: string; signature: string };
    expect(JSON.parse(request.body)).toEqual({
      id: 'evt_inspect_1',
      type: 'business.created',
      created: (answer.body['event'] as Json)['timestamp'],
      data: { name: 'Blue Door Bistro', address: { city: 'Austin' } },
      webhook: { subscription_id: shaped['id'], delivery_attempt: 1 },
    });
    // Secret header values are masked; the signature is real and verifies with the subscription's secret.
    expect(request.headers['X-Api-Key']).not.toBe('k-123');
    expect(request.headers['X-Team']).toBe('growth');
    expect(request.signature).toBe(request.headers['webhook-signature']);
    expect(verifyWebhook(request.body, request.headers, shaped['secret'] as string)).toMatchObject({ webhookId: request.webhookId, signatureVersion: 'v1' });

    // Nothing was published: the event is unknown and no endpoint heard of it.
    expect((await api('GET', '/v1/events/evt_inspect_1')).status).toBe(404);
    expect(r.requests).toEqual([]);

    // Published for real, the matching endpoint gets the body the dry run showed, byte for byte.
    expect((await api('POST', '/v1/events', { ...event, timestamp: (answer.body['event'] as Json)['timestamp'] })).status).toBe(202);
    const [delivered] = await r.waitFor(1);
    expect(delivered?.path).toBe('/shaped');
    expect(delivered?.body).toBe(request.body);
    expect(delivered?.headers['webhook-id']).toBe(request.webhookId);
    expect(delivered?.headers['x-api-key']).toBe('k-123');
    await waitForAttempts(api, shaped['id'] as string, 1);
  });

  it('shows an encrypted body as it would be sent, and a transform\'s result', async () => {
    const api = await tenant();
    const r = await receiver();
    const { publicKey, privateKey } = await generateKeyPair('RSA-OAEP-256', { extractable: true });
    const encrypted = await subscribe(api, { endpointUrl: `${r.url}/enc`, events: ['business.created'], encryption: { jwk: await exportJWK(publicKey), fields: ['data.contact.email'] } });
    const transformed = await subscribe(api, { endpointUrl: `${r.url}/t`, events: ['business.created'], payload: { transform: '{"name": $uppercase(data.name)}' } });
    const answer = await api('POST', '/v1/events/inspect', businessCreated());
    const byId = new Map((answer.body['subscriptions'] as Json[]).map((s) => [s['id'], s]));
    const encBody = JSON.parse((byId.get(encrypted['id'])?.['request'] as Json)['body'] as string) as { data: { contact: { email: string } } };
    const jwe = encBody.data.contact.email;
    expect(jwe).not.toContain('@');
    expect(new TextDecoder().decode((await compactDecrypt(jwe, privateKey)).plaintext)).toBe('"hello@bluedoor.example"');
    expect(JSON.parse((byId.get(transformed['id'])?.['request'] as Json)['body'] as string)['data']).toEqual({ name: 'BLUE DOOR BISTRO' });
  });

  it('lists an invalid event\'s problems by JSON path and matches nothing', async () => {
    const api = await tenant();
    await subscribe(api, { endpointUrl: 'http://127.0.0.1:9/x', events: ['*'] });
    const answer = await api('POST', '/v1/events/inspect', businessCreated({}, { name: 42 }));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ valid: false, reason: 'invalid_data', event: null, subscriptions: [] });
    expect(answer.body['problems']).toEqual(expect.arrayContaining([expect.objectContaining({ path: '/data/name' })]));
    const missing = await api('POST', '/v1/events/inspect', { data: {} });
    expect(missing.status).toBe(400);
    expect(missing.body['error']).toMatchObject({ code: 'validation_failed', details: [{ path: '/type' }] });
  });

  it('never shows another tenant\'s subscriptions', async () => {
    const owner = await tenant();
    const intruder = await tenant();
    const sub = await subscribe(owner, { endpointUrl: 'http://127.0.0.1:9/x', events: ['*'] });
    const seen = await intruder('POST', '/v1/events/inspect', businessCreated());
    expect(seen.body['subscriptions']).toEqual([]);
    expect(JSON.stringify(seen.body)).not.toContain(String(sub['id']));
  });
});

describe('POST /v1/webhooks/verify', () => {
  const secret = `whsec_${Buffer.from('a secret of thirty-two bytes!!!!').toString('base64')}`;
  const body = '{"id":"evt_1","type":"business.created"}';
  const signed = (at: number, text = body): Record<string, string> => ({ ...signPayload('msg_1', at, text, [secret]) });
  const now = (): number => Math.floor(Date.now() / 1000);

  it('says a good delivery verifies, and which check fails otherwise', async () => {
    const api = await tenant();
    const ok = await api('POST', '/v1/webhooks/verify', { headers: signed(now()), body, secret });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ valid: true, failure: null, webhookId: 'msg_1', checks: [{ name: 'body', status: 'passed' }, { name: 'key', status: 'passed' }, { name: 'headers', status: 'passed' }, { name: 'timestamp', status: 'passed' }, { name: 'signature', status: 'passed' }] });

    const { 'webhook-id': _id, ...noId } = signed(now());
    const missing = await api('POST', '/v1/webhooks/verify', { headers: noId, body, secret });
    expect(missing.body).toMatchObject({ valid: false, failure: { check: 'headers', code: 'missing_header', message: 'The webhook-id header is missing.' } });
    expect((missing.body['checks'] as Json[]).map((c) => c['status'])).toEqual(['passed', 'passed', 'failed', 'not_run', 'not_run']);

    const old = await api('POST', '/v1/webhooks/verify', { headers: signed(now() - 3600), body, secret });
    expect(old.body).toMatchObject({ valid: false, failure: { check: 'timestamp', code: 'timestamp_too_old' }, toleranceSeconds: 300 });
    expect(old.body['ageSeconds']).toBeGreaterThanOrEqual(3600);
    expect((await api('POST', '/v1/webhooks/verify', { headers: signed(now() - 3600), body, secret, toleranceSeconds: 7200 })).body['valid']).toBe(true);
  });

  it('gives the signature expected for the secret given when none matches, and spots a changed body', async () => {
    const api = await tenant();
    const other = `whsec_${Buffer.from('another secret of thirty-two b!!').toString('base64')}`;
    const at = now();
    const headers = signed(at);
    const wrongKey = await api('POST', '/v1/webhooks/verify', { headers, body, secret: other });
    const expected = `v1,${createHmac('sha256', Buffer.from(other.slice(6), 'base64')).update(`msg_1.${at}.${body}`).digest('base64')}`;
    expect(wrongKey.body).toMatchObject({ valid: false, failure: { check: 'signature', code: 'invalid_signature' }, expectedSignature: expected, receivedSignatures: [headers['webhook-signature']] });

    const newline = await api('POST', '/v1/webhooks/verify', { headers, body: `${body}\n`, secret });
    expect(newline.body['hints']).toEqual([expect.stringContaining('without its trailing whitespace or newline')]);
    const pretty = await api('POST', '/v1/webhooks/verify', { headers, body: JSON.stringify(JSON.parse(body), null, 2), secret });
    expect(pretty.body['hints']).toEqual([expect.stringContaining('re-serialised JSON')]);
  });

  it('refuses a request without the raw body as a string, naming each field', async () => {
    const api = await tenant();
    const bad = await api('POST', '/v1/webhooks/verify', { headers: { 'webhook-id': 1 }, body: { parsed: true } });
    expect(bad.status).toBe(400);
    expect((bad.body['error'] as Json)['details']).toEqual([
      expect.objectContaining({ path: '/headers' }),
      expect.objectContaining({ path: '/body' }),
      expect.objectContaining({ path: '/secret' }),
    ]);
  });
});

describe('POST /v1/endpoints/validate', () => {
  let pki: TestPki;
  let tlsServer: { url: string; hits: number; close(): Promise<void> };

  beforeAll(async () => {
    pki = makeTestPki();
    let hits = 0;
    const server = https.createServer({ cert: pki.serverCert, key: pki.serverKey }, (req, res) => {
      hits += 1;
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    tlsServer = {
      url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
      get hits() {
        return hits;
      },
      close: () => new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    };
  });
  afterAll(async () => {
    await tlsServer?.close();
  });

  it('reports a reachable endpoint, the signed test POST it answered and how fast', async () => {
    const api = await tenant();
    const r = await receiver();
    const secret = `whsec_${Buffer.from('a secret of thirty-two bytes!!!!').toString('base64')}`;
    const answer = await api('POST', '/v1/endpoints/validate', { url: `${r.url}/hooks`, secret });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ url: `${r.url}/hooks`, reachable: true, addresses: ['127.0.0.1'], tls: null, request: { status: 200, redirect: null, body: 'ok', error: null, signedWith: 'given_secret' } });
    expect(answer.body['issues']).toEqual([expect.objectContaining({ code: 'plain_http', severity: 'warning' })]);
    const [sent] = await r.waitFor(1);
    // The receiver can verify the test POST with its subscription's secret.
    expect(verifyWebhook(sent?.body ?? '', sent?.headers as Record<string, string>, secret)).toMatchObject({ signatureVersion: 'v1' });
    expect(sent?.json).toMatchObject({ type: 'webhook.endpoint_check' });
  });

  it('reports a redirect without following it, and error answers in plain words', async () => {
    const api = await tenant();
    const target = await receiver();
    const r = await receiver((req) => (req.path === '/moved' ? { status: 301, headers: { location: `${target.url}/new` } } : { status: 401 }));
    const moved = await api('POST', '/v1/endpoints/validate', { url: `${r.url}/moved` });
    expect(moved.body).toMatchObject({ reachable: true, request: { status: 301, redirect: { status: 301, location: `${target.url}/new` } } });
    expect(moved.body['issues']).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'redirect', severity: 'error', message: expect.stringContaining('never follows redirects') })]));
    expect(target.requests).toEqual([]);
    const refused = await api('POST', '/v1/endpoints/validate', { url: `${r.url}/verifying` });
    expect(refused.body['issues']).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'refused_signature', severity: 'warning' })]));
  });

  it('reports a port nobody listens on as unreachable', async () => {
    const api = await tenant();
    const url = `http://127.0.0.1:${await freePort()}/hooks`;
    const answer = await api('POST', '/v1/endpoints/validate', { url });
    expect(answer.body).toMatchObject({ reachable: false, request: null, connectMs: null });
    expect(answer.body['issues']).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'connection_refused', severity: 'error', message: expect.stringContaining('connection refused') })]));
  });

  it('reads TLS: an untrusted chain is reported with its issuer, protocol and expiry; with its CA given the chain is valid and the POST answered', async () => {
    const api = await tenant();
    const untrusted = await api('POST', '/v1/endpoints/validate', { url: tlsServer.url });
    expect(untrusted.body).toMatchObject({
      reachable: true,
      tls: { authorized: false, protocol: 'TLSv1.3', issuer: expect.stringContaining('CN=Hookhub Test CA'), subject: expect.stringContaining('CN=127.0.0.1'), subjectAltNames: 'IP Address:127.0.0.1' },
      request: { status: null, error: expect.any(String) },
    });
    const tls = untrusted.body['tls'] as Json;
    expect(new Date(tls['validTo'] as string).getTime()).toBeGreaterThan(Date.now());
    expect(tls['daysLeft']).toBeLessThanOrEqual(2);
    const codes = (untrusted.body['issues'] as Json[]).map((i) => i['code']);
    expect(codes).toEqual(expect.arrayContaining(['tls_untrusted', 'tls_expires_soon', 'no_answer']));

    const hits = tlsServer.hits;
    const trusted = await api('POST', '/v1/endpoints/validate', { url: tlsServer.url, ca: pki.caCert });
    expect(trusted.body).toMatchObject({ reachable: true, tls: { authorized: true, error: null }, request: { status: 200 } });
    expect((trusted.body['issues'] as Json[]).map((i) => i['code'])).toEqual(['tls_expires_soon']);
    expect(tlsServer.hits).toBe(hits + 1);
  });

  it('warns in the create answer when a new subscription\'s endpoint is unreachable, and creates it all the same', async () => {
    const api = await tenant();
    const r = await receiver();
    const down = await api('POST', '/v1/subscriptions', { endpointUrl: `http://127.0.0.1:${await freePort()}/x`, events: ['*'] });
    expect(down.status).toBe(201);
    expect(down.body['warnings']).toEqual([expect.objectContaining({ code: 'endpoint_unreachable', message: expect.stringContaining('connection refused'), check: expect.objectContaining({ reachable: false }) })]);
    expect((await api('GET', `/v1/subscriptions/${String(down.body['id'])}`)).status).toBe(200);
    const up = await api('POST', '/v1/subscriptions', { endpointUrl: `${r.url}/x`, events: ['*'] });
    expect(up.body['warnings']).toBeUndefined();
    // Creation only connects: the endpoint gets no request.
    expect(r.requests).toEqual([]);
    const untrusted = await api('POST', '/v1/subscriptions', { endpointUrl: tlsServer.url, events: ['*'] });
    expect(untrusted.body['warnings']).toEqual([expect.objectContaining({ code: 'endpoint_tls_failed' })]);
  });

  it('applies the SSRF guard: a hub that refuses private networks checks nothing on loopback', async () => {
    const guarded = await startTestHub({ mode: 'embedded', env: { HOOKHUB_ALLOW_PRIVATE_NETWORKS: 'false' } });
    try {
      const r = await receiver();
      const answer = await guarded.api('POST', '/v1/endpoints/validate', { url: `${r.url}/hooks` });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ reachable: false, request: null, issues: [expect.objectContaining({ code: 'url_refused', message: expect.stringContaining('private or reserved address') })] });
      const named = await guarded.api('POST', '/v1/endpoints/validate', { url: `${r.url.replace('127.0.0.1', 'localhost')}/hooks` });
      expect((named.body['issues'] as Json[])[0]).toMatchObject({ code: 'url_refused' });
      expect(r.requests).toEqual([]);
    } finally {
      await guarded.destroy();
    }
  });
});
