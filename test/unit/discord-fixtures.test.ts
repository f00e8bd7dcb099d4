import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { DEFAULT_CONNECTORS_DIR } from '../../src/config/config';
import { fixtureFiles } from '../../src/connectors/fixtures';
import { loadManifest } from '../../src/connectors/loader';
import { discordRefusal } from '../support/emulators/discord';

/**
 * The Discord connector's golden fixtures pin the exact messages it sends (they run with every
 * connector's, in connector-fixtures.test.ts); here each of those messages is also held to
 * Discord's documented limits, so a fixture cannot pin a message Discord would refuse.
 */
const loaded = loadManifest(path.join(DEFAULT_CONNECTORS_DIR, 'discord', 'connector.yaml'), DEFAULT_CONNECTORS_DIR);
if (!loaded.ok) throw new Error(`the Discord connector does not load: ${JSON.stringify(loaded.problems)}`);

const sent = fixtureFiles(loaded.connector).flatMap((file) => {
  const fixture = parse(readFileSync(file, 'utf8')) as { expect: { requests?: Array<{ action: string; body?: unknown }> } };
  return (fixture.expect.requests ?? []).filter((r) => r.action === 'execute_webhook' && r.body !== undefined).map((r) => [path.basename(file), r.body] as const);
});

describe('Discord fixtures', () => {
  it('pin some messages', () => {
    expect(sent.length).toBeGreaterThanOrEqual(5);
  });

  it.each(sent)('%s: Discord accepts the message, which pings no one', (_file, body) => {
    expect(discordRefusal(body)).toBeNull();
    expect(body).toMatchObject({ allowed_mentions: { parse: [] } });
  });

  it("refuses what Discord refuses: one character over a limit, or over 6000 across a message's embeds", () => {
    expect(discordRefusal({ content: 'x'.repeat(2001) })).toMatchObject({ code: 50035, errors: { content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH' }] } } });
    expect(discordRefusal({ embeds: [{ title: 'x'.repeat(257) }] })).toMatchObject({ code: 50035, errors: { embeds: { '0': { title: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH' }] } } } } });
    const big = { description: 'x'.repeat(4096) };
    expect(discordRefusal({ embeds: [big, big] })).toMatchObject({ code: 50035, errors: { embeds: { _errors: [{ code: 'MAX_EMBED_SIZE_EXCEEDED' }] } } });
    expect(discordRefusal({ content: ' ' })).toEqual({ code: 50006, message: 'Cannot send an empty message' });
  });
});

describe('Discord webhook URLs', () => {
  const auth = loaded.connector.manifest.auth as { url_pattern?: string };
  const pattern = new RegExp(auth.url_pattern ?? '(?!)');

  it.each([
    'https://discord.com/api/webhooks/1180000000000000001/wEbHoOkToKeN-abc_123',
    'https://discordapp.com/api/webhooks/1180000000000000001/wEbHoOkToKeN-abc_123',
    'https://ptb.discord.com/api/webhooks/1180000000000000001/wEbHoOkToKeN-abc_123',
    'https://discord.com/api/v10/webhooks/1180000000000000001/wEbHoOkToKeN-abc_123',
  ])('accepts %s', (url) => {
    expect(url).toMatch(pattern);
  });

  it.each([
    'http://discord.com/api/webhooks/1180000000000000001/token',
    'https://discord.com.evil.example/api/webhooks/1180000000000000001/token',
    'https://evil.example/?https://discord.com/api/webhooks/1/token',
    'https://discord.com/api/webhooks/1180000000000000001',
    'https://hooks.slack.com/services/T000/B000/XXXXXXXX',
  ])('refuses %s', (url) => {
    expect(url).not.toMatch(pattern);
  });
});
