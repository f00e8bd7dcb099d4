/**
 * Screenshots of the console's main pages into docs/console/ (`npm run console:screenshots`):
 * builds the console, starts an embedded hub as a user would (its own process), gives it a few
 * subscriptions and deliveries, and photographs each page in Debian's Chromium.
 */
import * as fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { startChildHub } from '../test/support/child-hub';
import { buildConsole, launchChromium, openPage, randomKey, signIn } from '../test/support/console-browser';
import { startReceiver, waitUntil } from '../test/support/receiver';

const OUT = path.resolve(__dirname, '..', 'docs', 'console');

async function main(): Promise<void> {
  fs.mkdirSync(OUT, { recursive: true });
  const dir = buildConsole();
  const key = randomKey();
  let n = 0;
  const ok = await startReceiver(() => {
    n += 1;
    return { status: n % 7 === 0 ? 500 : 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}', delayMs: 20 + (n % 5) * 30 };
  });
  const down = await startReceiver(() => ({ status: 503, body: 'maintenance' }));
  const hub = await startChildHub({ PORT: '0', HOST: '127.0.0.1', HOOKHUB_API_KEY: key, HOOKHUB_CONSOLE_DIR: dir });
  const base = `http://127.0.0.1:${hub.port()}`;
  const api = async (method: string, p: string, body?: unknown): Promise<Record<string, unknown>> => {
    const res = await fetch(`${base}${p}`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return (await res.json()) as Record<string, unknown>;
  };
  try {
    const sub = await api('POST', '/v1/subscriptions', { endpointUrl: `${ok.url}/webhooks`, events: ['business.created', 'business.updated'], filter: 'data.status = "active"', description: 'CRM sync' });
    await api('POST', '/v1/subscriptions', { endpointUrl: `${down.url}/hooks`, events: ['business.created'], retryConfig: { maxRetries: 0 }, description: 'Partner feed' });
    for (let i = 0; i < 30; i++) {
      await api('POST', '/v1/events', { type: 'business.created', data: { id: `biz_${i}`, name: `Bistro ${i}`, category: 'restaurant', status: 'active', created_at: new Date().toISOString() } });
    }
    await waitUntil(async () => (((await api('GET', '/v1/dead-letters')).data as unknown[]) ?? []).length > 0, 30_000);
    await waitUntil(() => ok.requests.length >= 30, 30_000);
    const browser = await launchChromium();
    const shots: Array<[string, (p: Page) => Promise<void>]> = [
      ['overview', (p) => openPage(p, 'Overview')],
      ['subscriptions', (p) => openPage(p, 'Subscriptions')],
      ['subscription-detail', async (p) => {
        await p.goto(`${base}/console/subscriptions/${String(sub['id'])}`);
        await p.getByRole('heading', { name: 'Recent attempts' }).waitFor();
      }],
      ['delivery-log', (p) => openPage(p, 'Delivery log')],
      ['attempt-detail', async (p) => {
        await openPage(p, 'Delivery log');
        await p.getByTestId('attempts').getByRole('link').first().click();
        await p.getByTestId('response-body').waitFor();
      }],
      ['dead-letters', (p) => openPage(p, 'Dead letters')],
      ['payload-inspector', (p) => openPage(p, 'Payload inspector')],
      ['connections', (p) => openPage(p, 'Connections')],
      ['event-types', (p) => openPage(p, 'Event types')],
      ['audit-log', (p) => openPage(p, 'Audit log')],
      ['api-keys', (p) => openPage(p, 'API keys')],
    ];
    for (const [width, height, suffix] of [[1280, 860, ''], [390, 844, '-phone']] as const) {
      const page = await browser.newPage({ viewport: { width, height } });
      await page.goto(`${base}/console/`);
      await page.screenshot({ path: path.join(OUT, `sign-in${suffix}.png`) });
      await signIn(page, base, key);
      for (const [name, open] of suffix === '' ? shots : shots.filter(([s]) => s === 'overview' || s === 'subscription-detail')) {
        await open(page);
        await page.waitForLoadState('networkidle');
        await page.waitForTimeout(300);
        await page.screenshot({ path: path.join(OUT, `${name}${suffix}.png`), fullPage: suffix === '' });
      }
      await page.close();
    }
    await browser.close();
    console.log(`screenshots in ${path.relative(process.cwd(), OUT)}`);
  } finally {
    hub.kill('SIGTERM');
    await hub.exited;
    await Promise.all([ok.close(), down.close()]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
