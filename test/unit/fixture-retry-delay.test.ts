import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_CONNECTORS_DIR } from '../../src/config/config';
import { fixtureFiles, runFixture } from '../../src/connectors/fixtures';
import { loadManifest } from '../../src/connectors/loader';
import type { LoadedConnector } from '../../src/connectors/loader';
import { ConnectorRuntime } from '../../src/connectors/runtime';

/** expect.retry_after_ms: a golden fixture pins down the delay a connector reads from a retried answer. */
const runtime = new ConnectorRuntime();
let pipedrive: LoadedConnector;
let dir: string;

beforeAll(() => {
  const loaded = loadManifest(path.join(DEFAULT_CONNECTORS_DIR, 'pipedrive', 'connector.yaml'), DEFAULT_CONNECTORS_DIR);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  pipedrive = loaded.connector;
  dir = mkdtempSync(path.join(os.tmpdir(), 'hh-fixture-delay-'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A pipedrive fixture whose organization request is answered 429 with these headers. */
function fixture(name: string, headers: Record<string, string>, expect: string): string {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `event:
  type: business.created
  data: { id: biz_1, name: X, category: bakery, status: active, created_at: "2026-01-01T00:00:00Z" }
credentials: { access_token: pd-token }
connection: { api_domain: "https://acme.pipedrive.com" }
responses:
  create_organization: { status: 429, headers: ${JSON.stringify(headers)}, body: { success: false } }
expect:
  requests:
    - { action: create_organization, method: POST, url: "https://acme.pipedrive.com/api/v2/organizations" }
${expect}
`,
  );
  return file;
}

describe('a fixture asserting the retry delay', () => {
  it('passes when the delay read is the one expected (and implies outcome: retry)', async () => {
    const result = await runFixture(pipedrive, runtime, fixture('ok', { 'x-ratelimit-reset': '64.57' }, '  retry_after_ms: 64570'));
    expect(result).toMatchObject({ ok: true, error: null });
  });

  it('fails with a diff naming the delay when it differs', async () => {
    const result = await runFixture(pipedrive, runtime, fixture('differs', { 'x-ratelimit-reset': '1.5' }, '  retry_after_ms: 0'));
    expect(result.ok).toBe(false);
    expect(result.diff).toContain('-retry_after_ms: 0');
    expect(result.diff).toContain('+retry_after_ms: 1500');
  });

  it('expects null when the header cannot be read, so the schedule applies', async () => {
    const result = await runFixture(pipedrive, runtime, fixture('unreadable', { 'x-ratelimit-reset': '1.5.2001' }, '  retry_after_ms: null'));
    expect(result).toMatchObject({ ok: true });
  });

  it('shows the run was no retry when it was not', async () => {
    const file = fixture('no-retry', {}, '  retry_after_ms: 1000');
    writeFileSync(file, readFileSync(file, 'utf8').replace('status: 429', 'status: 201'));
    const result = await runFixture(pipedrive, runtime, file);
    expect(result.ok).toBe(false);
    expect(result.diff).toContain('-outcome: retry');
    expect(result.diff).toContain('+retry_after_ms: null');
  });

  it('is refused by the fixture schema when negative or not a whole number of milliseconds', async () => {
    for (const [i, bad] of ['-1', '1.5', '"1500"'].entries()) {
      const result = await runFixture(pipedrive, runtime, fixture(`bad-${i}`, {}, `  retry_after_ms: ${bad}`));
      expect(result.error).toMatch(/not a valid fixture.*\/expect\/retry_after_ms/);
    }
  });
});


it("the tutorial's rate-limited fixture passes against the tutorial's connector", async () => {
  const tutorial = readFileSync(path.resolve(__dirname, '../../docs/connectors/write-your-first-connector.md'), 'utf8');
  const blocks = [...tutorial.matchAll(/```(yaml|jsonata)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], text: m[2] ?? '' }));
  const manifest = blocks.find((b) => b.lang === 'yaml' && b.text.includes('name: acme-crm'));
  const mapping = blocks.find((b) => b.lang === 'jsonata');
  const rateLimited = blocks.find((b) => b.lang === 'yaml' && b.text.includes('retry_after_ms:'));
  expect([manifest, mapping, rateLimited].every(Boolean)).toBe(true);
  const root = path.join(dir, 'tutorial');
  mkdirSync(path.join(root, 'acme-crm', 'mappings'), { recursive: true });
  mkdirSync(path.join(root, 'acme-crm', 'fixtures'));
  writeFileSync(path.join(root, 'acme-crm', 'connector.yaml'), manifest!.text);
  writeFileSync(path.join(root, 'acme-crm', 'mappings', 'business-created.jsonata'), mapping!.text);
  writeFileSync(path.join(root, 'acme-crm', 'fixtures', 'rate-limited.yaml'), rateLimited!.text);
  const loaded = loadManifest(path.join(root, 'acme-crm', 'connector.yaml'), root);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  const [file] = fixtureFiles(loaded.connector);
  expect(await runFixture(loaded.connector, runtime, file!)).toMatchObject({ ok: true, error: null });
});
