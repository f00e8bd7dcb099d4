import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../../src/core/ids';
import { killCliProcesses, startCliProcess } from '../support/cli-process';
import type { CliProcess } from '../support/cli-process';
import { freePort, listenLocal } from '../support/local-server';
import type { LocalServer } from '../support/local-server';
import { waitUntil } from '../support/receiver';
import { startTestHub } from '../support/test-hub';
import type { TestHub, TestHubOptions } from '../support/test-hub';

jest.setTimeout(120_000);

const PUBLIC_URL = 'https://hooks.example.test';

/** A `hookhub tunnel` process with its public URL once ready, and that URL's path on the hub under test. */
interface TunnelProcess extends CliProcess {
  url: string;
  tunnelId: string;
  /** `/t/<token>/`: the public URL's path, to call on the hub's own address. */
  prefix: string;
}

/** What a local app received. */
interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A response as the caller of the public URL got it. */
interface Called {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  killCliProcesses();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function hub(options: TestHubOptions = {}): Promise<TestHub> {
  const th = await startTestHub({ mode: 'embedded', ...options, env: { HOOKHUB_PUBLIC_URL: PUBLIC_URL, ...options.env } });
  cleanups.push(() => (options.reuse ? th.stop() : th.destroy()));
  return th;
}

function startTunnel(th: TestHub, apiKey: string, to: string, ...args: string[]): CliProcess {
  return startCliProcess(['tunnel', '--url', th.hub.url, '--api-key', apiKey, '--to', to, ...args]);
}

async function tunnel(th: TestHub, apiKey: string, to: string, ...args: string[]): Promise<TunnelProcess> {
  const cli = startTunnel(th, apiKey, to, ...args);
  const human = /Forwarding (https:\/\/hooks\.example\.test(\/t\/[\w-]{22}\/)) → [^\n]*\nTunnel (tun_\w+)/;
  // With --json, the first line is {"type": "ready", "url", "tunnelId", "to"}.
  const json = /^\{"type":"ready","url":"(https:\/\/hooks\.example\.test(\/t\/[\w-]{22}\/))","tunnelId":"(tun_\w+)"/;
  let ready: RegExpExecArray | null = null;
  await waitUntil(() => (ready = (args.includes('--json') ? json : human).exec(cli.stdout())) !== null, 60_000, () => `tunnel never got ready: ${cli.stdout()} ${cli.stderr()}`);
  const [, url, prefix, tunnelId] = ready as unknown as [string, string, string, string];
  return { ...cli, url, prefix, tunnelId };
}

/** A local app that records each request and answers as `respond` says (after its delay). */
async function localApp(respond: (req: Received) => { status?: number; headers?: Record<string, string | string[]>; body?: Buffer | string; delayMs?: number } = () => ({})): Promise<LocalServer & { received: Received[] }> {
  const received: Received[] = [];
  const server = await listenLocal((req, _text, res, raw) => {
    const request = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: raw };
    received.push(request);
    const answer = respond(request);
    setTimeout(() => {
      res.writeHead(answer.status ?? 200, answer.headers ?? {});
      res.end(answer.body ?? '');
    }, answer.delayMs ?? 0).unref();
  });
  cleanups.push(() => server.close());
  return { ...server, received };
}

/** A request to the hub with exactly these headers (Connection included, which fetch does not let one set). */
function call(base: string, path: string, options: { method?: string; headers?: Record<string, string>; body?: Buffer } = {}): Promise<Called> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method: options.method ?? 'GET', headers: options.headers ?? {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const errorOf = (called: Called): { code: string; message: string } => (JSON.parse(called.body.toString('utf8')) as { error: { code: string; message: string } }).error;

it('forwards method, path below the prefix, query, headers and a binary body both ways; drops hop-by-hop headers, adds X-Forwarded-*; prints a line per request', async () => {
  const th = await hub();
  const reply = randomBytes(4096);
  const local = await localApp(() => ({
    status: 201,
    headers: { 'content-type': 'application/octet-stream', 'set-cookie': ['a=1', 'b=2'], 'x-local': 'yes', connection: 'x-local-hop', 'x-local-hop': 'dropped', 'keep-alive': 'timeout=99' },
    body: reply,
  }));
  const cli = await tunnel(th, th.apiKey, `${local.url}/base`);
  expect(cli.url).toBe(`${PUBLIC_URL}${cli.prefix}`);

  const sent = randomBytes(70_000);
  const answered = await call(th.hub.url, `${cli.prefix}hooks/in?a=1&b=two%20words`, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream', 'x-custom': 'kept', connection: 'keep-alive, x-caller-hop', 'x-caller-hop': 'dropped', 'keep-alive': 'timeout=5', 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'http' },
    body: sent,
  });
  expect(answered.status).toBe(201);
  expect(answered.body.equals(reply)).toBe(true);
  expect(answered.headers['set-cookie']).toEqual(['a=1', 'b=2']);
  expect(answered.headers['x-local']).toBe('yes');
  expect(answered.headers['x-local-hop']).toBeUndefined();
  // (The hub's own connection to the caller may have its Keep-Alive; the local app's is not passed on.)
  expect(answered.headers['keep-alive']).not.toBe('timeout=99');

  const [got] = local.received;
  expect(got?.method).toBe('PUT');
  expect(got?.url).toBe('/base/hooks/in?a=1&b=two%20words');
  expect(got?.body.equals(sent)).toBe(true);
  expect(got?.headers).toMatchObject({ 'content-type': 'application/octet-stream', 'x-custom': 'kept', 'content-length': String(sent.length) });
  expect(got?.headers['x-caller-hop']).toBeUndefined();
  expect(got?.headers['keep-alive']).toBeUndefined();
  expect(got?.headers['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
  expect(got?.headers['x-forwarded-proto']).toBe('https');
  expect(got?.headers['x-forwarded-host']).toBe(new URL(th.hub.url).host);

  // A bare GET of the prefix itself reaches the local URL's base path.
  expect((await call(th.hub.url, cli.prefix.slice(0, -1))).status).toBe(201);
  expect(local.received[1]).toMatchObject({ method: 'GET', url: '/base/' });
  await waitUntil(() => /\d\d:\d\d:\d\d {2}PUT \/hooks\/in\?a=1&b=two%20words {2}→ 201 {2}\d+ ms/.test(cli.stdout()) && /GET \/ {2}→ 201/.test(cli.stdout()), 10_000, () => cli.stdout());
});

it('answers 20 concurrent requests with different delays, each with its own local response', async () => {
  const th = await hub();
  const local = await localApp((req) => ({ status: 200, body: `answer to ${req.url}`, delayMs: Number(new URL(req.url, 'http://x').searchParams.get('delay')) }));
  const cli = await tunnel(th, th.apiKey, local.url, '--json');
  const delays = Array.from({ length: 20 }, (_, i) => ((i * 7) % 20) * 50);
  const answers = await Promise.all(delays.map((delay, i) => call(th.hub.url, `${cli.prefix}n/${i}?delay=${delay}`, { method: 'POST', body: Buffer.from(`request ${i}`) })));
  answers.forEach((answer, i) => {
    expect(answer.status).toBe(200);
    expect(answer.body.toString()).toBe(`answer to /n/${i}?delay=${delays[i]}`);
  });
  expect(local.received.map((r) => r.body.toString()).sort()).toEqual(delays.map((_, i) => `request ${i}`).sort());
  // --json: one record per request, for scripts.
  await waitUntil(() => cli.stdout().trim().split('\n').length === 21);
  const records = cli.stdout().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(records[0]).toMatchObject({ type: 'ready', tunnelId: cli.tunnelId });
  expect(records.slice(1).every((r) => r['type'] === 'request' && r['method'] === 'POST' && r['status'] === 200 && typeof r['durationMs'] === 'number')).toBe(true);
}, 120_000);

it('a client killed mid-request: the pending request gets 502 at once, later ones 502 saying to run hookhub tunnel; an unknown URL 404', async () => {
  const th = await hub();
  let localAnswered = false;
  const local = await localApp(() => ({ delayMs: 20_000 }));
  cleanups.push(async () => void (localAnswered = true));
  const cli = await tunnel(th, th.apiKey, local.url);
  const pending = call(th.hub.url, `${cli.prefix}slow`, { method: 'POST', body: Buffer.from('x') });
  await waitUntil(() => local.received.length === 1);
  cli.child.kill('SIGKILL');
  const answered = await pending;
  expect(localAnswered).toBe(false);
  expect(answered.status).toBe(502);
  expect(errorOf(answered)).toMatchObject({ code: 'tunnel_client_disconnected', message: expect.stringContaining('disconnected before the local app answered') });

  let later: Called | null = null;
  await waitUntil(async () => (later = await call(th.hub.url, `${cli.prefix}again`)).status === 502 && errorOf(later).code === 'tunnel_not_connected');
  expect(errorOf(later as unknown as Called).message).toContain('Run `hookhub tunnel --to <local URL>`');

  const unknown = await call(th.hub.url, `/t/${randomBytes(16).toString('base64url')}/x`);
  expect(unknown.status).toBe(404);
  expect(errorOf(unknown).code).toBe('tunnel_not_found');
});

it('a local app slower than HOOKHUB_TUNNEL_TIMEOUT_MS: 504; past the tunnel\'s rate limit: 429 with Retry-After', async () => {
  const th = await hub({ env: { HOOKHUB_TUNNEL_TIMEOUT_MS: '500', HOOKHUB_TUNNEL_RATE_LIMIT: '3' } });
  const local = await localApp((req) => ({ delayMs: req.url === '/slow' ? 5000 : 0 }));
  const cli = await tunnel(th, th.apiKey, local.url);
  const slow = await call(th.hub.url, `${cli.prefix}slow`);
  expect(slow.status).toBe(504);
  expect(errorOf(slow)).toMatchObject({ code: 'tunnel_timeout', message: expect.stringContaining('did not answer within 0.5 s') });

  const statuses: number[] = [];
  let refused: Called | null = null;
  for (let i = 0; i < 4; i += 1) {
    const answer = await call(th.hub.url, `${cli.prefix}fast`);
    statuses.push(answer.status);
    if (answer.status === 429) refused = answer;
  }
  // Three a minute: the slow one and two fast ones are taken (unless the minute turned meanwhile), then 429.
  expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(1);
  expect(errorOf(refused as unknown as Called).code).toBe('rate_limited');
  expect(Number((refused as unknown as Called).headers['retry-after'])).toBeGreaterThanOrEqual(1);
});

it('lists and closes tunnels through the API, audited, for its own tenant only; the closed URL answers 404 and the CLI exits 1', async () => {
  const th = await hub();
  const acme = await th.keyForTenant('acme');
  const globex = await th.keyForTenant('globex');
  const local = await localApp();
  const cli = await tunnel(th, acme, local.url);

  const listed = await th.api('GET', '/v1/tunnels', undefined, acme);
  expect(listed.status).toBe(200);
  expect(listed.body['data']).toEqual([expect.objectContaining({ id: cli.tunnelId, target: `${local.url}/`, connected: true, keepSeconds: 600 })]);
  expect(JSON.stringify(listed.body)).not.toContain(cli.prefix.slice(3, -1));
  expect((await th.api('GET', '/v1/tunnels', undefined, globex)).body['data']).toEqual([]);
  expect((await th.api('DELETE', `/v1/tunnels/${cli.tunnelId}`, undefined, globex)).status).toBe(404);
  expect((await call(th.hub.url, cli.prefix)).status).toBe(200);

  expect((await th.api('DELETE', `/v1/tunnels/${cli.tunnelId}`, undefined, acme)).status).toBe(204);
  expect(await cli.exited).toBe(1);
  expect(cli.stderr()).toContain('tunnel_closed: The tunnel was closed through the API');
  const closed = await call(th.hub.url, cli.prefix);
  expect(closed.status).toBe(404);
  expect(errorOf(closed).code).toBe('tunnel_not_found');
  expect((await th.api('GET', '/v1/tunnels', undefined, acme)).body['data']).toEqual([]);

  let actions: string[] = [];
  await waitUntil(async () => (actions = (await th.hub.store.listAuditEntries('acme', { limit: 10 })).data.map((e) => `${e.action} ${e.resourceId}`)).length === 2);
  expect(actions).toEqual([`tunnel.close ${cli.tunnelId}`, `tunnel.open ${cli.tunnelId}`]);
});

it('HOOKHUB_TUNNELS=false: the CLI exits 2 saying so, the routes answer 503; a key without tunnels:write: exit 2', async () => {
  const off = await hub({ env: { HOOKHUB_TUNNELS: 'false' } });
  const refused = startTunnel(off, off.apiKey, 'http://127.0.0.1:9');
  expect(await refused.exited).toBe(2);
  expect(refused.stderr()).toContain('tunnels_disabled: Tunnels (hookhub tunnel) are turned off on this hub (HOOKHUB_TUNNELS=false)');
  const listed = await off.api('GET', '/v1/tunnels');
  expect(listed.status).toBe(503);
  expect((listed.body as { error: { code: string } }).error.code).toBe('tunnels_disabled');
  expect((await call(off.hub.url, '/t/anything/')).status).toBe(503);

  const on = await hub();
  const readOnly = `hh_ro_${randomBytes(12).toString('hex')}`;
  await on.hub.store.upsertApiKey({ id: 'key_ro', hash: sha256Hex(readOnly), tenantId: 'acme', name: 'ro', scopes: ['subscriptions:read'], createdAt: new Date() });
  const unscoped = startTunnel(on, readOnly, 'http://127.0.0.1:9');
  expect(await unscoped.exited).toBe(2);
  expect(unscoped.stderr()).toContain('insufficient_scope: This key lacks the scope tunnels:write');
});

it('with RabbitMQ and MongoDB: a request on a process without the client gets 502 saying so; after a restart the client reconnects and keeps its URL', async () => {
  const port = String(await freePort());
  const first = await hub({ mode: 'services', env: { PORT: port } });
  const reuse = { prefix: first.prefix, database: first.database, encryptionKey: first.env['HOOKHUB_ENCRYPTION_KEY'] ?? '' };
  const other = await hub({ mode: 'services', reuse });
  const local = await localApp(() => ({ body: 'local' }));
  const cli = await tunnel(first, first.apiKey, local.url);
  expect((await call(first.hub.url, `${cli.prefix}x`)).body.toString()).toBe('local');

  const elsewhere = await call(other.hub.url, `${cli.prefix}x`);
  expect(elsewhere.status).toBe(502);
  expect(errorOf(elsewhere)).toMatchObject({ code: 'tunnel_on_other_process', message: expect.stringContaining('connected to another process of this hub') });

  await first.stop();
  const restarted = await hub({ mode: 'services', reuse, env: { PORT: port } });
  await waitUntil(() => cli.stderr().includes(`reconnected to tunnel ${cli.tunnelId} (same URL)`), 30_000, () => cli.stderr());
  const again = await call(restarted.hub.url, `${cli.prefix}after-restart`);
  expect(again.status).toBe(200);
  expect(again.body.toString()).toBe('local');
  expect(local.received.at(-1)?.url).toBe('/after-restart');
});
