import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_CONNECTORS_DIR } from '../../src/config/config';
import { bodySchemaProblems } from '../../src/connectors/fixture-body-schemas';
import { runFixture } from '../../src/connectors/fixtures';
import { loadManifest } from '../../src/connectors/loader';
import type { LoadedConnector } from '../../src/connectors/loader';
import { ConnectorRuntime } from '../../src/connectors/runtime';

/**
 * expect.requests[].body_schema: a golden fixture holds the body a connector sends to a JSON Schema
 * file (e.g. a provider's published schema), and the diff names what is not valid.
 */
const runtime = new ConnectorRuntime();
const ADAPTIVE_CARD = path.join(__dirname, '../../schemas/vendor/adaptive-card-1.5.json');
let slack: LoadedConnector;
let dir: string;

beforeAll(() => {
  const loaded = loadManifest(path.join(DEFAULT_CONNECTORS_DIR, 'slack', 'connector.yaml'), DEFAULT_CONNECTORS_DIR);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  slack = loaded.connector;
  dir = mkdtempSync(path.join(os.tmpdir(), 'hh-fixture-schema-'));
  // A draft 2020-12 schema of a Slack message: text of at most 40 characters, and blocks of known types.
  writeFileSync(
    path.join(dir, 'message.schema.json'),
    JSON.stringify({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      required: ['text'],
      properties: { text: { type: 'string', maxLength: 40 }, blocks: { type: 'array' } },
    }),
  );
  writeFileSync(path.join(dir, 'block.schema.json'), JSON.stringify({ type: 'object', required: ['type'], properties: { type: { enum: ['section', 'context'] } } }));
  writeFileSync(path.join(dir, 'broken.schema.json'), '{ not json');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A Slack review.moderated fixture whose request carries this body_schema (YAML flow mapping). */
function fixture(name: string, bodySchema: string): string {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `event:
  type: review.moderated
  data: { id: rev_1, business_id: biz_1, action: removed, moderated_at: "2026-01-01T00:00:00Z" }
credentials: { webhook_url: "https://hooks.slack.com/services/T000/B000/XXXXXXXX" }
expect:
  requests:
    - action: post_message
      method: POST
      url: https://hooks.slack.com/services/T000/B000/XXXXXXXX
      body_schema: ${bodySchema}
`,
  );
  return file;
}

describe('a fixture holding the body to a JSON Schema', () => {
  it('passes when the body is valid against the schema (a file next to the fixture)', async () => {
    const result = await runFixture(slack, runtime, fixture('valid', '{ file: message.schema.json }'));
    expect(result).toMatchObject({ ok: true, error: null });
  });

  it('fails with a diff that names each problem when the body is not valid', async () => {
    writeFileSync(path.join(dir, 'short.schema.json'), JSON.stringify({ type: 'object', properties: { text: { maxLength: 5 } }, required: ['text', 'channel'] }));
    const result = await runFixture(slack, runtime, fixture('invalid', '{ file: short.schema.json }'));
    expect(result.ok).toBe(false);
    expect(result.error).toBeNull();
    expect(result.diff).toContain('$/text must NOT have more than 5 characters');
    expect(result.diff).toContain("$ must have required property 'channel'");
  });

  it('validates each item `at` selects, naming the item that is not valid', async () => {
    expect(await runFixture(slack, runtime, fixture('each-block', '{ file: block.schema.json, at: blocks }'))).toMatchObject({ ok: true });
    writeFileSync(path.join(dir, 'sections.schema.json'), JSON.stringify({ type: 'object', properties: { type: { const: 'section' } } }));
    const result = await runFixture(slack, runtime, fixture('context-refused', '{ file: sections.schema.json, at: blocks }'));
    expect(result.ok).toBe(false);
    expect(result.diff).toContain('blocks[1]/type must be equal to constant');
  });

  it('fails when `at` selects nothing in the body', async () => {
    const result = await runFixture(slack, runtime, fixture('nothing', '{ file: block.schema.json, at: attachments }'));
    expect(result.ok).toBe(false);
    expect(result.diff).toContain('body_schema: attachments selects nothing in the body');
  });

  it('cannot run when the schema file is missing or not JSON, and says which', async () => {
    const missing = await runFixture(slack, runtime, fixture('missing', '{ file: nowhere.schema.json }'));
    expect(missing).toMatchObject({ ok: false, diff: null });
    expect(missing.error).toContain(`body_schema.file ${path.join(dir, 'nowhere.schema.json')} does not read as JSON`);
    const broken = await runFixture(slack, runtime, fixture('broken', '{ file: broken.schema.json }'));
    expect(broken.error).toContain('broken.schema.json does not read as JSON');
  });

  it('is refused by the fixture schema without a file', async () => {
    const result = await runFixture(slack, runtime, fixture('no-file', '{ at: blocks }'));
    expect(result.error).toContain("not a valid fixture (schemas/connector-fixture.schema.json): /expect/requests/0/body_schema must have required property 'file'");
  });
});

describe('the vendored Adaptive Card schema (draft-06, root `id`)', () => {
  const card = (body: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> => ({ type: 'AdaptiveCard', version: '1.5', body, ...extra });
  const check = (value: unknown): Promise<string[]> => bodySchemaProblems(path.join(dir, 'any.yaml'), { file: ADAPTIVE_CARD }, value);

  it('takes a card of TextBlocks, RichTextBlocks, a styled Container and an OpenUrl action', async () => {
    const valid = card(
      [
        { type: 'Container', style: 'attention', items: [{ type: 'TextBlock', text: 'Low', color: 'attention', wrap: true }] },
        { type: 'RichTextBlock', inlines: [{ type: 'TextRun', text: '★☆☆☆☆', size: 'large', isSubtle: true }] },
      ],
      { actions: [{ type: 'Action.OpenUrl', title: 'Open', url: 'https://example.com' }] },
    );
    expect(await check(valid)).toEqual([]);
  });

  it('refuses an unknown element type, an unknown property and an action without its url', async () => {
    const [first] = await check(card([{ type: 'TextBlok', text: 'x' }]));
    expect(first).toMatch(/^\$\/body\/0\/type must be equal to one of the allowed values \(.*"RichTextBlock".*"TextBlock".*\)$/);
    expect(await check(card([{ type: 'TextBlock', text: 'x', colour: 'red' }]))).toEqual(expect.arrayContaining(['$/body/0 must NOT have additional properties (colour)']));
    expect(await check(card([], { actions: [{ type: 'Action.OpenUrl', title: 'Open' }] }))).toEqual(expect.arrayContaining(["$/actions/0 must have required property 'url'"]));
    expect(await check(card([], { msteams: { width: 'Full' } }))).toEqual(expect.arrayContaining(['$ must NOT have additional properties (msteams)']));
  });
});
