import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { DEFAULT_CONNECTORS_DIR } from '../../src/config/config';
import { fixtureFiles, mapEvent } from '../../src/connectors/fixtures';
import { loadManifest } from '../../src/connectors/loader';
import { ConnectorRuntime } from '../../src/connectors/runtime';
import { MAX_MESSAGE_BYTES, runWorkflow, triggerRefusal } from '../support/emulators/teams';

/**
 * The Teams connector's golden fixtures pin the exact messages it sends (they run with every
 * connector's, in connector-fixtures.test.ts, each card held to the Adaptive Card 1.5 schema by its
 * body_schema); here each of those messages also goes through the emulator's trigger and run, so a
 * fixture cannot pin a message the workflow would refuse or fail to post.
 */
const loaded = loadManifest(path.join(DEFAULT_CONNECTORS_DIR, 'teams', 'connector.yaml'), DEFAULT_CONNECTORS_DIR);
if (!loaded.ok) throw new Error(`the Teams connector does not load: ${JSON.stringify(loaded.problems)}`);
const connector = loaded.connector;

type Request = { action: string; body?: unknown; body_schema?: { file: string; at?: string } };
const requests = fixtureFiles(connector).flatMap((file) => {
  const fixture = parse(readFileSync(file, 'utf8')) as { expect: { requests?: Request[] } };
  return (fixture.expect.requests ?? []).map((r) => [path.basename(file), r] as const);
});
const bodies = requests.filter(([, r]) => r.body !== undefined).map(([file, r]) => [file, r.body] as const);

describe('Teams fixtures', () => {
  it('pin a card for each event type', () => {
    expect(bodies.length).toBeGreaterThanOrEqual(8);
  });

  it.each(requests)('%s: holds its card to the vendored Adaptive Card 1.5 schema', (_file, request) => {
    expect(request.body_schema).toEqual({ file: '../../../schemas/vendor/adaptive-card-1.5.json', at: 'attachments.content' });
  });

  it.each(bodies)('%s: the trigger takes the message and the run posts its card', async (_file, body) => {
    const raw = JSON.stringify(body);
    expect(triggerRefusal('application/json', raw)).toBeNull();
    const run = await runWorkflow(body as Parameters<typeof runWorkflow>[0], Buffer.byteLength(raw));
    expect(run).toMatchObject({ status: 'Succeeded', error: null });
    expect(run.cards).toHaveLength(1);
  });
});

describe("Teams cards stay under Teams' 28 KB", () => {
  // U+0001 is written \u0001 in JSON, six bytes: the most any character of an event's text can take.
  const worst = (n: number): string => '\u0001'.repeat(n);
  const events = [
    { type: 'business.created', data: { id: worst(500), name: worst(5000), category: worst(5000), address: { city: worst(5000), state: worst(5000) }, contact: { phone: worst(5000), website: `https://x.example/${'a'.repeat(1980)}` }, status: worst(500), created_at: '2026-01-01T00:00:00Z' } },
    { type: 'business.created', data: { id: worst(500), name: worst(5000), category: worst(5000), address: { city: worst(5000) }, contact: { phone: worst(5000), website: worst(5000) }, status: worst(500), created_at: '2026-01-01T00:00:00Z' } },
    { type: 'business.verified', data: { id: worst(500), name: worst(5000), verified_at: worst(500), verification_method: worst(500), verified_by: worst(5000) } },
    { type: 'review.created', data: { id: worst(500), business_id: worst(500), rating: 1, title: worst(5000), content: worst(50_000), author: { name: worst(5000), verified: true }, photos: Array.from({ length: 50 }, () => 'https://img.example/1.jpg'), created_at: '2026-01-01T00:00:00Z' } },
    { type: 'review.moderated', data: { id: worst(500), business_id: worst(500), action: worst(500), reason: worst(50_000), moderator: worst(5000), moderated_at: '2026-01-01T00:00:00Z' } },
  ];

  it.each(events.map((e) => [e.type, e] as const))('%s with every text at its worst', async (_type, event) => {
    const run = await mapEvent(connector, new ConnectorRuntime(), event, { credentials: { webhook_url: 'https://teams.example/hook' } });
    expect(run.outcome.kind).toBe('success');
    const body = run.requests[0]?.request.body ?? '';
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    expect((await runWorkflow(JSON.parse(body) as Parameters<typeof runWorkflow>[0], Buffer.byteLength(body))).status).toBe('Succeeded');
  });
});

describe('Teams workflow URLs', () => {
  const auth = connector.manifest.auth as { url_pattern?: string };
  const pattern = new RegExp(auth.url_pattern ?? '(?!)');
  const env = 'https://default0123456789abcdef0123456789ab.cd.environment.api.powerplatform.com';
  const direct = '/powerautomate/automations/direct/workflows/52e33d1346e14e58bc5649a28ae3cd0f/triggers/manual/paths/invoke';
  const query = '?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=SJEwrgQUTUzQYFCXq2HahXom2kddiA1Il8vjiLY5eiA';

  it.each([
    `${env}:443${direct}${query}`,
    `${env}${direct}${query}`,
    `${env}:443/powerautomate/automations/direct/cu/21/workflows/9ad9dafb5bac4037b04525986e5dd90d/triggers/manual/paths/invoke${query}`,
    `${env}:443${direct}/${query}`,
    'https://prod-12.westeurope.logic.azure.com:443/workflows/0123456789abcdef0123456789abcdef/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=AbC-123_xyz',
  ])('accepts %s', (url) => {
    expect(url).toMatch(pattern);
  });

  it.each([
    [`the URL without its signature`, `${env}${direct}?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0`],
    ['plain http', `${env.replace('https', 'http')}${direct}${query}`],
    ['another host ending like Power Platform', `https://environment.api.powerplatform.com.evil.example${direct}${query}`],
    ['a Power Platform URL in the query of another', `https://evil.example/?u=${env}${direct}${query}`],
    ['a retired Office 365 connector webhook', 'https://contoso.webhook.office.com/webhookb2/0123@abcd/IncomingWebhook/0123/abcd'],
    ['another trigger of the workflow', `${env}${direct.replace('manual', 'recurrence')}${query}`],
  ])('refuses %s', (_what, url) => {
    expect(url).not.toMatch(pattern);
  });
});
