import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadManifest } from '../../src/connectors/loader';
import type { LoadedConnector } from '../../src/connectors/loader';
import { ConnectorRuntime } from '../../src/connectors/runtime';
import type { OutgoingRequest } from '../../src/connectors/hooks';
import type { HttpResult } from '../../src/transport/http-sender';

/**
 * actions[].max_lengths: a field longer than the API takes is cut rather than the whole record
 * refused (Salesforce answers STRING_TOO_LONG for one long field), and the attempt's step says
 * which fields were cut, so the cut is never silent.
 */
const root = mkdtempSync(path.join(os.tmpdir(), 'hh-connector-max-lengths-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function loaded(name: string, action: string): LoadedConnector {
  mkdirSync(path.join(root, name));
  const file = path.join(root, name, 'connector.yaml');
  writeFileSync(
    file,
    `name: ${name}
version: 1.0.0
title: Max lengths
description: a connector for one test
auth: { type: webhook_url }
actions:
  post:
    method: POST
    url: "{{ $credentials.webhook_url }}"
${action}
triggers:
  - event: business.created
    actions: [post]
    mapping: '{"Company": data.name, "City": data.city, "Phone": data.phone, "Count": 12345}'
`,
  );
  const result = loadManifest(file, root);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.connector;
}

async function run(connector: LoadedConnector, data: Record<string, unknown>): Promise<{ steps: Array<{ truncated: string[] | null }>; body: Record<string, unknown> }> {
  const sent: OutgoingRequest[] = [];
  const transport = {
    send: async (_action: string, request: OutgoingRequest): Promise<HttpResult> => {
      sent.push(request);
      return { status: 200, headers: {}, body: '', durationMs: 1, error: null, errorCode: null };
    },
  };
  const event = { id: 'evt_1', type: 'business.created', version: '1.0', timestamp: '2026-12-01T00:00:00Z', data };
  const ctx = { connectionId: 'con_1', config: {}, credentials: { webhook_url: 'https://api.example.com/hook' }, metadata: {} };
  const result = await new ConnectorRuntime().run(connector, event, ctx, { webhookId: 'msg_1', triggers: null, transport });
  expect(result.outcome).toEqual({ kind: 'success' });
  return { steps: result.steps, body: JSON.parse(sent[0]?.body ?? '{}') as Record<string, unknown> };
}

describe('actions[].max_lengths', () => {
  const connector = (): LoadedConnector => loaded(`ml-${Math.random().toString(36).slice(2)}`, '    max_lengths: { Company: 10, City: 5, Count: 2 }');

  it('cuts longer strings to the limit and names each cut field, with its length, in the step', async () => {
    const { steps, body } = await run(connector(), { name: 'The Very Long Bakery', city: 'Springfield', phone: '555' });
    expect(body).toEqual({ Company: 'The Very L', City: 'Sprin', Phone: '555', Count: 12345 });
    expect(steps[0]?.truncated).toEqual(['Company (20 → 10)', 'City (11 → 5)']);
  });

  it('leaves fields within the limit, and numbers, as they are, and records no cut', async () => {
    const { steps, body } = await run(connector(), { name: 'Cafe', city: 'Bend' });
    expect(body).toEqual({ Company: 'Cafe', City: 'Bend', Count: 12345 });
    expect(steps[0]?.truncated).toBeNull();
  });

  it('never splits a character outside the BMP in two', async () => {
    const { body } = await run(connector(), { name: 'Cafe 😀😀😀😀', city: 'X' });
    // 'Cafe ' is 5 code units, each emoji 2: the 10th unit would be half of the third emoji.
    expect(body['Company']).toBe('Cafe 😀😀');
  });

  it('refuses a limit that is not a positive integer', () => {
    expect(() => loaded('ml-bad', '    max_lengths: { Company: 0 }')).toThrow(/max_lengths/);
  });
});
