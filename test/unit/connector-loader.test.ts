import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_CONNECTORS_DIR } from '../../src/config/config';
import { findManifests, loadManifest } from '../../src/connectors/loader';
import type { ManifestProblem } from '../../src/connectors/loader';
import { ConnectorRuntime } from '../../src/connectors/runtime';
import type { Transport } from '../../src/connectors/runtime';

const MINIMAL = `# yaml-language-server: $schema=../../schemas/connector.schema.json
name: acme
version: 1.0.0
title: Acme
description: test connector
auth: { type: api_key, in: header, name: X-Api-Key }
base_url: https://api.acme.example
actions:
  create:
    method: POST
    path: "/things/{{ $config.space }}"
triggers:
  - event: business.created
    actions: [create]
    mapping: '{"name": data.name}'
config: { type: object, properties: { space: { type: string } } }
`;

let root: string;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'hh-connectors-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function write(manifest: string, files: Record<string, string> = {}, name = 'acme'): string {
  const dir = path.join(root, name);
  mkdirSync(path.join(dir, 'mappings'), { recursive: true });
  writeFileSync(path.join(dir, 'connector.yaml'), manifest);
  for (const [file, text] of Object.entries(files)) writeFileSync(path.join(dir, file), text);
  return path.join(dir, 'connector.yaml');
}

function problemsOf(file: string): ManifestProblem[] {
  const result = loadManifest(file, root);
  if (result.ok) throw new Error('expected the manifest to be refused');
  return result.problems;
}

describe('connector manifests', () => {
  it('loads every connector that ships with Hookhub', () => {
    const files = findManifests(DEFAULT_CONNECTORS_DIR);
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const file of files) {
      const result = loadManifest(file, DEFAULT_CONNECTORS_DIR);
      expect([file, result.ok ? [] : result.problems]).toEqual([file, []]);
      expect(readFileSync(file, 'utf8').split('\n')[0]).toBe('# yaml-language-server: $schema=../../schemas/connector.schema.json');
    }
  });

  it('reports broken YAML with its line', () => {
    const [problem] = problemsOf(write(MINIMAL.replace('title: Acme', 'title: [Acme')));
    expect(problem).toMatchObject({ path: '/', line: expect.any(Number) });
    expect(problem!.message).toMatch(/^YAML: /);
  });

  it('names an unknown field with its JSON path and line', () => {
    const problems = problemsOf(write(MINIMAL.replace('    method: POST', '    method: POST\n    bodyy: "$"')));
    expect(problems).toEqual([expect.objectContaining({ path: '/actions/create/bodyy', line: 11, message: expect.stringContaining('not a known field') })]);
  });

  it('says a required field is missing, at its parent', () => {
    const problems = problemsOf(write(MINIMAL.replace('    actions: [create]\n', '')));
    expect(problems).toEqual([expect.objectContaining({ path: '/triggers/0/actions', message: 'is required', line: 13 })]);
  });

  it('refuses a missing mapping file, naming what to do', () => {
    const problems = problemsOf(write(MINIMAL.replace(`    mapping: '{"name": data.name}'`, '    mapping_file: mappings/nope.jsonata')));
    expect(problems).toEqual([expect.objectContaining({ path: '/triggers/0/mapping_file', message: expect.stringContaining('does not exist; create it') })]);
  });

  it('places a JSONata syntax error in a mapping file at its line in that file', () => {
    const file = write(MINIMAL.replace(`    mapping: '{"name": data.name}'`, '    mapping_file: mappings/m.jsonata'), {
      'mappings/m.jsonata': '{\n  "name": data.name,\n  "city": data.address.(\n}\n',
    });
    const [problem] = problemsOf(file);
    expect(problem).toMatchObject({ file: path.join(root, 'acme', 'mappings', 'm.jsonata'), path: '/triggers/0/mapping_file', line: 4 });
    expect(problem!.message).toMatch(/JSONata does not compile/);
  });

  it('reports JSONata that does not compile inline, and in templates', () => {
    const problems = problemsOf(write(MINIMAL.replace(`'{"name": data.name}'`, `'{"name": }'`).replace('{{ $config.space }}', '{{ $config.( }}')));
    expect(problems.map((p) => p.path).sort()).toEqual(['/actions/create/path', '/triggers/0/mapping']);
  });

  it('checks references: actions, event types, hooks, health check, name and directory', () => {
    const manifest = MINIMAL.replace('actions: [create]', 'actions: [create, missing]')
      .replace('event: business.created', 'event: business.exploded')
      .replace('name: acme', 'name: acme-two')
      .concat('hooks: { before_request: from_a_file }\nhealth_check: { action: nope }\n');
    const problems = problemsOf(write(manifest));
    const byPath = Object.fromEntries(problems.map((p) => [p.path, p.message]));
    expect(byPath['/triggers/0/actions/1']).toContain('"missing", which is not declared');
    expect(byPath['/triggers/0/event']).toContain('not a known event type');
    expect(byPath['/hooks/before_request']).toContain('not a registered hook');
    expect(byPath['/health_check/action']).toContain('"nope"');
    expect(byPath['/name']).toContain('the name and the directory must be the same');
  });

  it('needs exactly one of url and path, and a base_url for a path', () => {
    const both = problemsOf(write(MINIMAL.replace('    method: POST', '    method: POST\n    url: https://x.example')));
    expect(both).toEqual([expect.objectContaining({ path: '/actions/create', message: 'needs exactly one of url (absolute) or path (under base_url)' })]);
    const noBase = problemsOf(write(MINIMAL.replace('base_url: https://api.acme.example\n', '')));
    expect(noBase).toEqual([expect.objectContaining({ path: '/actions/create/path', message: expect.stringContaining('needs base_url') })]);
  });

  it('names the allowed auth types', () => {
    const problems = problemsOf(write(MINIMAL.replace('{ type: api_key, in: header, name: X-Api-Key }', '{ type: magic }')));
    expect(problems.some((p) => p.path === '/auth/type' && p.message.includes('none, api_key, basic, webhook_url, oauth2'))).toBe(true);
  });
});

describe('connector runtime', () => {
  const transport: Transport = {
    async send() {
      return { status: 200, headers: { 'content-type': 'application/json' }, body: '{"id":"x"}', durationMs: 1, error: null, errorCode: null };
    },
  };
  const ctx = { connectionId: 'con_1', config: { space: 'a b/c' }, credentials: { api_key: 'k-123456' }, metadata: {} };
  const event = { id: 'evt_1', type: 'business.created', version: '1.0', timestamp: '2026-01-01T00:00:00Z', data: { name: 'N' } };

  function load(manifest: string): NonNullable<Extract<ReturnType<typeof loadManifest>, { ok: true }>['connector']> {
    const result = loadManifest(write(manifest), root);
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    return result.connector;
  }

  it('percent-encodes path placeholders and applies the api key', async () => {
    const run = await new ConnectorRuntime().run(load(MINIMAL), event, ctx, { webhookId: 'msg_1', triggers: null, transport });
    expect(run.requests[0]?.request).toMatchObject({ method: 'POST', url: 'https://api.acme.example/things/a%20b%2Fc', body: '{"name":"N"}' });
    expect(run.requests[0]?.request.headers['x-api-key']).toBe('k-123456');
  });

  it('stops a mapping that runs away, with a time-limit error, as a permanent failure', async () => {
    const looping = MINIMAL.replace(`'{"name": data.name}'`, `'($f := function($n) { $f($n + 1) }; $f(0))'`);
    const run = await new ConnectorRuntime().run(load(looping), event, ctx, { webhookId: 'msg_1', triggers: null, transport });
    expect(run.outcome.kind).toBe('fail');
    expect((run.outcome as { reason: string }).reason).toMatch(/connector acme, trigger business_created, mapping .*ran longer than 1000 ms and was stopped/);
    expect(run.requests).toEqual([]);
  });

  it('masks credentials in what it records', async () => {
    const inQuery = MINIMAL.replace('{ type: api_key, in: header, name: X-Api-Key }', '{ type: api_key, in: query, name: key }');
    const run = await new ConnectorRuntime().run(load(inQuery), event, ctx, { webhookId: 'msg_1', triggers: null, transport });
    expect(run.requests[0]?.request.url).toContain('key=k-123456');
    expect(run.steps[0]?.url).toBe('https://api.acme.example/things/a%20b%2Fc?key=[redacted]');
  });

  it('sends basic credentials, and fails clearly when a credential is missing', async () => {
    const basic = load(MINIMAL.replace('{ type: api_key, in: header, name: X-Api-Key }', '{ type: basic }'));
    const withCredentials = { ...ctx, credentials: { username: 'hub', password: 'p4ss-word' } };
    const run = await new ConnectorRuntime().run(basic, event, withCredentials, { webhookId: 'msg_1', triggers: null, transport });
    expect(run.requests[0]?.request.headers['authorization']).toBe(`Basic ${Buffer.from('hub:p4ss-word').toString('base64')}`);
    const missing = await new ConnectorRuntime().run(basic, event, { ...ctx, credentials: { username: 'hub' } }, { webhookId: 'msg_1', triggers: null, transport });
    expect(missing.outcome).toEqual({ kind: 'fail', reason: expect.stringContaining('the connection has no password; PATCH /v1/connections/con_1 with credentials.password') });
    expect(missing.requests).toEqual([]);
  });
});

describe('shipped connectors copy', () => {
  it('can be copied elsewhere and still load (mapping files are found relative to the manifest)', () => {
    cpSync(path.join(DEFAULT_CONNECTORS_DIR, 'slack'), path.join(root, 'slack'), { recursive: true });
    expect(loadManifest(path.join(root, 'slack', 'connector.yaml'), root).ok).toBe(true);
  });
});
