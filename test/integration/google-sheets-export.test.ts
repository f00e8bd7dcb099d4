import { randomBytes } from 'node:crypto';
import type { GoogleSheetsEmulator } from '../support/emulators/google-sheets';
import { startSheetsHub } from '../support/google-sheets-hub';
import type { SheetsHub } from '../support/google-sheets-hub';
import type { OAuthServer } from '../support/oauth/oauth-server';
import { waitUntil } from '../support/receiver';
import { tenantApi } from '../support/test-hub';
import type { TestHub, TenantApi } from '../support/test-hub';

/**
 * Exports of past events into a Google Sheets tab (POST /v1/connections/:id/export), through the
 * real store (FerretDB), broker and connector against the Sheets emulator. The hub runs without
 * the jobs role, so each test runs the export runner itself, page by page where it needs to, and
 * stops it as a crash would.
 */
type Json = Record<string, unknown>;

let hub: SheetsHub;
let oauth: OAuthServer;
let sheets: GoogleSheetsEmulator;
let th: TestHub;

beforeAll(async () => {
  hub = await startSheetsHub({ HOOKHUB_ROLES: 'api,router,worker' });
  ({ oauth, sheets, th } = hub);
});

afterAll(async () => {
  await hub?.stop();
});

const unique = (): string => randomBytes(6).toString('hex');

/** A new spreadsheet shared with the OAuth server's user, linked to a new tenant's connection. */
async function linkedSheet(): Promise<{ api: TenantApi; spreadsheetId: string; connectionId: string; tenantId: string }> {
  const api = await tenantApi(th);
  const spreadsheetId = `1Sheet${unique()}${unique()}`;
  sheets.addSpreadsheet(spreadsheetId, { editors: ['alice'] });
  const authorize = await api('POST', '/v1/connections/authorize', { connector: 'google-sheets', config: { spreadsheet_id: spreadsheetId, sheet: 'Sheet1' } });
  const start = await fetch(String(authorize.body['authorizationUrl']), { redirect: 'manual' });
  const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const { redirectedTo } = await oauth.authorize(start.headers.get('location') ?? '');
  const done = (await (await fetch(redirectedTo, { headers: { cookie, accept: 'application/json' }, redirect: 'manual' })).json()) as Json;
  const connectionId = String(done['connection']);
  const tenantId = (await th.hub.connections.reload(connectionId))!.record.tenantId;
  return { api, spreadsheetId, connectionId, tenantId };
}

/** Publishes `count` business.created events one after another, and waits until the store has them all; their ids, in the order received. */
async function publish(api: TenantApi, tenantId: string, since: Date, count: number): Promise<string[]> {
  const run = unique();
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const posted = await api('POST', '/v1/events', { type: 'business.created', data: { id: `biz_${run}_${i}`, name: `Bakery ${i}`, category: 'bakery', status: 'active', address: { city: 'Austin' }, created_at: '2026-11-01T10:00:00Z' } });
    expect(posted.status).toBe(202);
    ids.push(String(posted.body['id']));
  }
  const stored = async (): Promise<string[]> => (await th.hub.store.eventsForExport(tenantId, 'business.created', { since, until: new Date(Date.now() + 60_000) }, null, 1000)).map((e) => e.envelope.id);
  await waitUntil(async () => (await stored()).filter((id) => ids.includes(id)).length === count, 20_000);
  return (await stored()).filter((id) => ids.includes(id));
}

/** The Event ID column of the tab's rows below the header. */
const exportedIds = (spreadsheetId: string): string[] => sheets.rows(spreadsheetId, 'Sheet1').slice(1).map((r) => r[2] ?? '');

describe('Export of past events into Google Sheets', () => {
  it('adds a row per event of the window in the order received, once, and reports the export done', async () => {
    const { api, spreadsheetId, connectionId, tenantId } = await linkedSheet();
    const since = new Date(Date.now() - 1000);
    const ids = await publish(api, tenantId, since, 7);

    const created = await api('POST', `/v1/connections/${connectionId}/export`, { type: 'business.created', since: since.toISOString() });
    expect(created.status).toBe(202);
    expect(created.body).toMatchObject({ state: 'queued', exported: 0, cursor: null, type: 'business.created' });
    const exportId = String(created.body['id']);

    const done = await th.hub.exports.runExport(tenantId, exportId);
    expect(done).toMatchObject({ state: 'done', exported: 7, pending: null, error: null });
    expect(exportedIds(spreadsheetId)).toEqual(ids);
    expect(sheets.rows(spreadsheetId, 'Sheet1')[0]?.[2]).toBe('Event ID');
    expect(sheets.appends(spreadsheetId)).toBe(1);

    const shown = await api('GET', `/v1/connections/${connectionId}/exports/${exportId}`);
    expect(shown.body).toMatchObject({ id: exportId, state: 'done', exported: 7, pagePending: false, error: null, lastRange: expect.stringMatching(/^Sheet1!A2:I8$/) });
    expect((await api('GET', `/v1/connections/${connectionId}/exports`)).body['data']).toEqual([shown.body]);
    // A finished export is left alone by later runs.
    await th.hub.exports.runExport(tenantId, exportId);
    expect(exportedIds(spreadsheetId)).toEqual(ids);
  });

  it('resumes after a stop between an append and storing its progress without adding a row twice', async () => {
    const { api, spreadsheetId, connectionId, tenantId } = await linkedSheet();
    const since = new Date(Date.now() - 1000);
    const ids = await publish(api, tenantId, since, 5);
    const exportId = String((await api('POST', `/v1/connections/${connectionId}/export`, { type: 'business.created', since: since.toISOString() })).body['id']);

    const afterFirst = await th.hub.exports.runExport(tenantId, exportId, { pageSize: 2, pages: 1 });
    expect(afterFirst).toMatchObject({ state: 'running', exported: 2, pending: null });
    expect((await api('GET', `/v1/connections/${connectionId}/exports/${exportId}`)).body).toMatchObject({ state: 'running', exported: 2, cursor: { key: expect.any(String) } });
    // The second page is appended; then the process dies before the cursor moves: what it leaves stored
    // is the cursor after the first page and the second page's ids written ahead.
    await th.hub.exports.runExport(tenantId, exportId, { pageSize: 2, pages: 1 });
    expect(exportedIds(spreadsheetId)).toEqual(ids.slice(0, 4));
    await th.hub.store.updateExport(exportId, { cursor: afterFirst!.cursor, exported: 2, pending: ids.slice(2, 4) });
    expect((await api('GET', `/v1/connections/${connectionId}/exports/${exportId}`)).body).toMatchObject({ pagePending: true, exported: 2 });
    const appends = sheets.appends(spreadsheetId);

    const resumed = await th.hub.exports.runExport(tenantId, exportId, { pageSize: 2 });
    expect(resumed).toMatchObject({ state: 'done', exported: 5, pending: null });
    expect(exportedIds(spreadsheetId)).toEqual(ids);
    // The second page was read back (the Event ID column), not sent again; only the last page was appended.
    expect(sheets.appends(spreadsheetId)).toBe(appends + 1);
    expect(sheets.requests.some((r) => r.method === 'GET' && decodeURIComponent(r.path).endsWith("'Sheet1'!C:C"))).toBe(true);
  });

  it('sends the events of a page written ahead that did not land', async () => {
    const { api, spreadsheetId, connectionId, tenantId } = await linkedSheet();
    const since = new Date(Date.now() - 1000);
    const ids = await publish(api, tenantId, since, 3);
    const exportId = String((await api('POST', `/v1/connections/${connectionId}/export`, { type: 'business.created', since: since.toISOString() })).body['id']);
    // Stopped after writing the first page ahead, before its append.
    await th.hub.store.updateExport(exportId, { state: 'running', pending: ids.slice(0, 2) });
    expect(await th.hub.exports.runExport(tenantId, exportId)).toMatchObject({ state: 'done', exported: 3 });
    expect(exportedIds(spreadsheetId)).toEqual(ids);
  });

  it('keeps the ids found ahead of the cursor until their events come, and leaves those events out', async () => {
    const { api, spreadsheetId, connectionId, tenantId } = await linkedSheet();
    const since = new Date(Date.now() - 1000);
    const ids = await publish(api, tenantId, since, 5);
    const exportId = String((await api('POST', `/v1/connections/${connectionId}/export`, { type: 'business.created', since: since.toISOString() })).body['id']);
    // The rows of the 1st and 3rd events landed, in a page the store now orders otherwise (an event stored late).
    sheets.setRow(spreadsheetId, 'Sheet1', 1, ['2026-11-01T10:00:00Z', 'business.created', ids[0] as string]);
    sheets.setRow(spreadsheetId, 'Sheet1', 2, ['2026-11-01T10:00:00Z', 'business.created', ids[2] as string]);
    await th.hub.store.updateExport(exportId, { state: 'running', pending: [ids[0] as string, ids[2] as string] });

    const first = await th.hub.exports.runExport(tenantId, exportId, { pageSize: 2, pages: 1 });
    expect(first).toMatchObject({ state: 'running', exported: 2, pending: [ids[2]] });
    expect(await th.hub.exports.runExport(tenantId, exportId, { pageSize: 2 })).toMatchObject({ state: 'done', exported: 5, pending: null });
    expect(exportedIds(spreadsheetId)).toEqual([ids[0], ids[2], ids[1], ids[3], ids[4]]);
  });

  it('refuses an export for a connector that declares none, an event type it does not handle, and a bad window', async () => {
    const { api, connectionId } = await linkedSheet();
    const slack = await api('POST', '/v1/connections', { connector: 'slack', credentials: { webhook_url: `https://hooks.slack.com/services/T0/B0/${unique()}` } });
    expect(slack.status).toBe(201);
    const refused = await api('POST', `/v1/connections/${String(slack.body['id'])}/export`, { type: 'review.created', since: '2026-01-01T00:00:00Z' });
    expect(refused.status).toBe(409);
    expect(refused.body).toEqual({ error: { code: 'export_not_supported', message: expect.stringContaining('Connector slack cannot export past events') } });

    const type = await api('POST', `/v1/connections/${connectionId}/export`, { type: 'subscription.created', since: '2026-01-01T00:00:00Z' });
    expect(type.status).toBe(422);
    expect(type.body).toMatchObject({ error: { code: 'export_type_not_handled', message: expect.stringContaining('it exports business.created') } });

    const window = await api('POST', `/v1/connections/${connectionId}/export`, { type: 'business.created', since: '2999-01-01T00:00:00Z' });
    expect(window.status).toBe(400);
    expect(window.body).toMatchObject({ error: { code: 'validation_failed', details: [{ path: '/since', message: 'must be before until (and before now)' }] } });

    // Another tenant sees neither the connection nor its exports.
    const other = await tenantApi(th);
    expect((await other('POST', `/v1/connections/${connectionId}/export`, { type: 'business.created', since: '2026-01-01T00:00:00Z' })).status).toBe(404);
    expect((await other('GET', `/v1/connections/${connectionId}/exports`)).status).toBe(404);
  });
});
