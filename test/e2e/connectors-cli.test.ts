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

  it('map: prints the requests a connector would send for an event', async () => {
    const event = path.join(scratch, 'event.json');
    writeFileSync(event, JSON.stringify({ type: 'business.created', data: { id: 'biz_1', name: 'Acme', address: { city: 'Austin' } } }));
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
});
