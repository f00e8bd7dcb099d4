import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../support/local-server';
import { startPipedriveHub } from '../support/pipedrive-hub';
import type { PipedriveHub } from '../support/pipedrive-hub';
import type { OAuthServer } from '../support/oauth/oauth-server';
import type { TestHub } from '../support/test-hub';
import { entryArgs } from '../support/entry';

/**
 * `hookhub connectors check <connection-id>` as an operator runs it: a separate process talking
 * over HTTP to a running hub (RabbitMQ, FerretDB), about Pipedrive links made through the local
 * OAuth server, one of them granted without leads:full.
 */
type Json = Record<string, unknown>;

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');

let hub: PipedriveHub;
let oauth: OAuthServer;
let th: TestHub;
let apiKey: string;

beforeAll(async () => {
  hub = await startPipedriveHub();
  ({ oauth, th } = hub);
  apiKey = await th.keyForTenant('tcli');
});

afterAll(async () => {
  await hub?.stop();
});

/** Links a Pipedrive account whose app registration grants `scope`; the connection id. */
async function linkPipedrive(scope: string): Promise<string> {
  const authorize = await th.api('POST', '/v1/connections/authorize', { connector: 'pipedrive' }, apiKey);
  expect(authorize.status).toBe(201);
  const start = await fetch(String(authorize.body['authorizationUrl']), { redirect: 'manual' });
  const cookie = (start.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const providerUrl = new URL(start.headers.get('location') ?? '');
  providerUrl.searchParams.set('scope', scope);
  const { redirectedTo } = await oauth.authorize(providerUrl.toString());
  const done = (await (await fetch(redirectedTo, { headers: { cookie, accept: 'application/json' }, redirect: 'manual' })).json()) as Json;
  expect(done).toMatchObject({ status: 'linked' });
  return String(done['connection']);
}

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI in its own process, with only PATH and the given variables in its environment. */
async function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...entryArgs('cli/index'), 'connectors', 'check', ...args], { cwd: ROOT, env: { PATH: process.env['PATH'] ?? '', ...env } });
    return { code: 0, stdout: String(stdout), stderr: String(stderr) };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: String(e.stdout), stderr: String(e.stderr) };
  }
}

describe('hookhub connectors check', () => {
  it('names the scope a link was granted without and exits 1; with everything granted says nothing is missing and exits 0', async () => {
    const [lacking, complete] = [await linkPipedrive('base contacts:full'), await linkPipedrive('base contacts:full leads:full')];

    const missing = await cli([lacking, '--url', th.hub.url], { HOOKHUB_API_KEY: apiKey });
    expect(missing).toMatchObject({ code: 1, stderr: '' });
    expect(missing.stdout).toContain(`Connection ${lacking}: the linked account lacks one thing the connector needs:`);
    expect(missing.stdout).toMatch(/^ {2}missing {4}scopes {2}.*did not grant leads:full/m);
    expect(missing.stdout).toMatch(/^Health check: ok \(HTTP 200, \d+ ms\)\.$/m);

    const json = await cli([lacking, '--url', th.hub.url, '--api-key', apiKey, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, requirements: { missing: [{ name: 'scopes', message: expect.stringContaining('leads:full') }], unchecked: [] } });

    const fine = await cli([complete, '--url', th.hub.url, '--api-key', apiKey]);
    expect(fine).toMatchObject({ code: 0, stderr: '' });
    expect(fine.stdout).toContain(`Connection ${complete}: nothing missing`);
  });

  it("exits 1 for an unknown connection and 2 on other HTTP errors, with the API's code and message, and with what to do on a usage error", async () => {
    const unknown = await cli(['con_nope', '--url', th.hub.url, '--api-key', apiKey]);
    expect(unknown).toMatchObject({ code: 1, stdout: '' });
    expect(unknown.stderr).toBe('hookhub: error: connection_not_found (HTTP 404): No connection with id "con_nope" exists for this tenant.\n');

    const badKey = await cli(['con_nope', '--url', th.hub.url, '--api-key', 'hh_wrong']);
    expect(badKey.code).toBe(2);
    expect(badKey.stderr).toMatch(/^hookhub: error: \w+ \(HTTP 401\): .*\nCheck the API key/);

    const noKey = await cli(['con_nope', '--url', th.hub.url], { XDG_CONFIG_HOME: '/nonexistent' });
    expect(noKey).toMatchObject({ code: 2, stderr: expect.stringContaining('set HOOKHUB_API_KEY or pass --api-key <key>') });

    const closed = await cli(['con_nope', '--url', `http://127.0.0.1:${await freePort()}`, '--api-key', apiKey]);
    expect(closed).toMatchObject({ code: 2, stderr: expect.stringContaining('could not reach the hub at http://127.0.0.1:') });

    const noId = await cli(['--api-key', apiKey]);
    expect(noId).toMatchObject({ code: 2, stderr: expect.stringContaining("missing required argument 'connection-id'") });
  });
});
