import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_CONNECTORS_DIR } from '../../src/config/config';
import { landedIds } from '../../src/connectors/export-landed';
import { loadManifest } from '../../src/connectors/loader';
import type { LoadedConnector } from '../../src/connectors/loader';
import type { OutgoingRequest } from '../../src/connectors/hooks';
import type { HttpResult } from '../../src/transport/http-sender';

function shipped(name: string): LoadedConnector {
  const result = loadManifest(path.join(DEFAULT_CONNECTORS_DIR, name, 'connector.yaml'), DEFAULT_CONNECTORS_DIR);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.connector;
}

const json = (status: number, body: unknown): HttpResult => ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), durationMs: 1, error: null, errorCode: null });

function cannedTransport(answers: HttpResult[]): { sent: OutgoingRequest[]; send(action: string, request: OutgoingRequest): Promise<HttpResult> } {
  const sent: OutgoingRequest[] = [];
  return {
    sent,
    async send(_action, request) {
      sent.push(request);
      return answers.shift() ?? json(500, { error: { message: 'no answer left' } });
    },
  };
}

const ctx = () => ({ connectionId: 'con_gs', config: { spreadsheet_id: '1SheetAbcdefghij', sheet: "Bob's" }, credentials: { access_token: 'tok-secret-1' }, metadata: {} });

describe('connector export', () => {
  const sheets = shipped('google-sheets');

  it('compiles the Google Sheets export: pages through append_rows, what landed read from the Event ID column', () => {
    expect(sheets.export).toMatchObject({ action: 'append_rows', landed: { action: 'event_ids' } });
  });

  it("reads the tab's column C and names the page's ids found there, none else", async () => {
    const transport = cannedTransport([json(200, { range: 'Sheet1!C1:C4', majorDimension: 'ROWS', values: [['Event ID'], ['evt_a'], [], ['evt_x']] })]);
    const outcome = await landedIds(sheets, ctx(), ['evt_a', 'evt_b'], { transport });
    expect(outcome).toEqual({ kind: 'read', ids: new Set(['evt_a']) });
    expect(transport.sent[0]).toMatchObject({ method: 'GET', url: "https://sheets.googleapis.com/v4/spreadsheets/1SheetAbcdefghij/values/'Bob''s'!C%3AC" });
  });

  it('finds nothing in an empty tab, refreshes a refused token once, and stops at a spreadsheet not shared (broken)', async () => {
    expect(await landedIds(sheets, ctx(), ['evt_a'], { transport: cannedTransport([json(200, { range: 'Sheet1!C1:C1000', majorDimension: 'ROWS' })]) })).toEqual({ kind: 'read', ids: new Set() });

    let refreshed = 0;
    const refusing = cannedTransport([json(401, { error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' } }), json(200, { values: [['evt_a']] })]);
    const after = await landedIds(sheets, ctx(), ['evt_a'], { transport: refusing, refreshCredentials: async () => ({ access_token: `tok-${++refreshed}` }) });
    expect(after).toEqual({ kind: 'read', ids: new Set(['evt_a']) });
    expect(refreshed).toBe(1);
    expect(refusing.sent[1]?.headers['authorization']).toBe('Bearer tok-1');

    const denied = await landedIds(sheets, ctx(), ['evt_a'], { transport: cannedTransport([json(403, { error: { code: 403, message: 'The caller does not have permission', status: 'PERMISSION_DENIED' } })]) });
    expect(denied).toMatchObject({ kind: 'stopped', verdict: 'broken', reason: expect.stringContaining('share it with the linked Google account') });
  });

  describe('manifest checks', () => {
    let root: string;
    beforeEach(() => {
      root = mkdtempSync(path.join(os.tmpdir(), 'hh-export-'));
    });
    afterEach(() => rmSync(root, { recursive: true, force: true }));

    const manifest = (exportSpec: string, batched = true): string => {
      const dir = path.join(root, 'acme');
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        path.join(dir, 'connector.yaml'),
        `name: acme
version: 1.0.0
title: Acme
description: test connector
auth: { type: api_key, in: header, name: X-Api-Key }
base_url: https://api.acme.example
actions:
  add:
    method: POST
    path: /rows
${batched ? '    batch: { max_items: 10, max_wait_ms: 100 }\n' : ''}  list:
    method: GET
    path: /rows
triggers:
  - event: business.created
    actions: [add]
    mapping: '{"name": data.name}'
export:
${exportSpec}
`,
      );
      return path.join(dir, 'connector.yaml');
    };
    const problems = (file: string): string[] => {
      const result = loadManifest(file, root);
      return result.ok ? [] : result.problems.map((p) => `${p.path} ${p.message}`);
    };

    it('takes a batched action and a declared read', () => {
      expect(problems(manifest('  action: add\n  landed: { action: list, ids: "rows.id" }'))).toEqual([]);
    });

    it('refuses an undeclared action, one without batch, and an undeclared read', () => {
      expect(problems(manifest('  action: nope\n  landed: { action: list, ids: "rows.id" }'))).toEqual([expect.stringContaining('/export/action names action "nope", which is not declared')]);
      expect(problems(manifest('  action: add\n  landed: { action: list, ids: "rows.id" }', false))).toEqual([expect.stringContaining('/export/action names action "add", which has no batch')]);
      expect(problems(manifest('  action: add\n  landed: { action: gone, ids: "rows.id" }'))).toEqual([expect.stringContaining('/export/landed/action names action "gone"')]);
      expect(problems(manifest('  action: add')).join()).toContain('landed');
    });
  });
});
