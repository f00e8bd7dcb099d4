import { randomBytes } from 'node:crypto';
import { waitUntil } from '../support/receiver';
import type { GoogleSheetsEmulator } from '../support/emulators/google-sheets';
import { SHEETS_SCOPE as SCOPE, startSheetsHub } from '../support/google-sheets-hub';
import type { SheetsHub } from '../support/google-sheets-hub';
import type { OAuthServer } from '../support/oauth/oauth-server';
import { tenantApi, waitForAttempts } from '../support/test-hub';
import type { TestHub, TenantApi } from '../support/test-hub';

/**
 * The Google Sheets connector through the real pipeline (RabbitMQ, FerretDB) against an emulator
 * of the Sheets API v4 (docs/connectors/google-sheets-conformance.md): linking through the local
 * OAuth server with offline access (a refresh token) and PKCE, the token refreshed when the API
 * refuses it, the rows of many events in few appends (action.batch), the header written once in
 * row 1, and the link marked broken for a spreadsheet not shared with the account.
 */
type Json = Record<string, unknown>;

const HEADER = ['Time', 'Event', 'Event ID', 'Record ID', 'Name', 'Business ID', 'City', 'Detail', 'Rating'];

let hub: SheetsHub;
let oauth: OAuthServer;
let sheets: GoogleSheetsEmulator;
let th: TestHub;

beforeAll(async () => {
  hub = await startSheetsHub();
  ({ oauth, sheets, th } = hub);
});

afterAll(async () => {
  await hub?.stop();
});

const unique = (): string => randomBytes(6).toString('hex');

/** A spreadsheet id of Google's form, shared with `alice` (the OAuth server's default user) unless told otherwise. */
function spreadsheet(options: { sheets?: string[]; editors?: string[] } = {}): string {
  const id = `1Sheet${unique()}${unique()}`;
  sheets.addSpreadsheet(id, { editors: ['alice'], ...options });
  return id;
}

/** The whole linking flow, as a person in a browser would go through it; the authorization request is checked on the way. */
async function link(api: TenantApi, config: Json): Promise<Json> {
  const authorize = await api('POST', '/v1/connections/authorize', { connector: 'google-sheets', config });
  expect(authorize.status).toBe(201);
  const start = await fetch(String(authorize.body['authorizationUrl']), { redirect: 'manual' });
  const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const provider = new URL(start.headers.get('location') ?? '');
  expect(Object.fromEntries(['access_type', 'prompt', 'scope', 'code_challenge_method'].map((k) => [k, provider.searchParams.get(k)]))).toEqual({
    access_type: 'offline',
    prompt: 'consent',
    scope: SCOPE,
    code_challenge_method: 'S256',
  });
  const { redirectedTo } = await oauth.authorize(provider.toString());
  const done = await fetch(redirectedTo, { headers: { cookie, accept: 'application/json' }, redirect: 'manual' });
  const body = (await done.json()) as Json;
  expect(body).toMatchObject({ status: 'linked', connector: 'google-sheets' });
  return (await api('GET', `/v1/connections/${String(body['connection'])}`)).body;
}

async function integration(api: TenantApi, connectionId: string): Promise<string> {
  const created = await api('POST', '/v1/integrations', { connection: connectionId, events: ['business.created', 'review.created', 'user.registered'] });
  expect(created.status).toBe(201);
  return String(created.body['id']);
}

function business(id: string, name = `Bakery ${id}`): Json {
  return { type: 'business.created', data: { id, name, category: 'bakery', status: 'active', address: { city: 'Austin' }, created_at: '2026-11-01T10:00:00Z' } };
}

describe('Google Sheets linking', () => {
  it('asks for offline access with consent and PKCE, stores a refresh token, and checks the tab exists', async () => {
    const api = await tenantApi(th);
    const id = spreadsheet({ sheets: ['Sheet1', 'Events'] });
    const connection = await link(api, { spreadsheet_id: id, sheet: 'Events' });
    expect(connection['status']).toBe('active');
    expect(connection['requirements']).toMatchObject({ missing: [] });
    const stored = (await th.hub.connections.reload(String(connection['id'])))!.context.credentials;
    expect(stored['refresh_token']).toEqual(expect.any(String));

    const missingTab = await link(api, { spreadsheet_id: id, sheet: 'Leads' });
    expect((missingTab['requirements'] as Json)['missing']).toEqual([{ name: 'sheet', message: expect.stringContaining('The spreadsheet has no tab named Leads (it has Sheet1, Events)') }]);
  });
});

describe('Google Sheets rows through the pipeline', () => {
  it('writes the header once in row 1 and sends the rows of a burst of events in few appends', async () => {
    const api = await tenantApi(th);
    const id = spreadsheet();
    const connectionId = String((await link(api, { spreadsheet_id: id, sheet: 'Sheet1' }))['id']);
    const integrationId = await integration(api, connectionId);
    const run = unique();
    const burst = 12;
    await Promise.all(Array.from({ length: burst }, (_, i) => api('POST', '/v1/events', business(`biz_${run}_${i}`))));
    await waitUntil(() => sheets.rows(id, 'Sheet1').length === burst + 1, 30_000, () => JSON.stringify(sheets.rows(id, 'Sheet1')));

    const rows = sheets.rows(id, 'Sheet1');
    expect(rows[0]).toEqual(HEADER);
    expect(rows.filter((r) => r[0] === 'Time')).toHaveLength(1);
    expect(new Set(rows.slice(1).map((r) => r[3]))).toEqual(new Set(Array.from({ length: burst }, (_, i) => `biz_${run}_${i}`)));
    // 12 events, far fewer appends (a batch goes at 200 rows or 2 s after its first).
    expect(sheets.appends(id)).toBeLessThanOrEqual(3);
    const attempts = await waitForAttempts(api, integrationId, burst);
    expect(attempts.map((a) => a['status'])).toEqual(Array(burst).fill('succeeded'));
    // Every job records its batch's one append.
    for (const attempt of attempts) expect((attempt['steps'] as Json[]).at(-1)).toMatchObject({ action: 'append_rows', method: 'POST', status: 200 });

    // The link remembers the header: later events only append.
    const reads = sheets.count(`/v4/spreadsheets/${id}/values/'Sheet1'!1%3A1`, 'GET');
    const writes = sheets.requests.filter((r) => r.method === 'PUT').length;
    await api('POST', '/v1/events', { type: 'review.created', data: { id: `rev_${run}`, business_id: `biz_${run}_0`, rating: 4, title: '=1+1', created_at: '2026-11-02T10:00:00Z' } });
    await waitUntil(() => sheets.rows(id, 'Sheet1').length === burst + 2);
    expect(sheets.rows(id, 'Sheet1').at(-1)).toEqual([expect.any(String), 'review.created', expect.any(String), `rev_${run}`, "'=1+1", `biz_${run}_0`, '', '', '4']);
    expect(sheets.count(`/v4/spreadsheets/${id}/values/'Sheet1'!1%3A1`, 'GET')).toBe(reads);
    expect(sheets.requests.filter((r) => r.method === 'PUT').length).toBe(writes);
  });

  it("keeps a first row the customer filled in, and appends below the customer's rows", async () => {
    const api = await tenantApi(th);
    const id = spreadsheet();
    sheets.setRow(id, 'Sheet1', 0, ['When', 'What']);
    sheets.setRow(id, 'Sheet1', 1, ['yesterday', 'a row of theirs']);
    const connectionId = String((await link(api, { spreadsheet_id: id, sheet: 'Sheet1' }))['id']);
    await integration(api, connectionId);
    await api('POST', '/v1/events', business(`biz_${unique()}`));
    await waitUntil(() => sheets.rows(id, 'Sheet1').length === 3);
    const rows = sheets.rows(id, 'Sheet1');
    expect(rows.slice(0, 2)).toEqual([['When', 'What'], ['yesterday', 'a row of theirs']]);
    expect(rows[2]?.[1]).toBe('business.created');
    expect(sheets.requests.filter((r) => r.method === 'PUT' && r.path.includes(id))).toHaveLength(0);
  });

  it('refreshes a refused access token once and appends with the new one; the refresh token stays (Google does not rotate it)', async () => {
    const api = await tenantApi(th);
    const id = spreadsheet();
    const connectionId = String((await link(api, { spreadsheet_id: id, sheet: 'Sheet1' }))['id']);
    const integrationId = await integration(api, connectionId);
    await api('POST', '/v1/events', business(`biz_${unique()}`));
    await waitUntil(() => sheets.rows(id, 'Sheet1').length === 2);
    // Google stops taking the access token before the hour is out (the user changed their password, say): 401.
    const loaded = (await th.hub.connections.reload(connectionId))!;
    const before = loaded.context.credentials;
    await th.hub.vault.save(loaded.record, { ...before, access_token: `ended-${unique()}` });
    const tokenRequests = await oauth.tokenRequests();

    await api('POST', '/v1/events', business(`biz_${unique()}`));
    await waitUntil(() => sheets.rows(id, 'Sheet1').length === 3, 20_000, () => JSON.stringify(sheets.requests.slice(-3).map((r) => [r.method, r.path, r.status])));
    expect(sheets.requests.filter((r) => r.path.includes(id)).map((r) => r.status).slice(-2)).toEqual([401, 200]);
    expect(await oauth.tokenRequests()).toBe(tokenRequests + 1);
    const after = (await th.hub.connections.reload(connectionId))!.context.credentials;
    expect(after['access_token']).not.toBe(before['access_token']);
    expect(after['refresh_token']).toBe(before['refresh_token']);
    const attempts = await waitForAttempts(api, integrationId, 2);
    expect(attempts.map((a) => a['status'])).toEqual(['succeeded', 'succeeded']);
  });

  it('a revoked grant (the user removed access in their Google account) marks the link needs_reauth, parks its rows, and appends them once linked again', async () => {
    const api = await tenantApi(th);
    const id = spreadsheet();
    const connectionId = String((await link(api, { spreadsheet_id: id, sheet: 'Sheet1' }))['id']);
    const integrationId = await integration(api, connectionId);
    const loaded = (await th.hub.connections.reload(connectionId))!;
    await oauth.revoke(String(loaded.context.credentials['refresh_token']), 'refresh_token');
    // Google refuses the access token of a revoked grant at once (401); the refresh is then refused for good (invalid_grant).
    await th.hub.vault.save(loaded.record, { ...loaded.context.credentials, access_token: `revoked-${unique()}` });
    await api('POST', '/v1/events', business(`biz_${unique()}`));
    let dead: Json[] = [];
    await waitUntil(async () => {
      dead = (await api('GET', `/v1/dead-letters?subscriptionId=${integrationId}`)).body['data'] as Json[];
      return dead.length === 1;
    });
    expect(dead[0]).toMatchObject({ reason: 'connection_needs_reauth' });
    expect((await api('GET', `/v1/connections/${connectionId}`)).body['status']).toBe('needs_reauth');
    expect(sheets.rows(id, 'Sheet1')).toHaveLength(0);

    const again = await api('POST', '/v1/connections/authorize', { connector: 'google-sheets', connectionId });
    expect(again.status).toBe(201);
    const start = await fetch(String(again.body['authorizationUrl']), { redirect: 'manual' });
    const { redirectedTo } = await oauth.authorize(start.headers.get('location') ?? '');
    const done = await fetch(redirectedTo, { headers: { cookie: (start.headers.get('set-cookie') ?? '').split(';')[0] ?? '', accept: 'application/json' } });
    expect(await done.json()).toMatchObject({ status: 'linked' });
    await waitUntil(() => sheets.rows(id, 'Sheet1').length === 2, 20_000);
    expect((await api('GET', `/v1/connections/${connectionId}`)).body['status']).toBe('active');
  });

  it('marks the link broken when the spreadsheet is not shared with the account, and parks its deliveries', async () => {
    const api = await tenantApi(th);
    const id = spreadsheet({ editors: ['someone-else'] });
    const connection = await link(api, { spreadsheet_id: id, sheet: 'Sheet1' });
    expect((connection['requirements'] as Json)['missing']).toEqual([{ name: 'sheet', message: expect.stringContaining('cannot open spreadsheet') }]);
    const connectionId = String(connection['id']);
    const integrationId = await integration(api, connectionId);
    await api('POST', '/v1/events', business(`biz_${unique()}`));
    const [attempt] = await waitForAttempts(api, integrationId, 1);
    expect(attempt).toMatchObject({ status: 'failed', error: expect.stringContaining('share it with the linked Google account as an editor') });
    expect((await api('GET', `/v1/connections/${connectionId}`)).body['status']).toBe('broken');
    const denied = sheets.requests.find((r) => r.path.includes(id) && r.status === 403);
    expect(denied).toBeDefined();
  });
});
