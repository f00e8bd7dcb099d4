import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { sampleData } from '../../src/events/samples';
import { entryArgs } from '../support/entry';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const env = { PATH: process.env['PATH'] ?? '' };

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(...args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...entryArgs('cli/index'), 'connectors', ...args], { cwd: ROOT, env });
    return { code: 0, stdout: String(stdout), stderr: String(stderr) };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: String(e.stdout), stderr: String(e.stderr) };
  }
}

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'hh-cli-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('hookhub connectors', () => {
  it('validate: passes the shipped connectors, and places each problem of a broken one by file:line', async () => {
    const ok = await cli('validate');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^ok +slack@1\.0\.0/m);
    expect(ok.stdout).toMatch(/^ok +webhook-custom@1\.0\.0/m);

    const dir = path.join(scratch, 'broken');
    cpSync(path.join(ROOT, 'connectors', 'slack'), path.join(dir, 'slack'), { recursive: true });
    const manifest = path.join(dir, 'slack', 'connector.yaml');
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('    method: POST', '    method: POST\n    retries: 3'));
    writeFileSync(path.join(dir, 'slack', 'mappings', 'review-created.jsonata'), '{ "text": data.title & }');
    const bad = await cli('validate', dir);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^error .*slack\/connector\.yaml:\d+:\d+ {2}\/actions\/post_message\/retries {2}is not a known field/m);
    expect(bad.stdout).toMatch(/^error .*slack\/mappings\/review-created\.jsonata:1:\d+ {2}\/triggers\/1\/mapping_file {2}JSONata does not compile/m);
    expect(bad.stdout).toContain('1 of 1 manifest(s) invalid');
  });

  it('test: runs the fixtures, and prints a diff when the connector no longer sends what a fixture expects', async () => {
    const ok = await cli('test');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^pass +slack +connectors\/slack\/fixtures\/review-created\.yaml/m);
    expect(ok.stdout).toMatch(/(\d+) of \1 fixture\(s\) passed/);

    const dir = path.join(scratch, 'changed');
    cpSync(path.join(ROOT, 'connectors', 'slack'), path.join(dir, 'slack'), { recursive: true });
    const mapping = path.join(dir, 'slack', 'mappings', 'review-created.jsonata');
    writeFileSync(mapping, readFileSync(mapping, 'utf8').replace('"*New review* "', '"*Fresh review* "'));
    const changed = await cli('test', 'slack', '--dir', dir);
    expect(changed.code).toBe(1);
    expect(changed.stdout).toMatch(/^FAIL +slack .*review-created\.yaml/m);
    expect(changed.stdout).toContain('-              *New review* ★★★★☆ (4/5)');
    expect(changed.stdout).toContain('+              *Fresh review* ★★★★☆ (4/5)');
  });

  const business = { id: 'biz_1', name: 'Acme', category: 'bakery', status: 'active', created_at: '2026-01-01T00:00:00Z', address: { city: 'Austin' } };
  const file = (name: string, content: unknown): string => {
    const where = path.join(scratch, name);
    writeFileSync(where, typeof content === 'string' ? content : JSON.stringify(content));
    return where;
  };

  // A connector whose URL is the link's credential, as an incoming-webhook connector's is.
  const hookConnector = (dir: string, url = '{{ $credentials.webhook_url }}'): void => {
    mkdirSync(path.join(dir, 'hook', 'fixtures'), { recursive: true });
    writeFileSync(
      path.join(dir, 'hook', 'connector.yaml'),
      `name: hook
version: 1.0.0
title: Hook
description: posts business names
auth: { type: webhook_url }
config:
  type: object
  additionalProperties: false
  properties:
    username: { type: string, maxLength: 10 }
actions:
  post:
    method: POST
    url: "${url}"
    body: '{"content": data.name, "username": $config.username}'
triggers:
  - event: business.created
    actions: [post]
`,
    );
  };
  const hookFixture = (dir: string, credentials: string, config = '{}'): void =>
    writeFileSync(
      path.join(dir, 'hook', 'fixtures', 'created.yaml'),
      `description: posts the name
event: { type: business.created, data: { id: b1, name: Acme } }
credentials: ${credentials}
config: ${config}
expect:
  requests:
    - { action: post, method: POST, url: "https://discord.example/api/webhooks/1/x", body: { content: Acme } }
`,
    );

  it('validate: names a misspelt binding, a setting the schema lacks and an event field the trigger\'s event lacks, with what was meant', async () => {
    const dir = path.join(scratch, 'slips');
    hookConnector(dir, '{{ $credential.webhook_url }}');
    const manifest = path.join(dir, 'hook', 'connector.yaml');
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('data.name, "username": $config.username', 'data.nme, "username": $config.usrname'));
    const bad = await cli('validate', dir);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^error .*hook\/connector\.yaml:14:10 {2}\/actions\/post\/url {2}\$credential is not bound .*; did you mean \$credentials\?$/m);
    expect(bad.stdout).toMatch(/^error .*hook\/connector\.yaml:15:11 {2}\/actions\/post\/body {2}\$config\.usrname: .*did you mean "username"\?$/m);
    expect(bad.stdout).toMatch(/^error .*hook\/connector\.yaml:15:11 {2}\/actions\/post\/body {2}data\.nme: .*business\.created.*did you mean "name"\?$/m);
  });

  it('test: a failing fixture says why the run failed and where in the manifest, before the diff', async () => {
    const dir = path.join(scratch, 'reason');
    hookConnector(dir);
    hookFixture(dir, '{ webhook_url: "discord.example/api/webhooks/1/x" }');
    const failed = await cli('test', 'hook', '--dir', dir);
    expect(failed.code).toBe(1);
    const lines = failed.stdout.split('\n');
    const reason = lines.findIndex((l) => l.includes("reason: connector hook, action post, url: gave \"[redacted]\", which is not an absolute http(s) URL"));
    expect(reason).toBeGreaterThan(0);
    // The URL comes from the link's credential, not its settings: the message says so.
    expect(lines[reason]).toContain("it is built from $credentials.webhook_url by the connector's actions.post.url: check the link's credentials");
    expect(lines[reason]).not.toContain("link's settings");
    expect(lines[reason + 1]).toMatch(/^ {6}at .*hook\/connector\.yaml:14:10 {2}\/actions\/post\/url$/);
    expect(lines.findIndex((l) => l.includes('+requests: []'))).toBeGreaterThan(reason);
  });

  it('test: refuses a fixture whose config the settings schema refuses, as linking would', async () => {
    const dir = path.join(scratch, 'settings');
    hookConnector(dir);
    hookFixture(dir, '{ webhook_url: "https://discord.example/api/webhooks/1/x" }', '{ username: "a name far too long", colour: red }');
    const refused = await cli('test', 'hook', '--dir', dir);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain("its config does not fit the connector's settings schema (linking would refuse it):");
    expect(refused.stdout).toContain('/config/username must NOT have more than 10 characters');
    expect(refused.stdout).toContain('/config/colour');
  });

  it('test: on an invalid manifest says so and lists its problems instead of "0 of 0 passed"', async () => {
    const dir = path.join(scratch, 'invalid');
    hookConnector(dir, '{{ $credential.webhook_url }}');
    hookFixture(dir, '{ webhook_url: "https://discord.example/api/webhooks/1/x" }');
    const invalid = await cli('test', 'hook', '--dir', dir);
    expect(invalid.code).toBe(1);
    expect(invalid.stdout).toMatch(/^error .*hook\/connector\.yaml:14:10 {2}\/actions\/post\/url {2}\$credential is not bound/m);
    expect(invalid.stdout).toContain('1 manifest(s) invalid (problems above), so their fixtures did not run');
    expect(invalid.stdout).not.toContain('0 of 0');
  });

  it('map: a URL built by the manifest alone blames the manifest, and the output says where', async () => {
    const dir = path.join(scratch, 'manifest-url');
    hookConnector(dir, 'discord.example/{{ $event.data.id }}');
    const credentials = file('hook-credentials.json', { webhook_url: 'https://discord.example/api/webhooks/1/x' });
    const mapped = await cli('map', 'hook', file('hook-event.json', { type: 'business.created', data: business }), '--dir', dir, '--credentials', credentials);
    expect(mapped.code).toBe(1);
    const printed = JSON.parse(mapped.stdout) as { outcome: { kind: string; reason: string }; at: string };
    expect(printed.outcome.reason).toContain("it is built by the connector's actions.post.url alone: the manifest is wrong, not the link");
    expect(printed.at).toMatch(/hook\/connector\.yaml:14:10 {2}\/actions\/post\/url$/);
  });

  it('map: prints the requests a connector would send for an event', async () => {
    const event = file('event.json', { type: 'business.created', data: business });
    const config = path.join(scratch, 'config.yaml');
    writeFileSync(config, 'url: https://crm.example.com/leads\nmapping: \'{"company": data.name}\'\n');
    const mapped = await cli('map', 'webhook-custom', event, '--config', config);
    expect(mapped.code).toBe(0);
    const printed = JSON.parse(mapped.stdout) as { outcome: { kind: string }; requests: Array<Record<string, unknown>> };
    expect(printed.outcome.kind).toBe('success');
    expect(printed.requests).toEqual([
      expect.objectContaining({ action: 'send', method: 'POST', url: 'https://crm.example.com/leads', body: { company: 'Acme' } }),
    ]);
  });

  it('map: refuses an event its type\'s schema refuses, naming each problem, as the hub would', async () => {
    const credentials = file('slack-credentials.json', { webhook_url: 'https://hooks.slack.com/services/T0/B0/X' });
    const incomplete = file('incomplete.json', { type: 'review.created', data: { id: 'rev_1', rating: 9 } });
    const refused = await cli('map', 'slack', incomplete, '--credentials', credentials);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toContain(`${incomplete} is not a valid review.created event (schemas/events/review.created.schema.json)`);
    expect(refused.stdout).toMatch(/^ {2}\/data\/business_id {2}is required$/m);
    expect(refused.stdout).toMatch(/^ {2}\/data\/rating {2}must be <= 5$/m);
    expect(refused.stdout).not.toContain('"requests"');

    const unknown = await cli('map', 'slack', file('unknown.json', { type: 'business.opened', data: {} }), '--credentials', credentials);
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toMatch(/"business\.opened" is not a known event type; known types: .*business\.created/);
  });

  it('map: previews without a live link, with marked placeholders for the credentials and connection values not given', async () => {
    const event = file('business.json', { type: 'business.created', data: business });
    const slack = await cli('map', 'slack', event);
    expect(slack.code).toBe(0);
    expect(slack.stderr).toContain("note: no --credentials value for connector slack's webhook_url; the preview uses placeholders:");
    expect(slack.stderr).toMatch(/^ {2}webhook_url = https:\/\/placeholder-webhook-url\.invalid {2}\(the Slack webhook URL/m);
    expect(slack.stderr).toContain('--credentials <file> with {"webhook_url": "..."}');
    const slackPrinted = JSON.parse(slack.stdout) as { placeholders: unknown; requests: Array<Record<string, unknown>> };
    expect(slackPrinted.placeholders).toEqual({ credentials: ['webhook_url'], connection: [] });
    expect(slackPrinted.requests).toEqual([expect.objectContaining({ url: 'https://placeholder-webhook-url.invalid/' })]);

    // instance_url comes with Salesforce's token: a placeholder until --connection (or --credentials) gives it.
    const tokenOnly = file('token-only.yaml', 'access_token: 00Dxx!token\n');
    const salesforce = await cli('map', 'salesforce', event, '--credentials', tokenOnly);
    expect(salesforce.code).toBe(0);
    expect(salesforce.stderr).toContain('note: $connection.instance_url comes with a live link; the preview uses placeholders:');
    expect(salesforce.stderr).toContain('--connection <file> with {"instance_url": "..."}');
    const placeholderRun = JSON.parse(salesforce.stdout) as { requests: Array<Record<string, unknown>> };
    expect(placeholderRun.requests).toEqual([
      expect.objectContaining({ url: 'https://placeholder-instance-url.invalid/services/data/v61.0/sobjects/Lead/Directory_Business_Id__c/biz_1' }),
    ]);

    const connection = file('connection.json', { instance_url: 'https://acme.my.salesforce.com' });
    const mapped = await cli('map', 'salesforce', event, '--credentials', tokenOnly, '--connection', connection);
    expect(mapped.code).toBe(0);
    expect(mapped.stderr).toBe('');
    const printed = JSON.parse(mapped.stdout) as { placeholders?: unknown; requests: Array<Record<string, unknown>> };
    expect(printed.placeholders).toBeUndefined();
    expect(printed.requests).toEqual([
      expect.objectContaining({ action: 'upsert_lead', method: 'PATCH', url: 'https://acme.my.salesforce.com/services/data/v61.0/sobjects/Lead/Directory_Business_Id__c/biz_1' }),
    ]);
  });

  it('map: previews a sample event for every shipped connector without a live link', async () => {
    const names = readdirSync(path.join(ROOT, 'connectors'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    expect(names.length).toBeGreaterThanOrEqual(11);
    for (const name of names) {
      const manifest = parse(readFileSync(path.join(ROOT, 'connectors', name, 'connector.yaml'), 'utf8')) as { triggers: Array<{ event: string }> };
      const type = manifest.triggers.map((t) => t.event).find((e) => e !== '*') ?? 'business.created';
      // The link's settings (and, where a request uses an earlier one's answer, the API's answers) from its first successful fixture.
      type Fixture = { config?: unknown; responses?: unknown; expect?: { outcome?: string; error?: unknown } };
      const fixtures = readdirSync(path.join(ROOT, 'connectors', name, 'fixtures'))
        .filter((f) => f.endsWith('.yaml'))
        .sort()
        .map((f) => parse(readFileSync(path.join(ROOT, 'connectors', name, 'fixtures', f), 'utf8')) as Fixture);
      const fixture = fixtures.find((f) => f.expect?.error === undefined && (f.expect?.outcome ?? 'success') === 'success') ?? fixtures[0]!;
      const args = ['map', name, file(`${name}-event.json`, { type, data: sampleData(type) }), '--config', file(`${name}-config.json`, fixture.config ?? {})];
      if (fixture.responses) args.push('--responses', file(`${name}-responses.json`, fixture.responses));
      const result = await cli(...args);
      expect({ name, code: result.code, stdout: result.code === 0 ? '' : result.stdout }).toEqual({ name, code: 0, stdout: '' });
      const printed = JSON.parse(result.stdout) as { outcome: { kind: string }; placeholders?: { credentials: string[] } };
      expect({ name, outcome: printed.outcome.kind }).toEqual({ name, outcome: expect.stringMatching(/^(success|skipped)$/) });
      if (name !== 'webhook-custom') expect(printed.placeholders?.credentials.length).toBeGreaterThan(0);
    }
    // One CLI process per shipped connector.
  }, 240_000);

  it('new: scaffolds a connector of each auth kind whose manifest, mapping and fixture pass validate and test', async () => {
    const dir = path.join(scratch, 'scaffolds');
    for (const [name, auth] of [['acme-crm', 'oauth2'], ['acme-key', 'api_key'], ['acme-hook', 'webhook_url']]) {
      const created = await cli('new', name!, '--auth', auth!, '--dir', dir);
      expect(created.code).toBe(0);
      expect(created.stdout).toContain(`${name}/connector.yaml`);
      expect(readFileSync(path.join(dir, name!, 'connector.yaml'), 'utf8')).toContain(`type: ${auth}`);
    }
    const validated = await cli('validate', dir);
    expect(validated.code).toBe(0);
    expect(validated.stdout.match(/^ok +acme-/gm)).toHaveLength(3);
    const tested = await cli('test', '--dir', dir);
    expect(tested.code).toBe(0);
    expect(tested.stdout).toContain('3 of 3 fixture(s) passed');

    // The fixture checks what the mapping sends: a changed mapping fails it.
    const mapping = path.join(dir, 'acme-key', 'mappings', 'business-created.jsonata');
    writeFileSync(mapping, readFileSync(mapping, 'utf8').replace('data.address.city', 'data.address.state'));
    expect((await cli('test', 'acme-key', '--dir', dir)).code).toBe(1);

    const again = await cli('new', 'acme-key', '--dir', dir);
    expect(again.code).toBe(2);
    expect(again.stdout).toContain('exists already');
    const badName = await cli('new', 'Acme_CRM', '--dir', dir);
    expect(badName.code).toBe(2);
    expect(badName.stdout).toContain('is not a connector name');
    expect((await cli('new', 'acme-basic', '--auth', 'basic', '--dir', dir)).stdout).toContain('--auth must be one of oauth2, api_key, webhook_url');
    // Nine CLI processes.
  }, 240_000);

  it('map: checks the link\'s settings against the connector\'s settings schema', async () => {
    const missingUrl = await cli('map', 'webhook-custom', file('b.json', { type: 'business.created', data: business }));
    expect(missingUrl.code).toBe(2);
    expect(missingUrl.stdout).toContain("the link's settings (--config) do not fit connector webhook-custom's settings schema:");
    expect(missingUrl.stdout).toMatch(/^ {2}\/config\/url {2}is required$/m);
  });
});
