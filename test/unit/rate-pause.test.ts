import path from 'node:path';
import { systemClock } from '../../src/core/clock';
import { compileJsonata } from '../../src/core/jsonata';
import { loadManifest } from '../../src/connectors/loader';
import type { OutgoingRequest } from '../../src/connectors/hooks';
import { ConnectionPacer, pauseFrom } from '../../src/integrations/paced-transport';
import { localRateSlots } from '../../src/integrations/shared-rate-limiter';
import type { HttpResult } from '../../src/transport/http-sender';

/**
 * rate_limit.pause: an expression over each answer says how long the connection waits, for APIs that
 * say how much of a budget is spent (Graph API's usage headers) rather than what is left.
 */
function answer(headers: Record<string, string>): HttpResult {
  return { status: 200, headers: { 'content-type': 'application/json', ...headers }, body: '{"id":"1_2"}', durationMs: 1, error: null, errorCode: null };
}

const request: OutgoingRequest = { method: 'POST', url: 'https://graph.facebook.com/v26.0/1/feed', headers: {}, body: '{}' };

describe('rate_limit.pause', () => {
  it("reads a non-negative number of the unit, at most an hour, and nothing from what it cannot read", async () => {
    const seconds = { expression: compileJsonata('$number($headers.`x-wait`)'), unit: 'seconds' as const };
    expect(await pauseFrom(seconds, answer({ 'x-wait': '1.5' }))).toBe(1500);
    expect(await pauseFrom(seconds, answer({ 'x-wait': '7200' }))).toBe(3_600_000);
    expect(await pauseFrom(seconds, answer({ 'x-wait': '0' }))).toBeNull();
    expect(await pauseFrom(seconds, answer({ 'x-wait': '-3' }))).toBeNull();
    expect(await pauseFrom(seconds, answer({}))).toBeNull();
    expect(await pauseFrom({ expression: compileJsonata('$headers.`x-wait`'), unit: 'milliseconds' }, answer({ 'x-wait': '250' }))).toBe(250);
    expect(await pauseFrom({ expression: compileJsonata('$error("no")'), unit: 'seconds' }, answer({}))).toBeNull();
  });

  it("holds a Facebook Page link for the estimate its usage header gives, a minute near a spent budget, and not at all below it", async () => {
    const file = path.resolve(__dirname, '../../connectors/facebook-pages/connector.yaml');
    const loaded = loadManifest(file, path.dirname(path.dirname(file)));
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
    const connector = loaded.connector;
    const usage = (pct: number, minutes: number): Record<string, string> => ({
      'x-business-use-case-usage': JSON.stringify({ '104857600123': [{ type: 'pages', call_count: pct, total_cputime: 10, total_time: 10, estimated_time_to_regain_access: minutes }] }),
    });
    const wait = async (headers: Record<string, string>): Promise<number> => {
      const pacer = new ConnectionPacer(localRateSlots(), systemClock);
      const paced = pacer.paced({ send: async () => answer(headers) }, connector, 'con_1');
      await paced!.send('publish_post', request);
      return pacer.local.waitFor(ConnectionPacer.key(connector, 'con_1'), 60, 60);
    };
    expect(await wait(usage(100, 19))).toBeGreaterThan(19 * 60_000 - 2000);
    expect(await wait(usage(96, 0))).toBeGreaterThan(58_000);
    expect(await wait(usage(40, 0))).toBeLessThan(2000);
    expect(await wait({ 'x-app-usage': '{"call_count":12,"total_time":99,"total_cputime":3}' })).toBeGreaterThan(58_000);
  });
});
