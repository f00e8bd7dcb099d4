import * as fs from 'node:fs';
import * as path from 'node:path';
import { REFERENCE_FILE, renderConnectorReference } from '../../scripts/gen-connector-reference';

const MANIFEST_SCHEMA = path.join(__dirname, '../../schemas/connector.schema.json');

describe('docs/connectors/manifest-reference.md', () => {
  const rendered = renderConnectorReference();

  it('is what the connector schemas generate (run `npm run docs:connectors` after changing them)', () => {
    const committed = fs.existsSync(REFERENCE_FILE) ? fs.readFileSync(REFERENCE_FILE, 'utf8') : '';
    if (committed !== rendered) {
      throw new Error(
        'docs/connectors/manifest-reference.md is out of date with schemas/connector.schema.json or ' +
          'schemas/connector-fixture.schema.json. Run `npm run docs:connectors` and commit the result.',
      );
    }
  });

  it('documents every top-level property of the manifest schema', () => {
    const schema = JSON.parse(fs.readFileSync(MANIFEST_SCHEMA, 'utf8')) as { properties: Record<string, unknown> };
    const names = Object.keys(schema.properties);
    expect(names.length).toBeGreaterThan(0);
    const missing = names.filter((name) => !rendered.includes(`| \`${name}\` |`));
    expect(missing).toEqual([]);
  });

  it('renders the same page every time', () => {
    expect(renderConnectorReference()).toBe(rendered);
  });
});
