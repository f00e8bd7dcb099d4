import { randomBytes } from 'node:crypto';
import { startReceiver, waitUntil } from '../support/receiver';
import { DiscordEmulator } from '../support/emulators/discord';
import type { DiscordMessage } from '../support/emulators/discord';
import { businessCreated, startTestHub, tenantApi, waitForAttempts } from '../support/test-hub';
import type { TestHub, TenantApi } from '../support/test-hub';

/**
 * The Discord connector through the whole pipeline (API, RabbitMQ, FerretDB) against an emulator
 * of Discord's documented webhook API over HTTP.
 */
type Json = Record<string, unknown>;

let th: TestHub;
let discord: DiscordEmulator;

beforeAll(async () => {
  [th, discord] = await Promise.all([startTestHub(), DiscordEmulator.start()]);
});

afterAll(async () => {
  await discord.close();
  await th.destroy();
});

// With a minute as the first step of the integration's own schedule, a retry within seconds can only be the one Discord asked for.
const SLOW_SCHEDULE = { initialDelaySeconds: 60 };

function id(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

function reviewCreated(data: Json = {}): Json {
  return {
    type: 'review.created',
    data: { id: id('rev'), business_id: id('biz'), rating: 2, title: 'Cold soup', content: 'Soup was cold.', author: { name: 'Ann', verified: true }, photos: [], created_at: '2026-11-01T10:00:00Z', ...data },
  };
}

/** A tenant with a Discord connection to a new webhook, and an integration for the given events. */
async function linked(events: string[], options: { config?: Json; retryConfig?: Json } = {}): Promise<{ api: TenantApi; webhook: string; connectionId: string; integrationId: string }> {
  const api = await tenantApi(th);
  const webhook = discord.createWebhook();
  const connection = await api('POST', '/v1/connections', { connector: 'discord', config: options.config ?? {}, credentials: { webhook_url: webhook } });
  expect(connection.status).toBe(201);
  const integration = await api('POST', '/v1/integrations', { connection: connection.body['id'], events, ...(options.retryConfig ? { retryConfig: options.retryConfig } : {}) });
  expect(integration.status).toBe(201);
  return { api, webhook, connectionId: String(connection.body['id']), integrationId: String(integration.body['id']) };
}

async function publish(api: TenantApi, event: Json): Promise<void> {
  expect((await api('POST', '/v1/events', event)).status).toBe(202);
}

function embedOf(message: DiscordMessage | undefined): Json {
  const embed = message?.body.embeds?.[0];
  if (!embed) throw new Error(`no embed in ${JSON.stringify(message?.body)}`);
  return embed;
}

/** Characters as Discord counts them (code points). */
const chars = (s: unknown): number => [...String(s ?? '')].length;

describe('discord', () => {
  it('posts business.created and review.created as embeds with their fields, keeps the message id, and never shows the webhook URL', async () => {
    const { api, webhook, connectionId, integrationId } = await linked(['business.created', 'review.created'], { config: { username: 'Lawless Directory' } });
    const view = await api('GET', `/v1/connections/${connectionId}`);
    expect(view.body).toMatchObject({ connector: 'discord', status: 'active', hasSecrets: true });
    expect(JSON.stringify(view.body)).not.toContain(webhook);
    // The health check reads the webhook (GET with its token) without posting anything.
    expect((await api('POST', `/v1/connections/${connectionId}/check`)).body).toMatchObject({ ok: true, status: 200, error: null });
    expect(discord.messagesFor(webhook)).toEqual([]);

    const businessId = id('biz');
    await publish(api, businessCreated({}, { id: businessId, name: 'Blue Door Bistro' }));
    await waitUntil(() => discord.messagesFor(webhook).length === 1);
    await publish(api, reviewCreated({ business_id: businessId, rating: 5, title: 'Best brunch', content: 'Loved the pancakes.', author: { name: 'Ann', verified: true } }));
    await waitUntil(() => discord.messagesFor(webhook).length === 2);

    const [business, review] = discord.messagesFor(webhook);
    expect(business?.body).toMatchObject({ content: 'New business listed: Blue Door Bistro in Austin, TX', username: 'Lawless Directory', allowed_mentions: { parse: [] } });
    expect(embedOf(business)).toEqual({
      title: 'New business: Blue Door Bistro',
      url: 'https://bluedoor.example',
      color: 5793266,
      fields: [
        { name: 'Category', value: 'restaurant', inline: true },
        { name: 'Location', value: 'Austin, TX', inline: true },
        { name: 'Phone', value: '+1-512-555-0100', inline: true },
        { name: 'Website', value: 'https://bluedoor.example', inline: false },
        { name: 'Status', value: 'active', inline: true },
      ],
      footer: { text: `Business ${businessId} · Lawless Directory` },
      timestamp: '2026-11-01T10:00:00Z',
    });
    expect(review?.body).toMatchObject({ content: 'New 5-star review: Best brunch', allowed_mentions: { parse: [] } });
    expect(embedOf(review)).toMatchObject({
      title: '★★★★★ Best brunch',
      description: 'Loved the pancakes.',
      author: { name: 'Ann (verified)' },
      fields: [
        { name: 'Rating', value: '5/5', inline: true },
        { name: 'Business', value: businessId, inline: true },
      ],
    });

    // wait=true: Discord answered with the message, whose id the attempt keeps.
    const attempts = await waitForAttempts(api, integrationId, 2);
    expect(attempts.map((a) => [a['status'], a['httpStatus'], a['externalId']]).sort()).toEqual(
      [business, review].map((m) => ['succeeded', 200, m?.id]).sort(),
    );
    for (const attempt of attempts) expect(JSON.stringify(attempt)).not.toContain(webhook.split('/').pop());
  });

  it('pings no one for a business named "@everyone": allowed_mentions parses nothing', async () => {
    const { api, webhook } = await linked(['business.created']);
    await publish(api, businessCreated({}, { name: '@everyone @here' }));
    await waitUntil(() => discord.messagesFor(webhook).length === 1);
    const [message] = discord.messagesFor(webhook);
    expect(message?.body.content).toBe('New business listed: @everyone @here in Austin, TX');
    expect(message?.body.allowed_mentions).toEqual({ parse: [] });
    expect(message?.mentionEveryone).toBe(false);
  });

  it("cuts a long review to Discord's limits, and Discord accepts it", async () => {
    const { api, webhook, integrationId } = await linked(['review.created']);
    const content = 'The soup was cold and the waiter forgot us twice. '.repeat(120);
    const title = `Never again ${'!'.repeat(3000)}`;
    await publish(api, reviewCreated({ content, title, author: { name: 'A'.repeat(400) } }));
    await waitUntil(() => discord.messagesFor(webhook).length === 1);
    expect(discord.answersFor(webhook).map((a) => a.status)).toEqual([200]);

    const [message] = discord.messagesFor(webhook);
    const embed = embedOf(message) as { title: string; description: string; author: { name: string }; footer: { text: string }; fields: Array<{ name: string; value: string }> };
    expect(chars(message?.body.content)).toBe(2000);
    expect(chars(embed.title)).toBe(256);
    expect(chars(embed.description)).toBe(4096);
    expect(embed.description).toBe(`${[...content].slice(0, 4095).join('')}…`);
    expect(chars(embed.author.name)).toBe(256);
    const total = chars(embed.title) + chars(embed.description) + chars(embed.author.name) + chars(embed.footer.text) + embed.fields.reduce((n, f) => n + chars(f.name) + chars(f.value), 0);
    expect(total).toBeLessThanOrEqual(6000);
    const [attempt] = await waitForAttempts(api, integrationId, 1);
    expect(attempt).toMatchObject({ status: 'succeeded', httpStatus: 200 });
  });

  it("keeps every link together within Discord's global limit (50 requests a second), which Discord counts for the whole hub", async () => {
    // Twelve links, each of its own tenant, five messages each: each link's own limit (5 per 2 s) lets
    // all 60 go at once, which Discord would answer with global 429s.
    const links = await Promise.all(Array.from({ length: 12 }, () => linked(['review.created'])));
    const before = discord.answers.length;
    await Promise.all(links.flatMap(({ api }) => Array.from({ length: 5 }, (_, n) => publish(api, reviewCreated({ title: `Burst ${n}` })))));
    await waitUntil(() => links.every(({ webhook }) => discord.messagesFor(webhook).length === 5), 20_000);

    const answers = discord.answers.slice(before).filter((a) => a.method === 'POST');
    expect(answers.filter((a) => a.status === 429)).toEqual([]);
    const times = answers.map((a) => a.at).sort((a, b) => a - b);
    expect(times).toHaveLength(60);
    const busiest = Math.max(...times.map((t, i) => times.filter((u, j) => j <= i && t - u < 1000).length));
    expect(busiest).toBeLessThanOrEqual(50);
  });

  describe('a 429 is retried no earlier than Discord asked', () => {
    async function retriedAfter(limit: Parameters<DiscordEmulator['forceRateLimit']>[1]): Promise<{ waitedMs: number; attempts: Json[] }> {
      const { api, webhook, integrationId } = await linked(['review.created'], { retryConfig: SLOW_SCHEDULE });
      discord.forceRateLimit(webhook, limit);
      await publish(api, reviewCreated());
      await waitUntil(() => discord.messagesFor(webhook).length === 1, 15_000);
      // The messages posted (a health check may read the webhook meanwhile).
      const answers = discord.answersFor(webhook).filter((a) => a.method === 'POST');
      expect(answers.map((a) => a.status)).toEqual([429, 200]);
      const attempts = await waitForAttempts(api, integrationId, 2);
      return { waitedMs: answers[1]!.at - answers[0]!.at, attempts };
    }

    it("from Discord's answer (retry_after in the body, bucket headers)", async () => {
      const { waitedMs, attempts } = await retriedAfter({ retryAfter: 1.3 });
      expect(waitedMs).toBeGreaterThanOrEqual(1300);
      expect(attempts.map((a) => [a['attempt'], a['httpStatus'], a['status']])).toEqual([
        [2, 200, 'succeeded'],
        [1, 429, 'failed'],
      ]);
    });

    it('from the body alone (retry_after, decimal seconds, no headers)', async () => {
      const { waitedMs } = await retriedAfter({ retryAfter: 1.4, headers: false });
      expect(waitedMs).toBeGreaterThanOrEqual(1400);
    });

    it('from the headers alone (X-RateLimit-Reset-After, decimal seconds, behind a plain-text body)', async () => {
      const { waitedMs } = await retriedAfter({ retryAfter: 1.2, body: false });
      expect(waitedMs).toBeGreaterThanOrEqual(1200);
    });

    it('on the global limit (X-RateLimit-Global, retry_after in the body)', async () => {
      const { waitedMs } = await retriedAfter({ retryAfter: 1.6, global: true });
      expect(waitedMs).toBeGreaterThanOrEqual(1600);
    });
  });

  it('marks the link broken when the webhook was deleted (10015 Unknown Webhook): alerts once, parks later events without sending them, and delivers them all once the URL is replaced', async () => {
    const { api, webhook, connectionId, integrationId } = await linked(['review.created']);
    const alerts = await startReceiver(() => ({ status: 204 }));
    try {
      expect((await api('POST', '/v1/subscriptions', { endpointUrl: alerts.url, events: ['connection.broken'] })).status).toBe(201);
      discord.deleteWebhook(webhook);
      const check = (await api('POST', `/v1/connections/${connectionId}/check`)).body;
      expect(check).toMatchObject({ ok: false, status: 404, error: expect.stringContaining('(10015 Unknown Webhook)') });

      await publish(api, reviewCreated({ title: 'First' }));
      const [alert] = await alerts.waitFor(1, 15_000);
      const reason = "execute_webhook: Discord says the webhook no longer exists (10015 Unknown Webhook): it was deleted from the channel. Create a new webhook in the channel's Integrations settings and PATCH the connection's credentials with its URL.";
      expect(alert!.json).toMatchObject({ type: 'connection.broken', data: { connection_id: connectionId, connector: 'discord', reason } });
      expect((await api('GET', `/v1/connections/${connectionId}`)).body).toMatchObject({ status: 'broken', lastError: reason });

      // Later events are parked with the reason; Discord hears nothing more from the dead link.
      await publish(api, reviewCreated({ title: 'Second' }));
      let parked: Json[] = [];
      await waitUntil(async () => {
        parked = (await api('GET', `/v1/dead-letters?subscriptionId=${integrationId}`)).body['data'] as Json[];
        return parked.length === 2;
      });
      for (const letter of parked) expect(letter).toMatchObject({ reason: 'connection_broken', lastError: expect.stringContaining('(10015 Unknown Webhook)') });
      // Only the health check's GET and the first event's POST reached Discord.
      expect(discord.answersFor(webhook).map((a) => a.status)).toEqual([404, 404]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(alerts.requests).toHaveLength(1);

      // A new webhook URL fixes the link: both parked events go to it.
      const replacement = discord.createWebhook();
      const patched = await api('PATCH', `/v1/connections/${connectionId}`, { credentials: { webhook_url: replacement } });
      expect(patched.body).toMatchObject({ status: 'active', lastError: null });
      await waitUntil(() => discord.messagesFor(replacement).length === 2);
      expect(discord.messagesFor(replacement).map((m) => m.body.content).sort()).toEqual(['New 2-star review: First', 'New 2-star review: Second']);
      expect(discord.answersFor(webhook)).toHaveLength(2);
    } finally {
      await alerts.close();
    }
  });
});
