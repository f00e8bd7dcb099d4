import path from 'node:path';
import { DEFAULT_CONNECTORS_DIR } from '../../src/config/config';
import { loadManifest } from '../../src/connectors/loader';
import type { LoadedConnector } from '../../src/connectors/loader';
import { readBack, rowsOf } from '../../src/connectors/readback';
import type { OutgoingRequest } from '../../src/connectors/hooks';
import type { HttpResult } from '../../src/transport/http-sender';

function shipped(name: string): LoadedConnector {
  const result = loadManifest(path.join(DEFAULT_CONNECTORS_DIR, name, 'connector.yaml'), DEFAULT_CONNECTORS_DIR);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.connector;
}

const json = (status: number, body: unknown): HttpResult => ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), durationMs: 1, error: null, errorCode: null });

/** Answers each request with the next canned answer and keeps what was sent. */
function cannedTransport(answers: HttpResult[]): { sent: OutgoingRequest[]; send(action: string, request: OutgoingRequest): Promise<HttpResult> } {
  const sent: OutgoingRequest[] = [];
  return {
    sent,
    async send(_action, request) {
      sent.push(request);
      return answers.shift() ?? json(500, [{ errorCode: 'UNKNOWN_EXCEPTION', message: 'no answer left' }]);
    },
  };
}

const ctx = () => ({ connectionId: 'con_sf', config: { currency: 'EUR' }, credentials: { access_token: 'tok-secret-1' }, metadata: { instance_url: 'https://acme.my.salesforce.com' } });

describe('connector readback', () => {
  const salesforce = shipped('salesforce');
  const readback = salesforce.readback!;

  it('compiles the Salesforce read-back: Leads by SOQL, 200 ids a query, 400 a run', () => {
    expect(readback).toMatchObject({ object: 'Lead', batch: 200, perRun: 400, requests: [{ action: 'query_leads', when: null }] });
  });

  it('asks for the Leads by id in one SOQL query (anything but letters and digits dropped) and maps the answer', async () => {
    const transport = cannedTransport([
      json(200, {
        totalSize: 2,
        done: true,
        records: [
          { attributes: { type: 'Lead' }, Id: '00Q000000000001AAA', IsConverted: true, ConvertedDate: '2026-06-02', ConvertedOpportunityId: '006A', ConvertedOpportunity: { StageName: 'Closed Won', Amount: 900, IsWon: true, IsClosed: true } },
          { attributes: { type: 'Lead' }, Id: '00Q000000000002AAA', IsConverted: false, ConvertedDate: null, ConvertedOpportunityId: null, ConvertedOpportunity: null },
        ],
      }),
    ]);
    const outcome = await readBack(salesforce, readback, ctx(), ['00Q000000000001AAA', "00Q000000000002AAA') OR Name LIKE ('%"], { transport });
    const url = new URL(transport.sent[0]?.url ?? '');
    expect(url.origin + url.pathname).toBe('https://acme.my.salesforce.com/services/data/v61.0/query');
    expect(url.searchParams.get('q')).toMatch(/FROM Lead WHERE Id IN \('00Q000000000001AAA', '00Q000000000002AAAORNameLIKE'\)$/);
    expect(transport.sent[0]?.headers['authorization']).toBe('Bearer tok-secret-1');
    expect(outcome).toEqual({
      kind: 'read',
      requests: 1,
      rows: [
        { externalId: '00Q000000000001AAA', converted: true, convertedAt: new Date('2026-06-02'), opportunityId: '006A', stage: 'Closed Won', amount: 900, currency: 'EUR', won: true, closed: true },
      ],
    });
  });

  it('stops on an answer the error rules refuse, saying which request, with secrets masked', async () => {
    const transport = cannedTransport([json(400, [{ errorCode: 'INVALID_FIELD', message: "No such column 'IsConverted' tok-secret-1" }])]);
    const outcome = await readBack(salesforce, readback, ctx(), ['00Q000000000001AAA'], { transport });
    expect(outcome).toMatchObject({ kind: 'stopped', verdict: 'fail', requests: 1 });
    expect((outcome as { reason: string }).reason).toMatch(/^query_leads: /);
    expect((outcome as { reason: string }).reason).not.toContain('tok-secret-1');
  });

  it('refreshes a refused token once and asks again', async () => {
    const transport = cannedTransport([json(401, [{ errorCode: 'INVALID_SESSION_ID', message: 'Session expired or invalid' }]), json(200, { totalSize: 0, done: true, records: [] })]);
    const outcome = await readBack(salesforce, readback, ctx(), ['00Q000000000001AAA'], { transport, refreshCredentials: async () => ({ access_token: 'tok-new' }) });
    expect(outcome).toEqual({ kind: 'read', rows: [], requests: 2 });
    expect(transport.sent[1]?.headers['authorization']).toBe('Bearer tok-new');
  });

  it('keeps only rows about the ids asked for, with their types made sure', () => {
    const rows = rowsOf([{ externalId: 'a', amount: '12.5', won: 'yes', convertedAt: 'not a date' }, { externalId: 'zzz' }, null, 3], new Set(['a']));
    expect(rows).toEqual([{ externalId: 'a', converted: false, opportunityId: null, stage: null, amount: 12.5, currency: null, won: false, closed: false, convertedAt: null }]);
  });
});
