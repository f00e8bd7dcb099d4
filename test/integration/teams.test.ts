import { randomBytes } from 'node:crypto';
import { startReceiver, waitUntil } from '../support/receiver';
import { MAX_MESSAGE_BYTES, TeamsEmulator } from '../support/emulators/teams';
import { businessCreated, startTestHub, tenantApi, waitForAttempts } from '../support/test-hub';
import type { TestHub, TenantApi } from '../support/test-hub';

/**
 * The Microsoft Teams connector through the whole pipeline (API, RabbitMQ, FerretDB) against an
 * emulator of a Teams workflow ("When a Teams webhook request is received") over HTTP.
 */
type Json = Record<string, unknown>;

let th: TestHub;
let teams: TeamsEmulator;

beforeAll(async () => {
  [th, teams] = await Promise.all([startTestHub(), TeamsEmulator.start()]);
});

afterAll(async () => {
  await teams.close();
  await th.destroy();
});

// With a minute as the first step of the integration's own schedule, a retry within seconds can only be the one Teams asked for.
const SLOW_SCHEDULE = { initialDelaySeconds: 60 };

function id(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

function reviewCreated(data: Json = {}): Json {
  return {
    type: 'review.created',
    data: { id: id('rev'), business_id: id('biz'), rating: 4, title: 'Good soup', content: 'Soup was hot.', author: { name: 'Ann', verified: true }, photos: [], created_at: '2026-11-01T10:00:00Z', ...data },
  };
}

/** A tenant with a Teams connection to a new workflow, and an integration for the given events. */
async function linked(events: string[], options: { config?: Json; retryConfig?: Json } = {}): Promise<{ api: TenantApi; workflow: string; connectionId: string; integrationId: string }> {
  const api = await tenantApi(th);
  const workflow = teams.createWorkflow();
  const connection = await api('POST', '/v1/connections', { connector: 'teams', config: options.config ?? {}, credentials: { webhook_url: workflow } });
  expect(connection.status).toBe(201);
  const integration = await api('POST', '/v1/integrations', { connection: connection.body['id'], events, ...(options.retryConfig ? { retryConfig: options.retryConfig } : {}) });
  expect(integration.status).toBe(201);
  return { api, workflow, connectionId: String(connection.body['id']), integrationId: String(integration.body['id']) };
}

async function publish(api: TenantApi, event: Json): Promise<void> {
  expect((await api('POST', '/v1/events', event)).status).toBe(202);
}

/** The POSTs that carried cards (the health check's message has none). */
const cardPosts = (workflow: string): number => teams.runsFor(workflow).filter((r) => r.cards.length > 0 || r.status === 'Failed').length;

/** Every TextRun's text in a card, in order. */
function texts(card: unknown): string[] {
  const found: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node !== null && typeof node === 'object') {
      const o = node as Json;
      if ((o['type'] === 'TextRun' || o['type'] === 'TextBlock') && typeof o['text'] === 'string') found.push(o['text']);
      Object.values(o).forEach(walk);
    }
  };
  walk(card);
  return found;
}

describe('teams', () => {
  it('posts business.created, business.verified, review.created and review.moderated as Adaptive Cards that the workflow posts, and never shows the workflow URL', async () => {
    const { api, workflow, connectionId, integrationId } = await linked(['business.created', 'business.verified', 'review.created', 'review.moderated']);
    const view = await api('GET', `/v1/connections/${connectionId}`);
    expect(view.body).toMatchObject({ connector: 'teams', status: 'active', hasSecrets: true });
    expect(JSON.stringify(view.body)).not.toContain(new URL(workflow).searchParams.get('sig'));
    // The health check sends a message without cards: the trigger takes it, the run posts nothing.
    expect((await api('POST', `/v1/connections/${connectionId}/check`)).body).toMatchObject({ ok: true, status: 202, error: null });
    await waitUntil(() => teams.runsFor(workflow).length === 1);
    expect(teams.runsFor(workflow)[0]).toMatchObject({ status: 'Succeeded', cards: [] });

    const businessId = id('biz');
    const reviewId = id('rev');
    await publish(api, businessCreated({}, { id: businessId, name: 'Blue Door Bistro' }));
    await waitUntil(() => cardPosts(workflow) === 1);
    await publish(api, { type: 'business.verified', data: { id: businessId, name: 'Blue Door Bistro', verified_at: '2026-11-02T09:00:00Z', verification_method: 'phone', verified_by: 'staff_ann' } });
    await waitUntil(() => cardPosts(workflow) === 2);
    await publish(api, reviewCreated({ id: reviewId, business_id: businessId, rating: 1, title: 'Cold soup', content: 'Soup was cold.', author: { name: 'Ann', verified: true } }));
    await waitUntil(() => cardPosts(workflow) === 3);
    await publish(api, { type: 'review.moderated', data: { id: reviewId, business_id: businessId, action: 'flagged', reason: 'Needs a look', moderator: 'mod_kim', moderated_at: '2026-11-03T10:00:00Z' } });
    await waitUntil(() => cardPosts(workflow) === 4);

    const runs = teams.runsFor(workflow).slice(1);
    expect(runs.map((r) => [r.status, r.error, r.cards.length])).toEqual(Array.from({ length: 4 }, () => ['Succeeded', null, 1]));
    const [business, verified, review, moderated] = runs.map((r) => r.cards[0]!);
    expect(business).toMatchObject({ type: 'AdaptiveCard', version: '1.5', actions: [{ type: 'Action.OpenUrl', url: 'https://bluedoor.example' }] });
    expect(texts(business)).toEqual(['New business listed', 'Blue Door Bistro', 'Category: ', 'restaurant', 'Location: ', 'Austin, TX', 'Phone: ', '+1-512-555-0100', 'Website: ', 'https://bluedoor.example', 'Status: ', 'active', `Business ${businessId} · Lawless Directory`]);
    expect(texts(verified)).toEqual(['Business verified', 'Blue Door Bistro', 'Method: ', 'phone', 'Verified by: ', 'staff_ann', 'Verified at: ', '2026-11-02T09:00:00Z', `Business ${businessId} · Lawless Directory`]);
    // A 1-star review is highlighted: the attention style and color.
    expect((review!['body'] as Json[])[0]).toMatchObject({ type: 'Container', style: 'attention', items: [{ text: 'New low rating', color: 'attention' }, { inlines: [{ text: '★☆☆☆☆', color: 'attention' }, { text: '  1/5' }] }] });
    expect(texts(review)).toEqual(expect.arrayContaining(['Cold soup', 'Soup was cold.', 'By Ann (verified)']));
    expect(texts(moderated)).toEqual(expect.arrayContaining([`Review ${reviewId} was `, 'flagged', 'Needs a look']));

    // Every answer was 202 Accepted, and the attempts say so.
    const attempts = await waitForAttempts(api, integrationId, 4);
    expect(attempts.map((a) => [a['status'], a['httpStatus']])).toEqual(Array.from({ length: 4 }, () => ['succeeded', 202]));
    for (const attempt of attempts) expect(JSON.stringify(attempt)).not.toContain(new URL(workflow).searchParams.get('sig'));
  });

  it('does not highlight a 4-star review, and highlights a 3-star one when low_rating_at_most is 3', async () => {
    const plain = await linked(['review.created']);
    const strict = await linked(['review.created'], { config: { low_rating_at_most: 3 } });
    await publish(plain.api, reviewCreated({ rating: 4 }));
    await publish(strict.api, reviewCreated({ rating: 3 }));
    await waitUntil(() => teams.cardsFor(plain.workflow).length === 1 && teams.cardsFor(strict.workflow).length === 1);
    const header = (workflow: string): Json => (teams.cardsFor(workflow)[0]!['body'] as Json[])[0]!;
    expect(header(plain.workflow)).not.toHaveProperty('style');
    expect(header(strict.workflow)).toMatchObject({ style: 'attention' });
  });

  it("cuts a long review so that the message stays under Teams' 28 KB even when every character takes six bytes in JSON, and the workflow posts it", async () => {
    const { api, workflow, integrationId } = await linked(['review.created']);
    // U+0001 is written \u0001 in JSON: six bytes a character, the most any character takes.
    const worst = (n: number): string => '\u0001'.repeat(n);
    await publish(api, reviewCreated({ title: worst(1000), content: worst(20_000), author: { name: worst(1000), verified: true } }));
    await waitUntil(() => teams.runsFor(workflow).length === 1);
    const [run] = teams.runsFor(workflow);
    expect(run).toMatchObject({ status: 'Succeeded', error: null });
    expect(run!.bytes).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    expect(run!.bytes).toBeGreaterThan(18_000);
    expect(texts(run!.cards[0])).toEqual(expect.arrayContaining([`${worst(2499)}…`, `${worst(299)}…`]));
    const [attempt] = await waitForAttempts(api, integrationId, 1);
    expect(attempt).toMatchObject({ status: 'succeeded', httpStatus: 202 });
  });

  it('is retried no earlier than Retry-After when Teams throttles it (429)', async () => {
    const { api, workflow, integrationId } = await linked(['review.created'], { retryConfig: SLOW_SCHEDULE });
    teams.forceThrottle(workflow, 2);
    await publish(api, reviewCreated());
    await waitUntil(() => teams.cardsFor(workflow).length === 1, 15_000);
    const answers = teams.answersFor(workflow);
    expect(answers.map((a) => [a.status, a.headers['retry-after']])).toEqual([
      [429, '2'],
      [202, undefined],
    ]);
    expect(answers[1]!.at - answers[0]!.at).toBeGreaterThanOrEqual(2000);
    const attempts = await waitForAttempts(api, integrationId, 2);
    expect(attempts.map((a) => [a['attempt'], a['httpStatus'], a['status']])).toEqual([
      [2, 202, 'succeeded'],
      [1, 429, 'failed'],
    ]);
  });

  it('keeps each link to one message a second, so a burst is never throttled', async () => {
    const { api, workflow } = await linked(['review.created']);
    await Promise.all(Array.from({ length: 6 }, (_, n) => publish(api, reviewCreated({ title: `Burst ${n}` }))));
    await waitUntil(() => teams.cardsFor(workflow).length === 6, 20_000);
    const answers = teams.answersFor(workflow);
    expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 6 }, () => 202));
    const times = answers.map((a) => a.at);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(900);
  });

  it('marks the link broken when the workflow was deleted (404): alerts once, parks later events without sending them, and delivers them all once the URL is replaced', async () => {
    const { api, workflow, connectionId, integrationId } = await linked(['review.created']);
    const alerts = await startReceiver(() => ({ status: 204 }));
    try {
      expect((await api('POST', '/v1/subscriptions', { endpointUrl: alerts.url, events: ['connection.broken'] })).status).toBe(201);
      teams.deleteWorkflow(workflow);
      expect((await api('POST', `/v1/connections/${connectionId}/check`)).body).toMatchObject({ ok: false, status: 404, error: expect.stringContaining('(WorkflowNotFound)') });

      await publish(api, reviewCreated({ title: 'First' }));
      const [alert] = await alerts.waitFor(1, 15_000);
      const reason = expect.stringContaining('post_card: Teams says the workflow no longer exists (WorkflowNotFound): it was deleted, or its trigger changed.');
      expect(alert!.json).toMatchObject({ type: 'connection.broken', data: { connection_id: connectionId, connector: 'teams', reason } });
      expect((await api('GET', `/v1/connections/${connectionId}`)).body).toMatchObject({ status: 'broken', lastError: reason });

      await publish(api, reviewCreated({ title: 'Second' }));
      let parked: Json[] = [];
      await waitUntil(async () => {
        parked = (await api('GET', `/v1/dead-letters?subscriptionId=${integrationId}`)).body['data'] as Json[];
        return parked.length === 2;
      });
      for (const letter of parked) expect(letter).toMatchObject({ reason: 'connection_broken', lastError: expect.stringContaining('(WorkflowNotFound)') });
      // Only the health check and the first event reached Teams.
      expect(teams.answersFor(workflow).map((a) => a.status)).toEqual([404, 404]);

      const replacement = teams.createWorkflow();
      expect((await api('PATCH', `/v1/connections/${connectionId}`, { credentials: { webhook_url: replacement } })).body).toMatchObject({ status: 'active', lastError: null });
      await waitUntil(() => teams.cardsFor(replacement).length === 2);
      // Each card's texts: header, stars, rating, then the title.
      expect(teams.cardsFor(replacement).map((c) => texts(c)[3]).sort()).toEqual(['First', 'Second']);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(alerts.requests).toHaveLength(1);
    } finally {
      await alerts.close();
    }
  });

  it('marks the link broken while the workflow is turned off (409), saying to turn it on; the same URL, given again, delivers what was parked', async () => {
    const { api, workflow, connectionId } = await linked(['review.moderated']);
    teams.setEnabled(workflow, false);
    await publish(api, { type: 'review.moderated', data: { id: id('rev'), business_id: id('biz'), action: 'approved', moderated_at: '2026-11-03T10:00:00Z' } });
    let connection: Json = {};
    await waitUntil(async () => {
      connection = (await api('GET', `/v1/connections/${connectionId}`)).body;
      return connection['status'] === 'broken';
    });
    expect(connection['lastError']).toContain('Teams says the workflow is turned off (WorkflowTriggerIsNotEnabled). Turn it on in the Teams Workflows app');
    expect(teams.answersFor(workflow).map((a) => a.status)).toEqual([409]);

    teams.setEnabled(workflow, true);
    expect((await api('PATCH', `/v1/connections/${connectionId}`, { credentials: { webhook_url: workflow } })).body).toMatchObject({ status: 'active' });
    await waitUntil(() => teams.cardsFor(workflow).length === 1);
    expect(teams.answersFor(workflow).map((a) => a.status)).toEqual([409, 202]);
  });

  it('marks the link broken when the workflow URL lost its signature (401), saying to copy it again', async () => {
    const api = await tenantApi(th);
    const workflow = teams.createWorkflow();
    const unsigned = workflow.replace(/&sig=[^&]*/, '');
    const connection = await api('POST', '/v1/connections', { connector: 'teams', credentials: { webhook_url: unsigned } });
    const connectionId = String(connection.body['id']);
    const refused = "Teams refused the workflow URL's signature (DirectApiAuthorizationRequired): the URL was copied incompletely";
    expect((await api('POST', `/v1/connections/${connectionId}/check`)).body).toMatchObject({ ok: false, status: 401, error: expect.stringContaining(refused) });
    expect((await api('POST', '/v1/integrations', { connection: connectionId, events: ['review.created'] })).status).toBe(201);
    await publish(api, reviewCreated());
    await waitUntil(async () => (await api('GET', `/v1/connections/${connectionId}`)).body['status'] === 'broken');
    expect((await api('GET', `/v1/connections/${connectionId}`)).body['lastError']).toContain(refused);
    expect(teams.runsFor(workflow)).toEqual([]);
  });
});

describe('the Teams emulator follows the Workflows webhook contract', () => {
  const card = { type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: 'Hello', wrap: true }] };
  const message = (attachment: Json = {}): Json => ({ type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card, ...attachment }] });
  const post = (url: string, body: unknown, contentType = 'application/json'): Promise<Response> => fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  it('takes an Adaptive Card with 202 Accepted and no body, then the run posts it', async () => {
    const workflow = teams.createWorkflow();
    const res = await post(workflow, message());
    expect([res.status, await res.text()]).toEqual([202, '']);
    await waitUntil(() => teams.runsFor(workflow).length === 1);
    expect(teams.cardsFor(workflow)).toEqual([card]);
  });

  it.each([
    ['another attachment type (a hero card)', message({ contentType: 'application/vnd.microsoft.card.hero' }), 'Value "application/vnd.microsoft.card.hero" is not defined in enum.'],
    ['an attachment without contentUrl', { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: card }] }, 'Required properties are missing from object: contentUrl.'],
    ["an Office 365 connector's message card", { '@type': 'MessageCard', '@context': 'https://schema.org/extensions', text: 'Hi' }, 'Required properties are missing from object: attachments.'],
    ['a card without the envelope', card, 'Value "AdaptiveCard" is not defined in enum.'],
  ])('refuses %s with 400 TriggerInputSchemaMismatch', async (_what, body, details) => {
    const workflow = teams.createWorkflow();
    const res = await post(workflow, body);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: 'TriggerInputSchemaMismatch', message: `The input body for trigger 'manual' of type 'Request' did not match its schema definition. Error details: '${details}'.` } });
    expect(teams.runsFor(workflow)).toEqual([]);
  });

  it('refuses a body that is not sent as JSON', async () => {
    const workflow = teams.createWorkflow();
    const res = await post(workflow, JSON.stringify(message()), 'application/x-www-form-urlencoded');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('TriggerInputSchemaMismatch');
  });

  it('takes a message over 28 KB (202), whose run then fails with Request Entity too large and posts nothing', async () => {
    const workflow = teams.createWorkflow();
    const big = { ...card, body: [{ type: 'TextBlock', text: 'x'.repeat(MAX_MESSAGE_BYTES), wrap: true }] };
    expect((await post(workflow, message({ content: big }))).status).toBe(202);
    await waitUntil(() => teams.runsFor(workflow).length === 1);
    expect(teams.runsFor(workflow)[0]).toMatchObject({ status: 'Failed', error: expect.stringContaining('RequestEntityTooLarge'), cards: [] });
  });

  it('fails the run of a card Teams cannot render: a version above 1.5, or one not valid against the Adaptive Card schema', async () => {
    const workflow = teams.createWorkflow();
    expect((await post(workflow, message({ content: { ...card, version: '1.6' } }))).status).toBe(202);
    expect((await post(workflow, message({ content: { ...card, body: [{ type: 'TextBlock', txt: 'typo' }] } }))).status).toBe(202);
    await waitUntil(() => teams.runsFor(workflow).length === 2);
    const [tooNew, invalid] = teams.runsFor(workflow);
    expect(tooNew).toMatchObject({ status: 'Failed', error: expect.stringContaining('version 1.6 is not one Teams renders') });
    expect(invalid).toMatchObject({ status: 'Failed', error: expect.stringContaining('not a valid Adaptive Card 1.5: $/body/0') });
    expect(invalid!.error).toContain('$/body/0 must NOT have additional properties (txt)');
  });

  it('throttles past four requests a second with 429 and Retry-After', async () => {
    const workflow = teams.createWorkflow();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await post(workflow, message());
      statuses.push(res.status);
      if (res.status === 429) expect(res.headers.get('retry-after')).toBe('1');
    }
    expect(statuses).toEqual([202, 202, 202, 202, 429]);
  });

  it('answers 401 for a wrong signature and 404 for an unknown workflow', async () => {
    const workflow = teams.createWorkflow();
    const wrong = await post(workflow.replace(/sig=[^&]*/, 'sig=forged'), message());
    expect([wrong.status, ((await wrong.json()) as { error: { code: string } }).error.code]).toEqual([401, 'DirectApiInvalidAuthorizationSignature']);
    const unknown = await post(workflow.replace(/workflows\/[0-9a-f]{32}/, `workflows/${'0'.repeat(32)}`), message());
    expect([unknown.status, ((await unknown.json()) as { error: { code: string } }).error.code]).toEqual([404, 'WorkflowNotFound']);
  });
});
