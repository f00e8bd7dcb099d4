import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { systemClock } from '../../src/core/clock';
import { createLogger } from '../../src/core/logger';
import { loadManifest } from '../../src/connectors/loader';
import type { LoadedConnector } from '../../src/connectors/loader';
import type { OutgoingRequest } from '../../src/connectors/hooks';
import type { LoadedConnection } from '../../src/integrations/connection-service';
import type { ConnectionRecord } from '../../src/integrations/model';
import { ConnectionPacer } from '../../src/integrations/paced-transport';
import { newTrackedRecord } from '../../src/integrations/tracked-record';
import { ReadbackJob } from '../../src/jobs/readback-job';
import { createMemoryStore } from '../../src/store/memory/memory-store';
import type { Store } from '../../src/store/store';
import type { HttpResult } from '../../src/transport/http-sender';

/** A CRM read one record per request (batch 1), three per run, at most 2 requests a minute. */
const MANIFEST = `# yaml-language-server: $schema=../../schemas/connector.schema.json
name: acme-crm
version: 1.0.0
title: Acme CRM
description: test connector
auth: { type: api_key, in: header, name: X-Api-Key }
base_url: https://crm.acme.example
actions:
  create_lead: { method: POST, path: /leads, object: lead, operation: create, response: { id: id } }
  read_lead: { method: GET, path: "/leads/{{ ids[0] }}", body: null }
triggers:
  - { event: business.created, actions: [create_lead] }
rate_limit: { requests: RATE, per_seconds: 60 }
readback:
  object: lead
  batch: 1
  per_run: 3
  requests: [{ action: read_lead }]
  result: '$steps.read_lead.body.{"externalId": id, "converted": $exists(deal), "opportunityId": deal.id, "amount": deal.value, "won": deal.status = "won", "closed": deal.status in ["won", "lost"]}'
`;

let root: string;
let store: Store;
beforeEach(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'hh-readback-'));
  store = createMemoryStore();
  await store.connect();
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function connector(rate: number): LoadedConnector {
  const dir = path.join(root, 'acme-crm');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'connector.yaml'), MANIFEST.replace('RATE', String(rate)));
  const result = loadManifest(path.join(dir, 'connector.yaml'), root);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.connector;
}

/** A job over the memory store, its CRM answering from `deals` (lead id → deal), and the events it published. */
function job(loaded: LoadedConnector, deals: Record<string, { id: string; value: number; status: string }>): { job: ReadbackJob; sent: string[]; events: Array<[string, string]> } {
  const sent: string[] = [];
  const events: Array<[string, string]> = [];
  const record = { id: 'con_1', tenantId: 't1', connector: 'acme-crm', status: 'active' } as ConnectionRecord;
  const connection: LoadedConnection = { record, connector: loaded, context: { connectionId: 'con_1', config: {}, credentials: { api_key: 'k' }, metadata: {} } };
  const answer = (request: OutgoingRequest): HttpResult => {
    const id = request.url.split('/').pop() ?? '';
    sent.push(id);
    return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, deal: deals[id] }), durationMs: 1, error: null, errorCode: null };
  };
  return {
    sent,
    events,
    job: new ReadbackJob({
      records: store,
      leases: store,
      connections: { load: async () => connection, contextFor: async (c) => c.context },
      tokens: { fresh: async () => ({ api_key: 'k' }) },
      pacer: new ConnectionPacer(store, systemClock),
      transport: { send: async (_action, request) => answer(request) },
      operational: { emit: async (_tenant, type, data) => void events.push([type, String(data['external_id'])]) },
      logger: createLogger({ level: 'silent' }),
    }),
  };
}

async function track(...ids: string[]): Promise<void> {
  for (const id of ids) {
    const at = new Date();
    await store.trackRecord(newTrackedRecord({ tenantId: 't1', connectionId: 'con_1', objectType: 'lead', eventId: `evt_${id}`, subjectId: id, route: null, externalId: id, state: 'created', sentAt: at, createdAt: at }));
  }
}

describe('the CRM read-back job', () => {
  it('reads at most per_run records a run, those read longest ago first, and announces each change once', async () => {
    const { job: readback, sent, events } = job(connector(100), { l2: { id: 'd2', value: 50, status: 'open' }, l4: { id: 'd4', value: 70, status: 'won' } });
    await track('l1', 'l2', 'l3', 'l4', 'l5');
    expect(await readback.runConnection('con_1')).toMatchObject({ read: 3, requests: 3, converted: 1, won: 0, stopped: null });
    expect(await readback.runConnection('con_1')).toMatchObject({ read: 3, requests: 3, converted: 1, won: 1, stopped: null });
    // The second run began with the two never read, then the oldest read.
    expect(sent.slice(3, 5).sort()).toEqual(['l4', 'l5']);
    expect(events).toEqual([
      ['crm.lead_converted', 'l2'],
      ['crm.lead_converted', 'l4'],
      ['crm.opportunity_won', 'l4'],
    ]);
    await readback.runConnection('con_1');
    expect(events).toHaveLength(3);
  });

  it("stops at the connection's rate limit and leaves the rest for the next run", async () => {
    const { job: readback, sent } = job(connector(2), {});
    await track('l1', 'l2', 'l3');
    const run = await readback.runConnection('con_1');
    expect(run).toMatchObject({ read: 2, converted: 0 });
    expect(run?.stopped).toMatch(/rate limited/);
    expect(sent).toHaveLength(2);
  });

  it('leaves a connection another process is reading alone', async () => {
    const { job: readback, sent } = job(connector(100), {});
    await track('l1');
    expect(await store.acquireLease('readback:con_1', 'another-process', 60_000)).toBe(true);
    expect(await readback.runConnection('con_1')).toBeNull();
    expect(sent).toEqual([]);
    expect(await readback.runAll()).toEqual([]);
  });
});
