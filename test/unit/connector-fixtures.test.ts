import path from 'node:path';
import { DEFAULT_CONNECTORS_DIR } from '../../src/config/config';
import { fixtureFiles, runFixture } from '../../src/connectors/fixtures';
import { findManifests, loadManifest } from '../../src/connectors/loader';
import type { LoadedConnector } from '../../src/connectors/loader';
import { ConnectorRuntime } from '../../src/connectors/runtime';

/** Every connector's golden fixtures, as `hookhub connectors test` runs them. */
const connectors: LoadedConnector[] = findManifests(DEFAULT_CONNECTORS_DIR).map((file) => {
  const result = loadManifest(file, DEFAULT_CONNECTORS_DIR);
  if (!result.ok) throw new Error(`${file} does not load: ${JSON.stringify(result.problems)}`);
  return result.connector;
});
const runtime = new ConnectorRuntime();

describe.each(connectors.map((c) => [c.manifest.name, c] as const))('%s fixtures', (_name, connector) => {
  it('has fixtures', () => {
    expect(fixtureFiles(connector).length).toBeGreaterThan(0);
  });
  it.each(fixtureFiles(connector).map((f) => [path.basename(f), f]))('%s', async (_file, file) => {
    const result = await runFixture(connector, runtime, file);
    if (!result.ok) throw new Error(result.error ?? `requests differ from the fixture:\n${result.diff ?? ''}`);
  });
});
