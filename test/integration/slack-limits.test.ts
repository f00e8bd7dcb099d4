import { randomBytes } from 'node:crypto';
import { waitUntil } from '../support/receiver';
import { SlackEmulator } from '../support/emulators/slack';
import { businessCreated, startTestHub, tenantApi, waitForAttempts } from '../support/test-hub';
import type { TestHub, TenantApi } from '../support/test-hub';

/**
 * Block Kit's limits (docs/connectors/slack-conformance.md): the emulator refuses a message past any
 * of them with 400 invalid_blocks, as Slack does, and the connector's mappings cut long directory
 * texts so that Slack takes the message instead of the delivery failing.
 */
type Json = Record<string, unknown>;

let th: TestHub;
let slack: SlackEmulator;

beforeAll(async () => {
  [th, slack] = await Promise.all([startTestHub(), SlackEmulator.start()]);
});

afterAll(async () => {
  await th?.destroy();
  await slack?.close();
});

async function post(payload: unknown): Promise<{ status: number; body: string }> {
  const answer = await fetch(slack.createWebhook(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
  return { status: answer.status, body: await answer.text() };
}

const section = (text: string): Json => ({ type: 'section', text: { type: 'mrkdwn', text } });

async function linked(events: string[]): Promise<{ api: TenantApi; webhook: string; integrationId: string }> {
  const api = await tenantApi(th);
  const webhook = slack.createWebhook();
  const connection = await api('POST', '/v1/connections', { connector: 'slack', credentials: { webhook_url: webhook } });
  expect(connection.status).toBe(201);
  const integration = await api('POST', '/v1/integrations', { connection: connection.body['id'], events });
  expect(integration.status).toBe(201);
  return { api, webhook, integrationId: String(integration.body['id']) };
}

const id = (prefix: string): string => `${prefix}_${randomBytes(4).toString('hex')}`;
const sectionTexts = (blocks: Array<Record<string, unknown>>): string[] =>
  blocks.filter((b) => b['type'] === 'section' && b['text']).map((b) => String((b['text'] as Json)['text']));
const contextTexts = (blocks: Array<Record<string, unknown>>): string[] =>
  blocks.filter((b) => b['type'] === 'context').flatMap((b) => (b['elements'] as Json[]).map((e) => String(e['text'])));

describe("the Slack emulator holds messages to Block Kit's limits", () => {
  it('refuses a section text over 3,000 characters, a header over 150, a field over 2,000 and a context text over 3,000 with invalid_blocks', async () => {
    expect(await post({ text: 'x', blocks: [section('a'.repeat(3000))] })).toEqual({ status: 200, body: 'ok' });
    expect(await post({ text: 'x', blocks: [section('a'.repeat(3001))] })).toEqual({ status: 400, body: 'invalid_blocks' });
    expect(await post({ text: 'x', blocks: [{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }] })).toEqual({ status: 400, body: 'invalid_blocks' });
    expect(await post({ text: 'x', blocks: [{ type: 'header', text: { type: 'mrkdwn', text: 'h' } }] })).toEqual({ status: 400, body: 'invalid_blocks' });
    expect(await post({ text: 'x', blocks: [{ type: 'section', fields: [{ type: 'mrkdwn', text: 'f'.repeat(2001) }] }] })).toEqual({ status: 400, body: 'invalid_blocks' });
    expect(await post({ text: 'x', blocks: [{ type: 'context', elements: [{ type: 'mrkdwn', text: 'c'.repeat(3001) }] }] })).toEqual({ status: 400, body: 'invalid_blocks' });
    expect(await post({ text: 'x', blocks: Array.from({ length: 51 }, () => ({ type: 'divider' })) })).toEqual({ status: 400, body: 'invalid_blocks' });
  });
});

describe('the Slack connector cuts long directory texts to those limits', () => {
  it('a review with a very long title (every & and < escaped), content and author is cut, and Slack takes it', async () => {
    const { api, webhook, integrationId } = await linked(['review.created']);
    const title = 'Cold & <soup> '.repeat(400);
    await api('POST', '/v1/events', {
      type: 'review.created',
      data: { id: id('rev'), business_id: id('biz'), rating: 1, title, content: 'It was cold & late. '.repeat(200), author: { name: '&'.repeat(1000), verified: false }, created_at: '2026-11-01T10:00:00Z' },
    });
    await waitUntil(() => slack.answers.some((a) => a.webhook === new URL(webhook).pathname));
    expect(slack.answers.filter((a) => a.webhook === new URL(webhook).pathname).map((a) => [a.status, a.body])).toEqual([[200, 'ok']]);
    const [message] = slack.messagesFor(webhook);
    const [heading] = sectionTexts(message!.blocks);
    expect(heading!.length).toBeLessThanOrEqual(3000);
    expect(heading).toContain('Cold &amp; &lt;soup&gt;');
    expect(heading).toMatch(/…\*$/);
    for (const text of [...sectionTexts(message!.blocks), ...contextTexts(message!.blocks)]) expect(text.length).toBeLessThanOrEqual(3000);
    const [attempt] = await waitForAttempts(api, integrationId, 1);
    expect(attempt).toMatchObject({ status: 'succeeded', httpStatus: 200 });
  });

  it('a business with a very long name and category, and a moderation with a very long reason, are cut and taken', async () => {
    const { api, webhook, integrationId } = await linked(['business.created', 'review.moderated']);
    await api('POST', '/v1/events', businessCreated({}, { id: id('biz'), name: `Rosa's <Corner> & ${'Bakery '.repeat(300)}`, category: '&'.repeat(2500) }));
    await waitUntil(() => slack.messagesFor(webhook).length === 1);
    await api('POST', '/v1/events', { type: 'review.moderated', data: { id: id('rev'), business_id: id('biz'), action: 'flagged', reason: '<spam> & '.repeat(700), moderator: 'm'.repeat(500), moderated_at: '2026-11-01T10:00:00Z' } });
    await waitUntil(() => slack.messagesFor(webhook).length === 2, 15_000);
    expect(slack.answers.filter((a) => a.webhook === new URL(webhook).pathname).map((a) => a.status)).toEqual([200, 200]);
    const [business, moderation] = slack.messagesFor(webhook);
    const header = business!.blocks[0] as { text: { text: string } };
    expect(header.text.text).toHaveLength(150);
    expect(header.text.text.endsWith('…')).toBe(true);
    expect(sectionTexts(moderation!.blocks)[0]!.length).toBeLessThanOrEqual(3000);
    const attempts = await waitForAttempts(api, integrationId, 2);
    expect(attempts.map((a) => a['status'])).toEqual(['succeeded', 'succeeded']);
  });
});
