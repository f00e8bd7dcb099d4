import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadManifest } from '../../src/connectors/loader';
import type { LoadedConnector, ManifestProblem } from '../../src/connectors/loader';
import { ConnectorRuntime } from '../../src/connectors/runtime';
import { ConnectionChecks } from '../../src/integrations/connection-checks';
import type { ConnectionContext, RunResult } from '../../src/connectors/runtime';
import type { OutgoingRequest } from '../../src/connectors/hooks';
import type { HttpResult } from '../../src/transport/http-sender';

/**
 * What a manifest can say about an API's answers and requests, run through the compiler and the
 * runtime as the hub runs them: each manifest is written to a temp dir, loaded, and run against
 * canned answers.
 */
const root = mkdtempSync(path.join(os.tmpdir(), 'hh-connector-features-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let count = 0;
/** Writes a manifest (the common head plus `rest`) and loads it. */
function load(rest: string): { connector: LoadedConnector | null; problems: ManifestProblem[] } {
  const name = `feat-${++count}`;
  mkdirSync(path.join(root, name));
  const file = path.join(root, name, 'connector.yaml');
  writeFileSync(
    file,
    `name: ${name}
version: 1.0.0
title: Features
description: a connector for one test
auth: { type: webhook_url }
${rest}`,
  );
  const result = loadManifest(file, root);
  return result.ok ? { connector: result.connector, problems: [] } : { connector: null, problems: result.problems };
}

function loaded(rest: string): LoadedConnector {
  const { connector, problems } = load(rest);
  expect(problems).toEqual([]);
  return connector!;
}

const ACTIONS = `actions:
  post:
    method: POST
    url: "{{ $credentials.webhook_url }}"
    body: '{"content": data.name}'
triggers:
  - event: business.created
    actions: [post]
`;

const SECRET_URL = 'https://api.example.com/webhooks/123/s3cr3t-t0ken';
const ctx = (): ConnectionContext => ({ connectionId: 'con_1', config: {}, credentials: { webhook_url: SECRET_URL }, metadata: {} });
const event = { id: 'evt_1', type: 'business.created', version: '1.0', timestamp: '2026-12-01T00:00:00Z', data: { id: 'biz_1', name: 'Cafe' } };

/** Runs the connector once against `answers` (one per request, the last repeated); returns the result and the requests sent. */
async function run(connector: LoadedConnector, answers: Array<Partial<HttpResult> & { json?: unknown }>, webhookId = 'msg_1'): Promise<{ result: RunResult; sent: OutgoingRequest[] }> {
  const sent: OutgoingRequest[] = [];
  const transport = {
    send: async (_action: string, request: OutgoingRequest): Promise<HttpResult> => {
      const a = answers[Math.min(sent.length, answers.length - 1)]!;
      sent.push(request);
      const body = a.json === undefined ? (a.body ?? '') : JSON.stringify(a.json);
      const headers = a.json === undefined ? (a.headers ?? {}) : { 'content-type': 'application/json', ...a.headers };
      return { status: a.status ?? 200, headers, body, durationMs: 1, error: null, errorCode: null };
    },
  };
  const result = await new ConnectorRuntime().run(connector, event, ctx(), { webhookId, triggers: null, transport });
  return { result, sent };
}

describe('errors[].backoff from the response body', () => {
  const connector = (unit = '') =>
    loaded(`${ACTIONS}errors:
  - status: 429
    action: retry
    backoff: { expression: "retry_after"${unit} }
`);

  it.each([
    [1.5, 1500],
    [64.57, 64570],
    ['0.25', 250],
    [0, 0],
  ])('reads %j seconds from the body as %i ms', async (retryAfter, ms) => {
    const { result } = await run(connector(), [{ status: 429, json: { message: 'You are being rate limited.', retry_after: retryAfter, global: false } }]);
    expect(result.outcome).toMatchObject({ kind: 'retry', retryAfterMs: ms });
  });

  it('reads milliseconds when the rule says so', async () => {
    const { result } = await run(connector(', unit: milliseconds'), [{ status: 429, json: { retry_after: 1500.5 } }]);
    expect(result.outcome).toMatchObject({ kind: 'retry', retryAfterMs: 1501 });
  });

  it.each([
    ['a missing', { message: 'slow down' }],
    ['a negative', { retry_after: -1 }],
    ['a non-numeric', { retry_after: 'soon' }],
    ['a date-like', { retry_after: '1.5.2001' }],
    ['an object', { retry_after: { s: 1 } }],
  ])('treats %s value as absent (the subscription’s own schedule), never as a retry at once', async (_what, json) => {
    const { result } = await run(connector(), [{ status: 429, json }]);
    expect(result.outcome).toMatchObject({ kind: 'retry', retryAfterMs: null });
  });

  it('treats a body that is not JSON as absent', async () => {
    const { result } = await run(connector(), [{ status: 429, body: 'Too Many Requests', headers: { 'content-type': 'text/plain' } }]);
    expect(result.outcome).toMatchObject({ kind: 'retry', retryAfterMs: null });
  });

  it('reports a backoff expression that does not parse, at its place', () => {
    const { problems } = load(`${ACTIONS}errors:
  - status: 429
    action: retry
    backoff: { expression: "retry_after +" }
`);
    expect(problems).toEqual([expect.objectContaining({ path: '/errors/0/backoff/expression' })]);
  });

  it('refuses a backoff that gives both a header and an expression', () => {
    const { problems } = load(`${ACTIONS}errors:
  - status: 429
    action: retry
    backoff: { header: Retry-After, expression: "retry_after" }
`);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]!.path).toMatch(/^\/errors\/0\/backoff/);
  });
});

describe("errors[].message with the API's own words", () => {
  const connector = () =>
    loaded(`${ACTIONS}errors:
  - status: 400
    body: "code = 50006"
    action: fail
    message: "Discord refused the message: {{ message }} (code {{ $body.code }}, HTTP {{ $status }})"
  - status: 400
    action: fail
    message: "The API refused the request: {{ $body.error }}"
`);

  it("puts the answer's text in the failure, from the body as input or as $body", async () => {
    const { result } = await run(connector(), [{ status: 400, json: { message: 'Cannot send an empty message', code: 50006 } }]);
    expect(result.outcome).toEqual({ kind: 'fail', reason: 'post: Discord refused the message: Cannot send an empty message (code 50006, HTTP 400)' });
    expect(result.steps[0]!.error).toBe('Discord refused the message: Cannot send an empty message (code 50006, HTTP 400)');
  });

  it("cuts a long answer to 300 characters and collapses its whitespace", async () => {
    const { result } = await run(connector(), [{ status: 400, json: { error: `${'x'.repeat(200)}\n\n${'y'.repeat(500)}` } }]);
    const reason = (result.outcome as { reason: string }).reason;
    expect(reason).toBe(`post: The API refused the request: ${'x'.repeat(200)} ${'y'.repeat(97)}…`);
  });

  it("masks the link's secrets the answer repeats", async () => {
    const { result } = await run(connector(), [{ status: 400, json: { error: `unknown webhook ${SECRET_URL}` } }]);
    const reason = (result.outcome as { reason: string }).reason;
    expect(reason).not.toContain('s3cr3t-t0ken');
    expect(reason).toBe('post: The API refused the request: unknown webhook https://api.example.com/[redacted]');
  });

  it('leaves the placeholder empty when the body is not JSON', async () => {
    const { result } = await run(connector(), [{ status: 400, body: '<html>Bad Request</html>', headers: { 'content-type': 'text/html' } }]);
    expect(result.outcome).toEqual({ kind: 'fail', reason: 'post: The API refused the request:' });
  });

  it('reports a misspelt binding in a message, with a guess', () => {
    const { problems } = load(`${ACTIONS}errors:
  - status: 400
    action: fail
    message: "refused: {{ $bdy.message }}"
`);
    expect(problems).toEqual([expect.objectContaining({ path: '/errors/0/message', message: expect.stringContaining('$body') })]);
  });
});

describe('errors[].action broken', () => {
  it('ends the run as broken with the rule’s message, for the caller to park the link', async () => {
    const connector = loaded(`${ACTIONS}errors:
  - status: 404
    body: "code = 10015"
    action: broken
    message: "The Discord webhook was deleted ({{ message }})"
`);
    const { result } = await run(connector, [{ status: 404, json: { message: 'Unknown Webhook', code: 10015 } }]);
    expect(result.outcome).toEqual({ kind: 'broken', reason: 'post: The Discord webhook was deleted (Unknown Webhook)' });
    // Another 404 is not the dead link: it fails this delivery only.
    const other = await run(connector, [{ status: 404, json: { message: 'Unknown Channel', code: 10003 } }]);
    expect(other.result.outcome).toMatchObject({ kind: 'fail' });
  });
});

describe('actions[].idempotency', () => {
  const connector = () =>
    loaded(`actions:
  create_org:
    method: POST
    url: "{{ $credentials.webhook_url }}/orgs"
    idempotency: { header: Idempotency-Key }
  create_person:
    method: POST
    url: "{{ $credentials.webhook_url }}/people"
    idempotency: { header: Idempotency-Key }
  custom:
    method: POST
    url: "{{ $credentials.webhook_url }}/custom"
    idempotency: { header: X-Request-Id, key: "biz-{{ data.id }}" }
triggers:
  - event: business.created
    actions: [create_org, create_person, custom]
`);
  const keys = async (webhookId: string) => (await run(connector(), [{ status: 201, json: {} }], webhookId)).sent.map((r) => r.headers['idempotency-key'] ?? r.headers['x-request-id']);

  it('sends the same key on every retry of a delivery, a UUID', async () => {
    const first = await keys('msg_a');
    expect(await keys('msg_a')).toEqual(first);
    expect(first[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('never sends one key for two deliveries, nor for two actions of one delivery', async () => {
    const [orgA, personA] = await keys('msg_a');
    const [orgB, personB] = await keys('msg_b');
    expect(new Set([orgA, personA, orgB, personB]).size).toBe(4);
  });

  it('sends the key template when the action gives one', async () => {
    expect((await keys('msg_a'))[2]).toBe('biz-biz_1');
  });
});

describe('what the runtime does, and does not do, as the tutorial says', () => {
  it("adds query parameters after the URL's own, keeps a repeated name, leaves out empty values", async () => {
    const connector = loaded(`actions:
  search:
    method: GET
    url: "https://api.example.com/search?type=lead&q=a%20b"
    query: { page: "2", q: "{{ data.name }}", empty: "{{ data.missing }}" }
    body: null
triggers:
  - event: business.created
    actions: [search]
`);
    const { sent } = await run(connector, [{ status: 200 }]);
    expect(sent[0]!.url).toBe("https://api.example.com/search?type=lead&q=a+b&page=2&q=Cafe");
  });

  it('does not apply settings defaults: the manifest writes its fallback', async () => {
    const connector = loaded(`config:
  type: object
  properties:
    username: { type: string, default: Hookhub }
actions:
  post:
    method: POST
    url: "{{ $credentials.webhook_url }}"
    body: '{"plain": $config.username, "fallback": $exists($config.username) ? $config.username : "Hookhub"}'
triggers:
  - event: business.created
    actions: [post]
`);
    const { sent } = await run(connector, [{ status: 204 }]);
    expect(JSON.parse(sent[0]!.body!)).toEqual({ fallback: 'Hookhub' });
  });

  it('sends a JSON content type with a body unless the action gives one, and none without a body', async () => {
    const connector = loaded(`actions:
  json:
    method: POST
    url: "{{ $credentials.webhook_url }}"
  form:
    method: POST
    url: "{{ $credentials.webhook_url }}"
    headers: { Content-Type: "application/x-www-form-urlencoded" }
    body: '"name=" & data.name'
  none:
    method: POST
    url: "{{ $credentials.webhook_url }}"
    body: null
triggers:
  - event: business.created
    actions: [json, form, none]
`);
    const { sent } = await run(connector, [{ status: 204 }]);
    expect(sent.map((r) => [r.headers['content-type'], r.body])).toEqual([
      ['application/json', JSON.stringify(event)],
      ['application/x-www-form-urlencoded', '"name=Cafe"'],
      [undefined, null],
    ]);
  });

  it('lets a body rule fall through on an answer that is not JSON, and a text test match it', async () => {
    const connector = loaded(`${ACTIONS}errors:
  - status: 404
    body: "code = 10015"
    action: broken
  - status: 404
    body: '$contains($, "Unknown Webhook")'
    action: broken
    message: "matched the text"
  - status: 404
    action: fail
    message: "some other 404"
`);
    const html = await run(connector, [{ status: 404, body: '<html>Not Found</html>', headers: { 'content-type': 'text/html' } }]);
    expect(html.result.outcome).toEqual({ kind: 'fail', reason: 'post: some other 404' });
    const text = await run(connector, [{ status: 404, body: 'Unknown Webhook', headers: { 'content-type': 'text/plain' } }]);
    expect(text.result.outcome).toEqual({ kind: 'broken', reason: 'post: matched the text' });
  });

  it('enforces url_pattern only in production', async () => {
    const withPattern = loadedWithPattern();
    const local = { webhook_url: 'http://127.0.0.1:8080/api/webhooks/1/x' };
    expect(await new ConnectionChecks({ production: false }).all(withPattern, {}, local)).toEqual([]);
    expect(await new ConnectionChecks({ production: true }).all(withPattern, {}, local)).toEqual([
      { path: '/credentials/webhook_url', message: 'must use https' },
      { path: '/credentials/webhook_url', message: expect.stringContaining('does not look like a Features webhook URL') },
    ]);
    expect(await new ConnectionChecks({ production: true }).all(withPattern, {}, { webhook_url: 'https://discord.com/api/webhooks/1/x' })).toEqual([]);
  });

  it("the tutorial's Discord errors and rate_limit block validates", () => {
    const tutorial = readFileSync(path.resolve(__dirname, '../../docs/connectors/write-your-first-connector.md'), 'utf8');
    const block = [...tutorial.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '').find((b) => b.includes('code = 10015'));
    expect(block).toBeDefined();
    loaded(`${ACTIONS}${block!}`);
  });
});

function loadedWithPattern(): LoadedConnector {
  const name = `feat-${++count}`;
  mkdirSync(path.join(root, name));
  const file = path.join(root, name, 'connector.yaml');
  writeFileSync(
    file,
    `name: ${name}
version: 1.0.0
title: Features
description: a connector for one test
auth: { type: webhook_url, url_pattern: "^https://discord\\\\.com/api/webhooks/" }
${ACTIONS}`,
  );
  const result = loadManifest(file, root);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.connector;
}
