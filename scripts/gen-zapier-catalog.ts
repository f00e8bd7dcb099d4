/**
 * Generates integrations/zapier/catalog.json, the triggers of the Zapier app, from the event
 * catalog (src/events/catalog.ts) and its sample data (src/events/samples.ts): one instant
 * trigger per event type, with a sample body as deliveries send it.
 *
 *   npx tsx scripts/gen-zapier-catalog.ts            write the file
 *   npx tsx scripts/gen-zapier-catalog.ts --check    exit 1 when the committed file is out of date
 *
 * The samples are made at a fixed instant, so the same catalog always gives the same file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { catalogSample, sampleBody } from '../src/api/routes/zapier';
import { eventCatalog } from '../src/events/catalog';

export const ZAPIER_CATALOG_FILE = path.join(__dirname, '..', 'integrations', 'zapier', 'catalog.json');
/** The instant of every sample's timestamps. */
const SAMPLE_TIME = Date.UTC(2026, 0, 15, 9, 30);
/** Words written in capitals in labels and nouns. */
const ACRONYMS = new Set(['api', 'crm']);

/** One trigger of the app, as index.js reads it. */
export interface ZapierTriggerEntry {
  type: string;
  key: string;
  noun: string;
  label: string;
  description: string;
  sample: unknown;
}

function word(w: string): string {
  return ACRONYMS.has(w) ? w.toUpperCase() : `${w.charAt(0).toUpperCase()}${w.slice(1)}`;
}

/** Trigger keys may hold letters, digits and underscores only: business.created is business_created. */
export function triggerKey(type: string): string {
  return type.replace(/\./g, '_');
}

export async function zapierCatalogEntries(): Promise<ZapierTriggerEntry[]> {
  // sampleData stamps its times with Date.now(): held at SAMPLE_TIME while the samples are made.
  const realNow = Date.now;
  Date.now = () => SAMPLE_TIME;
  try {
    return await Promise.all(
      eventCatalog().map(async ({ type, description }) => ({
        type,
        key: triggerKey(type),
        noun: word(type.split('.')[0] as string),
        label: type.split(/[._]/).map(word).join(' '),
        description,
        sample: await sampleBody(catalogSample(type, new Date(SAMPLE_TIME))),
      })),
    );
  } finally {
    Date.now = realNow;
  }
}

export async function renderZapierCatalog(): Promise<string> {
  const file = { generatedBy: 'npx tsx scripts/gen-zapier-catalog.ts (from src/events/catalog.ts); do not edit', events: await zapierCatalogEntries() };
  return `${JSON.stringify(file, null, 2)}\n`;
}

async function main(argv: string[]): Promise<void> {
  const rendered = await renderZapierCatalog();
  const relative = path.relative(path.join(__dirname, '..'), ZAPIER_CATALOG_FILE);
  if (argv.includes('--check')) {
    const committed = fs.existsSync(ZAPIER_CATALOG_FILE) ? fs.readFileSync(ZAPIER_CATALOG_FILE, 'utf8') : undefined;
    if (committed !== rendered) {
      process.stderr.write(`${relative} is ${committed === undefined ? 'missing' : 'out of date with the event catalog'}. Run \`npx tsx scripts/gen-zapier-catalog.ts\` and commit the result.\n`);
      process.exit(1);
    }
    process.stdout.write(`${relative} is up to date.\n`);
    return;
  }
  fs.writeFileSync(ZAPIER_CATALOG_FILE, rendered);
  process.stdout.write(`wrote ${relative}\n`);
}

if (require.main === module) void main(process.argv.slice(2));
