import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const env = { PATH: process.env['PATH'] ?? '' };

interface CliResult {
  code: number;
  stdout: string;
}

async function cli(...args: string[]): Promise<CliResult> {
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/cli/index.ts', 'connectors', ...args], { cwd: ROOT, env });
    return { code: 0, stdout: String(stdout) };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, stdout: String(e.stdout) };
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

  it('map: says which credential the link is missing, and where it would come from', async () => {
    const event = file('business.json', { type: 'business.created', data: business });
    const slack = await cli('map', 'slack', event);
    expect(slack.code).toBe(2);
    expect(slack.stdout).toContain('connector slack (webhook_url auth) is missing a credential (no --credentials file was given):');
    expect(slack.stdout).toMatch(/^ {2}webhook_url {2}the Slack webhook URL/m);
    expect(slack.stdout).toContain('--credentials <file> with {"webhook_url": "..."}');

    // An OAuth link carries the access token and what the manifest keeps from the token response.
    const tokenOnly = file('token-only.yaml', 'access_token: 00Dxx!token\n');
    const salesforce = await cli('map', 'salesforce', event, '--credentials', tokenOnly);
    expect(salesforce.code).toBe(2);
    expect(salesforce.stdout).toContain(`connector salesforce (oauth2 auth) is missing a credential (not in ${tokenOnly}):`);
    expect(salesforce.stdout).toMatch(/^ {2}instance_url {2}kept from the token response; requests use it as \$connection\.instance_url$/m);
    expect(salesforce.stdout).not.toMatch(/^ {2}access_token/m);

    const linked = file('linked.json', { access_token: '00Dxx!token', instance_url: 'https://acme.my.salesforce.com' });
    const mapped = await cli('map', 'salesforce', event, '--credentials', linked);
    expect(mapped.code).toBe(0);
    const printed = JSON.parse(mapped.stdout) as { requests: Array<Record<string, unknown>> };
    expect(printed.requests).toEqual([
      expect.objectContaining({ action: 'upsert_lead', method: 'PATCH', url: 'https://acme.my.salesforce.com/services/data/v59.0/sobjects/Lead/Directory_Business_Id__c/biz_1' }),
    ]);
  });

  it('map: checks the link\'s settings against the connector\'s settings schema', async () => {
    const missingUrl = await cli('map', 'webhook-custom', file('b.json', { type: 'business.created', data: business }));
    expect(missingUrl.code).toBe(2);
    expect(missingUrl.stdout).toContain("the link's settings (--config) do not fit connector webhook-custom's settings schema:");
    expect(missingUrl.stdout).toMatch(/^ {2}\/config\/url {2}is required$/m);
  });
});
