import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { hubPerFile } from '../support/test-hub';
import { waitUntil } from '../support/receiver';
import { entryArgs } from '../support/entry';

/**
 * The `hookhub` commands that talk to a running hub (RabbitMQ, FerretDB), each run as a user runs
 * it: its own process, its config dir a scratch directory, only PATH and what a test gives in its
 * environment.
 */
type Json = Record<string, unknown>;

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const hub = hubPerFile();
const receiver = hub.receiver;

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

let home: string;
let apiKey: string;
let env: Record<string, string>;

beforeAll(async () => {
  home = mkdtempSync(path.join(os.tmpdir(), 'hh-hubcli-'));
  apiKey = await hub.th.keyForTenant('hubcli');
  env = { PATH: process.env['PATH'] ?? '', HOME: home, XDG_CONFIG_HOME: path.join(home, 'config') };
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

async function cli(args: string[], extraEnv: Record<string, string> = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...entryArgs('cli/index'), ...args], { cwd: ROOT, env: { ...env, ...extraEnv } });
    return { code: 0, stdout: String(stdout), stderr: String(stderr) };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: String(e.stdout), stderr: String(e.stderr) };
  }
}

const flags = (): string[] => ['--url', hub.th.hub.url, '--api-key', apiKey];
const api = (method: string, route: string, body?: unknown): Promise<{ status: number; body: Json }> => hub.th.api<Json>(method, route, body, apiKey);

describe('hookhub as a client of a running hub', () => {
  it('login checks the key and stores it 0600 in a 0700 dir, later commands use it, logout forgets it; an API error prints its code and message', async () => {
    const [refused, noHub] = await Promise.all([cli(['login', '--url', hub.th.hub.url, '--api-key', 'hh_wrong']), cli(['subscriptions', 'list', '--url', 'http://127.0.0.1:9', '--api-key', apiKey])]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^hookhub: error: unauthorized \(HTTP 401\): .+\nNothing was stored/);
    expect(existsSync(path.join(home, 'config', 'hookhub', 'config.json'))).toBe(false);
    expect(noHub).toMatchObject({ code: 2, stdout: '' });
    expect(noHub.stderr).toContain('could not reach the hub at http://127.0.0.1:9');

    const login = await cli(['login', '--url', hub.th.hub.url, '--api-key', apiKey]);
    expect(login).toMatchObject({ code: 0, stderr: '' });
    const file = path.join(home, 'config', 'hookhub', 'config.json');
    expect(login.stdout).toContain(`Logged in to ${hub.th.hub.url}/; stored in ${file} (mode 0600).`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ url: `${hub.th.hub.url}/`, apiKey });

    // No flags, no variables: the stored login. Errors name the API's code and message.
    const [created, missing, missingJson] = await Promise.all([
      cli(['subscriptions', 'create', '--endpoint', 'https://example.com/hook', '--events', 'user.registered,review.updated', '--description', 'from the CLI']),
      cli(['subscriptions', 'get', 'sub_nope']),
      cli(['subscriptions', 'get', 'sub_nope', '--json']),
    ]);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^id +sub_\w+$/m);
    expect(created.stdout).toMatch(/^secret +whsec_/m);
    expect(created.stdout).toMatch(/^events +\["user.registered","review.updated"\]$/m);
    expect(created.stderr).toContain('shown only now');
    const id = /^id +(sub_\w+)$/m.exec(created.stdout)?.[1] ?? '';
    expect(missing).toMatchObject({ code: 1, stdout: '' });
    expect(missing.stderr).toBe('hookhub: error: subscription_not_found (HTTP 404): No subscription with id "sub_nope" exists for this tenant.\n');
    expect(JSON.parse(missingJson.stderr)).toEqual({ error: { status: 404, code: 'subscription_not_found', message: 'No subscription with id "sub_nope" exists for this tenant.' } });

    const [list, listJson, rotated, invalid] = await Promise.all([
      cli(['subscriptions', 'list']),
      cli(['subscriptions', 'list', '--json']),
      cli(['subscriptions', 'rotate-secret', id, '--overlap', '60', '--json']),
      cli(['subscriptions', 'create', '--endpoint', 'not a url', '--events', 'business.created']),
    ]);
    expect(list).toMatchObject({ code: 0, stderr: '' });
    expect(list.stdout).toMatch(new RegExp(`^${id} +active +https://example.com/hook +user.registered,review.updated +from the CLI$`, 'm'));
    expect((JSON.parse(listJson.stdout) as Json[]).map((s) => s['id'])).toEqual([id]);
    expect(rotated.code).toBe(0);
    expect(JSON.parse(rotated.stdout)).toMatchObject({ id, secret: expect.stringMatching(/^whsec_/), previousSecretExpiresAt: expect.any(String) });
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/^hookhub: error: validation_failed \(HTTP 400\): .*\n {2}\/endpointUrl {2}/);

    // Flags beat the stored login: another key is another tenant, which does not see the subscription.
    const other = await hub.th.keyForTenant('hubcli-other');
    const [deletedByOther, logout] = await Promise.all([cli(['subscriptions', 'delete', id, '--api-key', other]), cli(['subscriptions', 'delete', id])]);
    expect(deletedByOther.code).toBe(1);
    expect(logout).toMatchObject({ code: 0, stdout: `Deleted ${id}.\n` });
    const out = await cli(['logout']);
    expect(out.stdout).toBe(`Logged out: removed ${file}.\n`);
    expect(existsSync(file)).toBe(false);
    const noKey = await cli(['subscriptions', 'list']);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('no API key.\nRun `hookhub login`, set HOOKHUB_API_KEY or pass --api-key');
  });

  it('events send publishes and prints each delivery as it happens; --subscription tests one; deliveries tail and show; replay', async () => {
    const ok = await receiver(() => ({ status: 204 }));
    const broken = await receiver(() => ({ status: 500, body: 'database down', headers: { 'x-trace': 'abc' } }));
    const good = String((await api('POST', '/v1/subscriptions', { endpointUrl: `${ok.url}/in`, events: ['review.created'] })).body['id']);
    const bad = String(
      (await api('POST', '/v1/subscriptions', { endpointUrl: `${broken.url}/in`, events: ['*'], retryConfig: { maxRetries: 0 }, headers: { 'X-Receiver-Token': { value: 'tok-SECRET-3', secret: true } } })).body['id'],
    );
    const byEnv = { HOOKHUB_URL: hub.th.hub.url, HOOKHUB_API_KEY: apiKey };

    const data = path.join(home, 'review.json');
    writeFileSync(data, JSON.stringify({ id: 'rev_1', business_id: 'biz_1', rating: 5, content: 'Lovely bread', author: { name: 'Ann' }, created_at: '2026-01-01T00:00:00Z' }));
    const [validCheck, sent, tested] = await Promise.all([
      cli(['events', 'validate', data, '--type', 'review.created']),
      cli(['events', 'send', 'review.created'], byEnv),
      cli(['events', 'send', 'business.created', '--subscription', good, ...flags()]),
    ]);
    expect(validCheck.code).toBe(0);
    const published = /^Published (evt_\w+) \(review\.created, sample data\)\.$/m.exec(sent.stdout)?.[1];
    expect(published).toBeDefined();
    expect(sent.stdout).toMatch(new RegExp(`review\\.created +${published} +${good} +succeeded 204 +\\d+ ms +- +att_\\w+$`, 'm'));
    expect(sent.stdout).toMatch(new RegExp(`review\\.created +${published} +${bad} +failed 500 +\\d+ ms +dead letter +att_\\w+$`, 'm'));
    expect(sent.code).toBe(1);
    expect(tested.code).toBe(0);
    expect(tested.stdout).toMatch(new RegExp(`^Test event evt_test_\\w+ \\(business\\.created, sample data\\) to ${good} at ${ok.url}/in: succeeded, HTTP 204 in \\d+ ms\\.$`, 'm'));

    const [tail, tailFailed, deadLetters] = await Promise.all([
      cli(['deliveries', 'tail', '--json', ...flags()]),
      cli(['deliveries', 'tail', '--status', 'failed', ...flags()]),
      api('GET', `/v1/dead-letters?subscriptionId=${bad}`),
    ]);
    const attempts = tail.stdout.trim().split('\n').map((l) => JSON.parse(l) as Json);
    expect(attempts.map((a) => [a['subscriptionId'], a['status'], a['test']])).toEqual(expect.arrayContaining([[good, 'succeeded', false], [bad, 'failed', false], [good, 'succeeded', true]]));
    expect(tailFailed.stdout.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`review\\.created +${published} +${bad} +failed 500`))]);
    const failedId = String(attempts.find((a) => a['status'] === 'failed')?.['id']);
    const deadLetterId = String((deadLetters.body['data'] as Json[])[0]?.['id']);

    const [show, showJson, unknown, replayOne, replayNone, replayUsage] = await Promise.all([
      cli(['deliveries', 'show', failedId, ...flags()]),
      cli(['deliveries', 'show', failedId, '--json', ...flags()]),
      cli(['deliveries', 'show', 'att_nope', ...flags()]),
      cli(['replay', deadLetterId, ...flags()]),
      cli(['replay', '--subscription', good, '--since', '1h', '--json', ...flags()]),
      cli(['replay', ...flags()]),
    ]);
    expect(show.code).toBe(1);
    expect(show.stdout).toContain(`Request       POST ${broken.url}/in`);
    expect(show.stdout).toMatch(/^Outcome +failed 500 in \d+ ms$/m);
    expect(show.stdout).toContain('  x-trace: abc');
    expect(show.stdout).toContain('Response body\ndatabase down');
    // The request as sent: its headers, the secret one masked, and the body the endpoint got.
    expect(show.stdout).toContain('Request headers\n');
    expect(show.stdout).toContain('  X-Receiver-Token: ********\n');
    expect(show.stdout).toMatch(/^ {2}webhook-signature: v1,\S+$/m);
    expect(show.stdout).toContain(`Request body\n{"id":"${published}","type":"review.created"`);
    expect(show.stdout).not.toContain('tok-SECRET-3');
    expect(JSON.parse(showJson.stdout)).toMatchObject({ id: failedId, status: 'failed', httpStatus: 500, next: 'dead_letter' });
    expect(unknown).toMatchObject({ code: 1, stderr: expect.stringContaining('attempt_not_found (HTTP 404)') });
    expect(replayOne).toMatchObject({ code: 0, stdout: expect.stringContaining(`Replaying ${deadLetterId}`) });
    expect(JSON.parse(replayNone.stdout)).toEqual({ replayed: 0, deadLetterIds: [] });
    expect(replayUsage.code).toBe(2);
    expect(replayUsage.stderr).toContain('Give a dead letter id');
    await broken.waitFor(2);
  });

  it('deliveries resend sends an attempt again to its subscription, and show names the attempt it resends', async () => {
    const ok = await receiver(() => ({ status: 200 }));
    const sub = String((await api('POST', '/v1/subscriptions', { endpointUrl: `${ok.url}/r`, events: ['business.created'] })).body['id']);
    await api('POST', '/v1/events', { type: 'business.created', data: sampleBusiness() });
    await ok.waitFor(1);
    let original: Json | undefined;
    await waitUntil(async () => (original = ((await api('GET', `/v1/deliveries?subscriptionId=${sub}`)).body['data'] as Json[])[0]) !== undefined);
    const originalId = String(original!['id']);
    const [human, json, unknown] = await Promise.all([
      cli(['deliveries', 'resend', originalId, ...flags()]),
      cli(['deliveries', 'resend', originalId, '--json', ...flags()]),
      cli(['deliveries', 'resend', 'att_nope', ...flags()]),
    ]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`Resending event ${String(original!['eventId'])} to ${sub} (webhook id ${String(original!['webhookId'])}).`);
    expect(JSON.parse(json.stdout)).toMatchObject({ resentFrom: originalId, subscriptionId: sub, webhookId: original!['webhookId'] });
    expect(unknown).toMatchObject({ code: 1, stderr: expect.stringContaining('attempt_not_found (HTTP 404)') });
    const requests = await ok.waitFor(3);
    expect(new Set(requests.map((r) => r.headers['webhook-id'])).size).toBe(1);
    let resent: Json | undefined;
    await waitUntil(async () => (resent = ((await api('GET', `/v1/deliveries?subscriptionId=${sub}`)).body['data'] as Json[]).find((a) => a['resentFrom'] === originalId)) !== undefined);
    const show = await cli(['deliveries', 'show', String(resent!['id']), ...flags()]);
    expect(show.stdout).toContain(`(#1, resent from ${originalId})`);
  });

  it('deliveries tail --follow prints attempts made after it started', async () => {
    const ok = await receiver(() => ({ status: 200 }));
    const sub = String((await api('POST', '/v1/subscriptions', { endpointUrl: `${ok.url}/f`, events: ['business.created'] })).body['id']);
    const child = spawn(process.execPath, [...entryArgs('cli/index'), 'deliveries', 'tail', '-f', '--json', '--interval', '300', '--subscription', sub, ...flags()], { cwd: ROOT, env });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    try {
      // Started and polling: nothing yet, since the subscription has had no delivery.
      await new Promise((resolve) => setTimeout(resolve, 5000));
      const published = String((await api('POST', '/v1/events', { type: 'business.created', data: sampleBusiness() })).body['id']);
      await waitUntil(() => output.includes(published), 20_000, () => `tail printed: ${output}`);
      expect(JSON.parse(output.trim().split('\n')[0] ?? '')).toMatchObject({ eventId: published, subscriptionId: sub, status: 'succeeded' });
    } finally {
      child.kill('SIGINT');
    }
  });

  it('events validate checks offline, each problem by JSON path', async () => {
    const bad = path.join(home, 'bad-event.json');
    writeFileSync(bad, JSON.stringify({ type: 'business.created', data: { id: 'biz_1', name: 42 } }));
    const [human, json, unknownType] = await Promise.all([cli(['events', 'validate', bad]), cli(['events', 'validate', bad, '--json']), cli(['events', 'validate', bad, '--type', 'nope.made_up'])]);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain(`invalid  ${bad}  (invalid_data)`);
    expect(human.stdout).toMatch(/^ {2}\/data\/name +must be string$/m);
    expect(human.stdout).toMatch(/^ {2}\/data\/category +is required$/m);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: false, reason: 'invalid_data', problems: expect.arrayContaining([{ path: '/data/name', message: 'must be string' }]) });
    expect(unknownType.code).toBe(1);
    expect(unknownType.stdout).toContain('/type');
  });
});

function sampleBusiness(): Json {
  return { id: 'biz_9', name: 'Acme', category: 'bakery', status: 'active', created_at: '2026-01-01T00:00:00Z', address: { city: 'Austin' } };
}
