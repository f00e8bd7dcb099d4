import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fixtureFiles, runFixture } from '../../src/connectors/fixtures';
import { loadManifest } from '../../src/connectors/loader';
import { ConnectorRuntime } from '../../src/connectors/runtime';

const TUTORIAL = path.resolve(__dirname, '../../docs/connectors/write-your-first-connector.md');

/** The tutorial's connector, copied out of its code blocks, must load and pass its own fixture. */
it('the "write your first connector" tutorial builds a connector that validates and passes its fixture', async () => {
  const blocks = [...readFileSync(TUTORIAL, 'utf8').matchAll(/```(yaml|jsonata)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], text: m[2] ?? '' }));
  const manifest = blocks.find((b) => b.lang === 'yaml' && b.text.includes('name: acme-crm'));
  const mapping = blocks.find((b) => b.lang === 'jsonata');
  const fixture = blocks.find((b) => b.lang === 'yaml' && b.text.includes('connector-fixture.schema.json'));
  expect([manifest, mapping, fixture].every(Boolean)).toBe(true);
  const root = mkdtempSync(path.join(os.tmpdir(), 'hh-tutorial-'));
  try {
    const dir = path.join(root, 'acme-crm');
    mkdirSync(path.join(dir, 'mappings'), { recursive: true });
    mkdirSync(path.join(dir, 'fixtures'));
    writeFileSync(path.join(dir, 'connector.yaml'), manifest!.text);
    writeFileSync(path.join(dir, 'mappings', 'business-created.jsonata'), mapping!.text);
    writeFileSync(path.join(dir, 'fixtures', 'business-created.yaml'), fixture!.text);
    const loaded = loadManifest(path.join(dir, 'connector.yaml'), root);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
    const [file] = fixtureFiles(loaded.connector);
    const result = await runFixture(loaded.connector, new ConnectorRuntime(), file!);
    expect(result).toMatchObject({ ok: true, error: null });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
