import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadManifest } from '../../src/connectors/loader';

/**
 * Manifests written for one test file, each in its own connector directory under a temp root (as
 * connectors/<name>/connector.yaml), loaded as the hub loads them. Call remove() in afterAll.
 */
export function tempManifests(prefix: string): { load(name: string, yaml: string): ReturnType<typeof loadManifest>; remove(): void } {
  const root = mkdtempSync(path.join(os.tmpdir(), `hh-${prefix}-`));
  return {
    load(name, yaml) {
      mkdirSync(path.join(root, name));
      const file = path.join(root, name, 'connector.yaml');
      writeFileSync(file, yaml);
      return loadManifest(file, root);
    },
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}
