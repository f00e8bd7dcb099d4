import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../support/local-server';
import { waitUntil } from '../support/receiver';
import { businessCreated, hubPerFile } from '../support/test-hub';
import { signPayload } from '../../src/transport/signing';
import { entryArgs } from '../support/entry';

/** `hookhub events inspect`, `hookhub verify`, `hookhub endpoints validate` and `hookhub listen --json`, each run as a user runs it. */
type Json = Record<string, unknown>;

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const hub = hubPerFile();

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

let dir: string;
let apiKey: string;
let env: Record<string, string>;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'hh-tools-'));
  apiKey = await hub.th.keyForTenant(`tools${Date.now().toString(36)}`);
  env = { PATH: process.env['PATH'] ?? '', HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'config') };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(args: string[], input?: string): Promise<CliResult> {
  const child = run(process.execPath, [...entryArgs('cli/index'), ...args], { cwd: ROOT, env });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  } else {
    child.child.stdin?.end();
  }
  try {
    const { stdout, stderr } = await child;
    return { code: 0, stdout: String(stdout), stderr: String(stderr) };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: String(e.stdout), stderr: String(e.stderr) };
  }
}

const flags = (): string[] => ['--url', hub.th.hub.url, '--api-key', apiKey];
const api = (method: string, route: string, body?: unknown): Promise<{ status: number; body: Json }> => hub.th.api<Json>(method, route, body, apiKey);
const file = (name: string, value: unknown): string => {
  const p = path.join(dir, name);
  writeFileSync(p, typeof value === 'string' ? value : JSON.stringify(value));
  return p;
};

it('`hookhub events inspect` prints each subscription\'s verdict and the request a match gets; --json the API\'s answer; exit 1 for an invalid event', async () => {
  const r = await hub.receiver();
  const matching = await api('POST', '/v1/subscriptions', { endpointUrl: `${r.url}/austin`, events: ['business.created'], filters: [{ field: 'data.address.city', operator: 'equals', value: 'Austin' }] });
  const other = await api('POST', '/v1/subscriptions', { endpointUrl: `${r.url}/reviews`, events: ['review.created'] });
  const eventFile = file('event.json', businessCreated({ id: 'evt_cli_inspect' }));

  const dataOnly = file('data.json', { name: 42 });
  const [text, json, invalid] = await Promise.all([
    cli(['events', 'inspect', eventFile, ...flags()]),
    cli(['events', 'inspect', eventFile, '--json', ...flags()]),
    cli(['events', 'inspect', dataOnly, '--type', 'business.created', ...flags()]),
  ]);
  expect(text).toMatchObject({ code: 0, stderr: '' });
  expect(text.stdout).toMatch(/^valid {2}business\.created {2}evt_cli_inspect {2}matches 1 of 2 subscriptions$/m);
  expect(text.stdout).toContain(`✓ ${String(matching.body['id'])}  ${r.url}/austin  matches`);
  expect(text.stdout).toContain(`    POST ${r.url}/austin`);
  expect(text.stdout).toMatch(/^ {4}webhook-signature: v1,\S+$/m);
  expect(text.stdout).toContain(`✗ ${String(other.body['id'])}  ${r.url}/reviews  no match (event_type)\n    It listens to review.created, not to business.created.`);

  expect(json.code).toBe(0);
  const parsed = JSON.parse(json.stdout) as { valid: boolean; subscriptions: Json[] };
  expect(parsed.valid).toBe(true);
  expect(parsed.subscriptions.find((s) => s['id'] === matching.body['id'])).toMatchObject({ matched: true, request: { url: `${r.url}/austin` } });

  expect(invalid.code).toBe(1);
  expect(invalid.stdout).toMatch(/^invalid {2}\(invalid_data\)/);
  expect(invalid.stdout).toMatch(/^ {2}\/data\/name +/m);
  expect(r.requests).toEqual([]);
});

describe('`hookhub verify`', () => {
  const secret = `whsec_${Buffer.from('a secret of thirty-two bytes!!!!').toString('base64')}`;
  const body = '{"id":"evt_1","type":"business.created","data":{}}';

  it('verifies a raw HTTP request from stdin, cut to its Content-Length', async () => {
    const headers = signPayload('msg_1', Math.floor(Date.now() / 1000), body, [secret]);
    const raw = ['POST /webhooks HTTP/1.1', 'Host: localhost:4000', 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', `${body}\n`].join('\r\n');
    const ok = await cli(['verify', '--secret', secret], raw);
    expect(ok).toMatchObject({ code: 0, stderr: '' });
    expect(ok.stdout).toMatch(/^verified {2}msg_1\n {2}✓ body\n {2}✓ key\n {2}✓ headers\n {2}✓ timestamp\n {2}✓ signature\n/);
  });

  it('says which check failed, with the signature expected for the secret given (JSON input, --json)', async () => {
    const other = `whsec_${Buffer.from('another secret of thirty-two b!!').toString('base64')}`;
    const headers = signPayload('msg_2', Math.floor(Date.now() / 1000), body, [other]);
    const captured = JSON.stringify({ headers, body });
    const stale = signPayload('msg_3', Math.floor(Date.now() / 1000) - 900, body, [secret]);
    const staleFile = file('stale.json', { headers: stale, body });
    const [text, json, old, tolerant, garbage] = await Promise.all([
      cli(['verify', '--secret', secret], captured),
      cli(['verify', '--secret', secret, '--json'], captured),
      cli(['verify', '--secret', secret, '--file', staleFile]),
      cli(['verify', '--secret', secret, '--tolerance', '1000', '--file', staleFile]),
      cli(['verify', '--secret', secret], 'hello there'),
    ]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('not verified  invalid_signature: No v1 signature in webhook-signature matches this body with this key.');
    expect(text.stdout).toContain('  ✗ signature');
    expect(text.stdout).toMatch(/^ {2}expected {3}v1,\S+$/m);

    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: false, failure: { check: 'signature', code: 'invalid_signature' }, receivedSignatures: [headers['webhook-signature']], expectedSignature: expect.stringMatching(/^v1,/) });

    expect(old.code).toBe(1);
    expect(old.stdout).toContain('not verified  timestamp_too_old');
    expect(old.stdout).toContain('  · signature  (not checked)');
    expect(tolerant.code).toBe(0);
    expect(garbage.code).toBe(2);
    expect(garbage.stderr).toContain('neither JSON nor a raw HTTP request');
  });
});

it('`hookhub endpoints validate` prints the check; exit 1 when deliveries would fail', async () => {
  const r = await hub.receiver();
  const [ok, down] = await Promise.all([
    cli(['endpoints', 'validate', `${r.url}/hooks`, ...flags()]),
    freePort().then((port) => cli(['endpoints', 'validate', `http://127.0.0.1:${port}/hooks`, '--json', ...flags()])),
  ]);
  expect(ok).toMatchObject({ code: 0, stderr: '' });
  expect(ok.stdout).toMatch(new RegExp(`^ok {2}${r.url}/hooks\\n {2}reachable {3}yes \\(127\\.0\\.0\\.1; connected in \\d+ ms\\)\\n {2}test POST {3}200 in \\d+ ms, signed with a throwaway secret\\n {2}warning {2}The endpoint uses plain http`));

  expect(down.code).toBe(1);
  expect(JSON.parse(down.stdout)).toMatchObject({ reachable: false, issues: [expect.objectContaining({ code: 'plain_http' }), expect.objectContaining({ code: 'connection_refused' })] });
});

it('`hookhub listen --json` prints one JSON line for the ready relay and one per delivery', async () => {
  const local = await hub.receiver();
  const child = spawn(process.execPath, [...entryArgs('cli/index'), 'listen', '--json', '--forward-to', `${local.url}/webhooks`, '--events', 'business.created', ...flags()], { cwd: ROOT, env });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  try {
    const lines = (): Json[] => stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Json);
    await waitUntil(() => lines().length >= 1, 30_000, () => `no ready line: ${stdout}`);
    expect(lines()[0]).toEqual({ type: 'ready', relayId: expect.stringMatching(/^rly_/), events: ['business.created'], forwardTo: `${local.url}/webhooks`, secret: expect.stringMatching(/^whsec_/) });
    const published = await api('POST', '/v1/events', businessCreated());
    await waitUntil(() => lines().length >= 2, 30_000, () => `no delivery line: ${stdout}`);
    expect(lines()[1]).toEqual({
      type: 'delivery',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      webhookId: expect.stringMatching(/^msg_/),
      eventId: published.body['id'],
      eventType: 'business.created',
      attempt: 1,
      status: 200,
      durationMs: expect.any(Number),
      error: null,
    });
  } finally {
    child.kill('SIGINT');
    await new Promise((resolve) => child.once('exit', resolve));
  }
});
