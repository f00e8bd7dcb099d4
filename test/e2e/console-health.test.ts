// Runs once endpoint health (health on GET /v1/subscriptions/:id) is in the hub: rename to console-health.test.ts.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { startChildHub } from '../support/child-hub';
import type { ChildHub } from '../support/child-hub';
import { buildConsole, launchChromium, openPage, randomKey, signIn } from '../support/console-browser';
import { startReceiver, waitUntil } from '../support/receiver';
import type { Receiver } from '../support/receiver';
import { AMQP_URL, deleteTopology, dropDatabase, mongoUrlFor, uniqueName } from '../support/services';
import { businessCreated } from '../support/test-hub';

/**
 * Endpoint health on the console's overview: an endpoint that fails half its deliveries shows as
 * degraded, then, failing every one, as failing (health thresholds made small so a few
 * deliveries decide).
 */

let hub: ChildHub;
let base: string;
let browser: Browser;
let page: Page;
let endpoint: Receiver;
let consoleDir: string;
let failAll = false;
const key = randomKey();
const prefix = uniqueName('hhconsoleh');
const database = uniqueName('hhconsoleh');

async function api(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return (await res.json()) as Record<string, unknown>;
}

beforeAll(async () => {
  consoleDir = buildConsole();
  endpoint = await startReceiver((_req, nth) => ({ status: failAll || nth % 2 === 0 ? 500 : 200, body: 'x' }));
  hub = await startChildHub({
    PORT: '0',
    HOST: '127.0.0.1',
    HOOKHUB_API_KEY: key,
    HOOKHUB_ALLOW_PRIVATE_NETWORKS: 'true',
    HOOKHUB_QUEUE_PREFIX: prefix,
    AMQP_URL,
    MONGODB_URL: mongoUrlFor(database),
    HOOKHUB_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    HOOKHUB_CONSOLE_DIR: consoleDir,
    HOOKHUB_HEALTH_WINDOW: '10m',
    HOOKHUB_HEALTH_MIN_ATTEMPTS: '4',
    HOOKHUB_HEALTH_FAILING_AFTER_FAILURES: '8',
    HOOKHUB_HEALTH_FLUSH: '200ms',
    HOOKHUB_HEALTH_EVALUATE: '500ms',
  });
  base = `http://127.0.0.1:${hub.port()}`;
  browser = await launchChromium();
  page = await browser.newPage();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  hub?.kill('SIGTERM');
  await hub?.exited;
  await Promise.all([endpoint?.close(), deleteTopology(prefix), dropDatabase(database)]);
  if (consoleDir) fs.rmSync(consoleDir, { recursive: true, force: true });
});

async function overviewShows(url: string, state: string): Promise<void> {
  await waitUntil(async () => {
    await page.getByRole('button', { name: 'Refresh' }).click();
    const row = page.getByTestId('failing-endpoints').getByRole('row').filter({ hasText: url });
    return (await row.count()) === 1 && (await row.getByText(state, { exact: true }).count()) === 1;
  }, 60_000, () => `the overview never showed ${url} as ${state}`);
}

it('shows a failing endpoint as degraded, then failing, on the overview', async () => {
  const url = `${endpoint.url}/flaky`;
  const sub = await api('POST', '/v1/subscriptions', { endpointUrl: url, events: ['business.created'], retryConfig: { maxRetries: 0 } });
  await signIn(page, base, key);
  await openPage(page, 'Overview');
  await page.getByText('Every endpoint is healthy.').waitFor();

  // Half of six deliveries fail: below the 90 % success rate, never eight failures in a row.
  for (let i = 0; i < 6; i++) await api('POST', '/v1/events', businessCreated());
  await endpoint.waitFor(6);
  await overviewShows(url, 'degraded');

  failAll = true;
  for (let i = 0; i < 8; i++) await api('POST', '/v1/events', businessCreated());
  await endpoint.waitFor(14);
  await overviewShows(url, 'failing');
  expect(((await api('GET', `/v1/subscriptions/${String(sub['id'])}`))['health'] as Record<string, unknown>)['state']).toBe('failing');
});
