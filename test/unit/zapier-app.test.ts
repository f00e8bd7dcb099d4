import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { renderZapierCatalog, ZAPIER_CATALOG_FILE } from '../../scripts/gen-zapier-catalog';
import { ALL_EVENT_TYPES } from '../../src/events/catalog';
import { EventValidator } from '../../src/events/validator';

const APP_DIR = path.join(__dirname, '../../integrations/zapier');
const load = createRequire(path.join(APP_DIR, 'index.js'));

interface CatalogFile {
  events: Array<{ type: string; key: string; sample: { type: string; data: unknown } }>;
}

/** The Zapier app's definition and the catalog its triggers come from, without a hub or a network. */
describe('integrations/zapier', () => {
  it('has the triggers the event catalog generates (run `npx tsx scripts/gen-zapier-catalog.ts` after changing event types)', async () => {
    const committed = fs.existsSync(ZAPIER_CATALOG_FILE) ? fs.readFileSync(ZAPIER_CATALOG_FILE, 'utf8') : '';
    const rendered = await renderZapierCatalog();
    if (committed !== rendered) {
      throw new Error('integrations/zapier/catalog.json is out of date with src/events/catalog.ts: run `npx tsx scripts/gen-zapier-catalog.ts` and commit the result.');
    }
    expect(await renderZapierCatalog()).toBe(rendered);
  });

  it('holds a sample of each event type whose data its schema accepts', () => {
    const catalog = JSON.parse(fs.readFileSync(ZAPIER_CATALOG_FILE, 'utf8')) as CatalogFile;
    expect(catalog.events.map((e) => e.type)).toEqual([...ALL_EVENT_TYPES]);
    const validator = new EventValidator();
    for (const { type, sample } of catalog.events) {
      expect(sample.type).toBe(type);
      expect([type, validator.checkData(type, sample.data)]).toEqual([type, []]);
    }
  });

  it('is a valid app definition for zapier-platform-core, the version its package.json and the hub\'s pin', async () => {
    const App = load('./index.js') as Record<string, unknown>;
    // What `zapier validate` asks the app's handler: the definition against zapier-platform-schema.
    const handler = (load('zapier-platform-core') as { createAppHandler(app: unknown): (event: unknown, context: unknown) => Promise<{ results: unknown[] }> }).createAppHandler(App);
    expect(await handler({ command: 'validate', bundle: {} }, {})).toEqual({ results: [], status: 'SUCCESS' });
    const appPackage = JSON.parse(fs.readFileSync(path.join(APP_DIR, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const hubPackage = JSON.parse(fs.readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    const core = load('zapier-platform-core') as { version: string };
    expect(App['platformVersion']).toBe(core.version);
    // The tests run the app with the hub's install: the same version as the app declares (both exact).
    expect(appPackage.dependencies['zapier-platform-core']).toBe(core.version);
    const appLock = JSON.parse(fs.readFileSync(path.join(APP_DIR, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
    expect(appLock.packages['node_modules/zapier-platform-core']?.version).toBe(core.version);
    expect(hubPackage.devDependencies['zapier-platform-core']).toBe(core.version);
  });
});
