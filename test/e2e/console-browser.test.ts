import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { CONSOLE_CSP } from '../../src/api/console';
import { startChildHub } from '../support/child-hub';
import type { ChildHub } from '../support/child-hub';
import { axeViolations, buildConsole, launchChromium, openPage, randomKey, signIn } from '../support/console-browser';
import { startReceiver, waitUntil } from '../support/receiver';
import type { Receiver } from '../support/receiver';
import { AMQP_URL, deleteTopology, dropDatabase, mongoUrlFor, uniqueName } from '../support/services';
import { businessCreated } from '../support/test-hub';

type Json = Record<string, unknown>;

/**
 * The web console in a real browser (Debian's Chromium through playwright-core), against a hub
 * started as a user starts it (its own process, on RabbitMQ and MongoDB), with the console built
 * as `npm run build` builds it.
 */

let hub: ChildHub;
let base: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let ok: Receiver;
let gone: Receiver;
let consoleDir: string;
const adminKey = randomKey();
const prefix = uniqueName('hhconsole');
const database = uniqueName('hhconsole');
const cspViolations: string[] = [];

async function api<T = Json>(method: string, path: string, body?: unknown, key = adminKey): Promise<{ status: number; body: T }> {
  const init: RequestInit = { method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) } };
  if (body !== undefined) init.body = JSON.stringify(body);
  const res = await fetch(`${base}${path}`, init);
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
}

function watch(p: Page): Page {
  p.on('console', (m) => {
    if (/Content Security Policy|Refused to (load|execute|apply)/i.test(m.text())) cspViolations.push(m.text());
  });
  return p;
}

beforeAll(async () => {
  consoleDir = buildConsole();
  [ok, gone] = await Promise.all([
    startReceiver(() => ({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"received":"thanks from the receiver"}' })),
    startReceiver(() => ({ status: 503, body: 'down for maintenance' })),
  ]);
  hub = await startChildHub({
    PORT: '0',
    HOST: '127.0.0.1',
    HOOKHUB_API_KEY: adminKey,
    HOOKHUB_ALLOW_PRIVATE_NETWORKS: 'true',
    HOOKHUB_QUEUE_PREFIX: prefix,
    AMQP_URL,
    MONGODB_URL: mongoUrlFor(database),
    HOOKHUB_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    HOOKHUB_CONSOLE_DIR: consoleDir,
  });
  base = `http://127.0.0.1:${hub.port()}`;
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = watch(await context.newPage());
  page.on('dialog', (d) => void d.accept());
}, 120_000);

afterAll(async () => {
  await browser?.close();
  hub?.kill('SIGTERM');
  await hub?.exited;
  await Promise.all([ok?.close(), gone?.close(), deleteTopology(prefix), dropDatabase(database)]);
  if (consoleDir) fs.rmSync(consoleDir, { recursive: true, force: true });
});

describe('the web console', () => {
  it('is served at /console with a strict Content-Security-Policy and long-cached hashed assets', async () => {
    const res = await fetch(`${base}/console/subscriptions`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toBe(CONSOLE_CSP);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const asset = /\/console\/assets\/[^"]+\.js/.exec(html)?.[0];
    const cached = await fetch(`${base}${asset ?? ''}`);
    expect([cached.status, cached.headers.get('cache-control')]).toEqual([200, 'public, max-age=31536000, immutable']);
  });

  it('signs in with an API key: the session is an HttpOnly SameSite=Strict cookie and the key is not kept in the browser', async () => {
    await signIn(page, base, adminKey);
    const cookies = await context.cookies();
    expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite, c.path])).toEqual([['hookhub_session', true, 'Strict', '/']]);
    expect(cookies[0]?.value).not.toContain(adminKey);
    const stored = (await page.evaluate('JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie')) as string;
    expect(stored).not.toContain(adminKey);
    expect(stored).not.toContain('hookhub_session');
  });

  it('refuses a write made with the session cookie but without the CSRF token', async () => {
    const refused = await page.evaluate(async () => {
      const r = await fetch('/v1/subscriptions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ endpointUrl: 'https://example.com/x', events: ['business.created'] }) });
      return { status: r.status, body: (await r.json()) as { error: { code: string } } };
    });
    expect([refused.status, refused.body.error.code]).toEqual([403, 'csrf_token_invalid']);
    const read = await page.evaluate(async () => (await fetch('/v1/subscriptions')).status);
    expect(read).toBe(200);
    expect(((await api<{ data: Json[] }>('GET', '/v1/subscriptions')).body.data)).toEqual([]);
  });

  let subscriptionId = '';
  let firstSecret = '';

  it('creates a subscription with a filter, checking the filter as it is typed', async () => {
    await openPage(page, 'Subscriptions');
    await page.getByText('No subscriptions yet').waitFor();
    await page.getByRole('button', { name: 'New subscription' }).click();
    await page.getByLabel('Endpoint URL').fill(`${ok.url}/hooks`);
    await page.getByRole('checkbox', { name: 'business.created' }).check();
    await page.getByLabel('Filter (JSONata, optional)').fill('data.category = ');
    await page.getByTestId('live-checks').getByText(/^Filter: /).waitFor();
    await page.getByLabel('Filter (JSONata, optional)').fill('data.category = "restaurant"');
    await page.getByTestId('live-checks').getByText('Checks pass.').waitFor();
    await page.getByRole('button', { name: 'Create subscription' }).click();
    firstSecret = (await page.getByTestId('new-secret').textContent()) ?? '';
    expect(firstSecret).toMatch(/^whsec_/);
    await page.getByRole('button', { name: 'Open the subscription' }).click();
    await page.getByRole('heading', { name: 'Recent attempts' }).waitFor();
    subscriptionId = page.url().split('/').pop() ?? '';
    const stored = await api<Json>('GET', `/v1/subscriptions/${subscriptionId}`);
    expect(stored.body).toMatchObject({ endpointUrl: `${ok.url}/hooks`, events: ['business.created'], filter: 'data.category = "restaurant"' });
  });

  it('simulates an event, checked against its schema as it is edited, and shows the attempt with the response body', async () => {
    const editor = page.getByLabel(/Event data/);
    await page.getByTestId('schema-problems').getByText('Matches the schema of business.created.').waitFor();
    const sample = await editor.inputValue();
    await editor.fill('{"name": 42}');
    await page.getByTestId('schema-problems').getByText('/name must be string, not integer').waitFor();
    await page.getByTestId('schema-problems').getByText('/id is required').waitFor();
    await editor.fill(sample);
    await page.getByRole('button', { name: 'Send test event' }).click();
    await page.getByTestId('test-result').getByText('Endpoint answered 200').waitFor();
    expect(ok.requests).toHaveLength(1);
    const row = page.getByTestId('attempts').getByRole('row').nth(1);
    await row.getByText('(test)').waitFor();
    await row.getByRole('link').click();
    await page.getByTestId('response-body').getByText('{"received":"thanks from the receiver"}').waitFor();
    expect(await page.getByTestId('response-status').textContent()).toBe('200');
    // The request as the hub sent it, signature included, and a curl command that repeats it.
    await page.getByRole('heading', { name: 'Request as sent' }).waitFor();
    await page.getByRole('region', { name: 'Request headers' }).getByText(/"webhook-signature": "v1,/).waitFor();
    await page.getByRole('region', { name: 'curl command' }).getByText(/-H 'webhook-signature: v1,/).waitFor();
    await page.goBack();
    await page.getByRole('heading', { name: 'Recent attempts' }).waitFor();
  });

  it('reveals and rotates the signing secret', async () => {
    await page.getByRole('button', { name: 'Reveal secret' }).click();
    expect(await page.getByTestId('secret').textContent()).toBe(firstSecret);
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    await waitUntil(async () => ((await page.getByTestId('secret').textContent()) ?? firstSecret) !== firstSecret);
    const shown = await page.getByTestId('secret').textContent();
    expect(shown).toMatch(/^whsec_/);
    expect((await api<Json>('GET', `/v1/subscriptions/${subscriptionId}/secret`)).body['secret']).toBe(shown);
    await page.getByText('The previous secret signs too until').waitFor();
  });

  it('replays a dead letter', async () => {
    const doomed = await api<Json>('POST', '/v1/subscriptions', { endpointUrl: `${gone.url}/down`, events: ['business.created'], retryConfig: { maxRetries: 0 } });
    await api('POST', '/v1/events', businessCreated({}, { category: 'bakery' }));
    let deadId = '';
    await waitUntil(async () => {
      deadId = String(((await api<{ data: Json[] }>('GET', `/v1/dead-letters?subscriptionId=${String(doomed.body['id'])}`)).body.data[0]?.['id']) ?? '');
      return deadId !== 'undefined' && deadId !== '';
    });
    await openPage(page, 'Dead letters');
    await page.getByRole('button', { name: `Replay dead letter ${deadId}` }).click();
    await page.getByRole('status').getByText('1 replayed.').waitFor();
    await waitUntil(async () => (await api<Json>('GET', `/v1/dead-letters/${deadId}`)).body['replayCount'] === 1);
    await waitUntil(() => gone.requests.length >= 2);
    // Resend from the attempt's page: a new attempt of the resend appears there.
    const first = (await api<{ data: Json[] }>('GET', `/v1/deliveries?subscriptionId=${String(doomed.body['id'])}`)).body.data.at(-1);
    await page.goto(`${base}/console/deliveries/${String(first?.['id'])}`);
    await page.getByTestId('response-body').waitFor();
    await page.getByRole('button', { name: 'Resend' }).click();
    await page.getByRole('status').getByText(`Resent under webhook id ${String(first?.['webhookId'])}.`).waitFor();
    await page.getByTestId('resends').getByRole('row').nth(1).getByText('(resend)').waitFor();
    expect(gone.requests.length).toBeGreaterThanOrEqual(3);
  });

  it('charts the numbers the API returns, in a table behind each chart', async () => {
    // Every delivery above has settled. The hub's delivery analytics are what the overview charts
    // (test sends are not counted there); a hub without them is charted from its delivery log.
    const to = new Date(Date.now() + 60_000).toISOString();
    const from = new Date(Date.now() - 86_400_000).toISOString();
    const analytics = await api<{ totals?: { attempts: number; succeeded: number } }>('GET', `/v1/analytics/deliveries?interval=hour&from=${from}&to=${to}`);
    const attempts = (await api<{ data: Json[] }>('GET', '/v1/deliveries?limit=250')).body.data;
    const expected = analytics.status === 200 && analytics.body.totals
      ? { total: analytics.body.totals.attempts, succeeded: analytics.body.totals.succeeded }
      : { total: attempts.length, succeeded: attempts.filter((a) => a['status'] === 'succeeded').length };
    // The dead letter's first attempt, its replay and its resend all failed.
    expect(expected.total - expected.succeeded).toBe(3);
    await openPage(page, 'Overview');
    const table = page.locator('table[data-chart="Deliveries by outcome"]');
    await table.waitFor({ state: 'attached' });
    const rows = await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => Number(td.textContent))));
    expect(rows.reduce((s, r) => s + (r[0] ?? 0), 0)).toBe(expected.succeeded);
    expect(rows.reduce((s, r) => s + (r[1] ?? 0), 0)).toBe(expected.total - expected.succeeded);
    expect(await page.getByTestId('stat-attempts').locator('.value').textContent()).toBe(String(expected.total));
    expect(await page.getByTestId('stat-success-rate').locator('.value').textContent()).toBe(`${((expected.succeeded / expected.total) * 100).toFixed(1)} %`);
    const latency = await page.locator('table[data-chart="Latency"] tbody tr td').allTextContents();
    expect(latency.filter((v) => v !== '').length).toBeGreaterThan(0);
    expect(await page.locator('.chart-canvas canvas').count()).toBeGreaterThanOrEqual(2);
    // The service level against the targets, as GET /v1/analytics/sla reports it.
    const sla = await api<{ tenant: { successRate: number | null; settled: number } }>('GET', `/v1/analytics/sla?from=${from}&to=${to}`);
    if (sla.status !== 404) {
      const rate = sla.body.tenant.successRate === null ? '—' : `${(sla.body.tenant.successRate * 100).toFixed(1)} %`;
      await page.getByTestId('sla').getByText(`${rate} of ${sla.body.tenant.settled} settled`).waitFor();
    }
  });

  it('has no serious or critical accessibility violations on any page, at laptop and phone widths', async () => {
    const pages = ['Overview', 'Subscriptions', 'Delivery log', 'Dead letters', 'Payload inspector', 'Connections', 'Event types', 'Audit log', 'API keys'];
    const found: Record<string, unknown> = {};
    for (const name of pages) {
      await openPage(page, name);
      await page.waitForLoadState('networkidle');
      const v = await axeViolations(page);
      if (v.length > 0) found[name] = v;
    }
    await page.goto(`${base}/console/subscriptions/${subscriptionId}`);
    await page.getByRole('heading', { name: 'Recent attempts' }).waitFor();
    found['Subscription detail'] = await axeViolations(page);
    await page.getByTestId('attempts').getByRole('link').first().click();
    await page.getByTestId('response-body').waitFor();
    found['Attempt detail'] = await axeViolations(page);
    await page.setViewportSize({ width: 390, height: 844 });
    await openPage(page, 'Overview');
    found['Overview (phone)'] = await axeViolations(page);
    await page.setViewportSize({ width: 1280, height: 900 });
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await phone.goto(`${base}/console/`);
    found['Sign-in'] = await axeViolations(watch(phone));
    await phone.close();
    expect(Object.fromEntries(Object.entries(found).filter(([, v]) => (v as unknown[]).length > 0))).toEqual({});
  });

  it('offers a key limited to reading no write buttons', async () => {
    const made = await api<Json>('POST', '/v1/api-keys', { name: 'support', scopes: ['subscriptions:read', 'deliveries:read'] });
    const reader = await browser.newContext();
    const p = watch(await reader.newPage());
    await signIn(p, base, String(made.body['key']));
    await openPage(p, 'Subscriptions');
    await p.getByRole('link', { name: `${ok.url}/hooks` }).waitFor();
    await openPage(p, 'Dead letters');
    await p.getByTestId('dead-letters').waitFor();
    const writeButtons = /New subscription|Edit|Disable|Enable|Reveal secret|Rotate secret|Send test event|Replay|Resend|Revoke|Create key|Link with OAuth/;
    expect(await p.getByRole('button', { name: writeButtons }).count()).toBe(0);
    await p.goto(`${base}/console/subscriptions/${subscriptionId}`);
    await p.getByRole('heading', { name: 'Recent attempts' }).waitFor();
    await p.getByTestId('attempts').waitFor();
    expect(await p.getByRole('button', { name: writeButtons }).count()).toBe(0);
    await p.getByTestId('attempts').getByRole('link').first().click();
    await p.getByTestId('response-body').waitFor();
    expect(await p.getByRole('button', { name: writeButtons }).count()).toBe(0);
    await reader.close();
  });

  it('signs out: the session ends on the hub, not only in the page', async () => {
    const [cookie] = await context.cookies();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    const res = await fetch(`${base}/v1/subscriptions`, { headers: { cookie: `hookhub_session=${cookie?.value ?? ''}` } });
    expect(res.status).toBe(401);
    expect(cspViolations).toEqual([]);
  });
});
