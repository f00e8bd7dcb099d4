import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadManifest } from '../../src/connectors/loader';
import type { LoadedConnector, ManifestProblem } from '../../src/connectors/loader';
import { checkRequirements, lookUpAccount, missingScopes } from '../../src/connectors/requirements';
import type { ConnectionContext } from '../../src/connectors/runtime';
import type { OutgoingRequest } from '../../src/connectors/hooks';
import type { HttpResult } from '../../src/transport/http-sender';

/**
 * A manifest's `requirements` (scopes to grant, things to create in the account), compiled and
 * checked as the hub does when a link is made: each manifest is written to a temp dir, loaded,
 * and checked against canned answers.
 */
const root = mkdtempSync(path.join(os.tmpdir(), 'hh-connector-requirements-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let count = 0;
function load(rest: string): { connector: LoadedConnector | null; problems: ManifestProblem[] } {
  const name = `req-${++count}`;
  mkdirSync(path.join(root, name));
  const file = path.join(root, name, 'connector.yaml');
  writeFileSync(
    file,
    `name: ${name}
version: 1.0.0
title: Acme CRM
description: a connector for one test
auth: { type: api_key, in: header, name: authorization, prefix: "Bearer " }
config:
  type: object
  properties:
    key_field: { type: string }
    extras: { type: boolean }
base_url: https://api.acme.example
actions:
  upsert:
    method: POST
    path: /companies
  field:
    method: GET
    path: "/fields/{{ name ? name : $config.key_field }}"
    body: null
triggers:
  - event: business.created
    actions: [upsert]
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

const REQUIREMENTS = `requirements:
  scopes: [companies.write, notes.write]
  checks:
    - name: key_field
      action: field
      ok: "$status = 200 and unique = true"
      missing: "{{ $status = 200 ? 'The field ' & name & ' is not unique' : 'Acme has no field ' & $config.key_field }}: create it in Settings > Fields."
    - name: extra_field
      when: "$config.extras = true"
      action: field
      input: { name: extra }
      ok: "$status = 200"
      missing: "Acme has no field extra: create it, or turn extras off."
`;

type Answer = { status: number | null; json?: unknown; error?: string };

/** Checks the link against `answers` by URL path; returns what was found and the requests sent. */
async function check(connector: LoadedConnector, ctx: Partial<ConnectionContext>, answers: Record<string, Answer>) {
  const sent: OutgoingRequest[] = [];
  const transport = {
    send: async (_action: string, request: OutgoingRequest): Promise<HttpResult> => {
      sent.push(request);
      const a = answers[new URL(request.url).pathname] ?? { status: 404, json: { message: 'not found' } };
      return { status: a.status, headers: { 'content-type': 'application/json' }, body: a.json === undefined ? '' : JSON.stringify(a.json), durationMs: 1, error: a.error ?? null, errorCode: a.error ? 'ECONNREFUSED' : null };
    },
  };
  const full: ConnectionContext = { connectionId: 'con_1', config: { key_field: 'biz_id' }, credentials: { api_key: 'k3y-s3cr3t' }, metadata: {}, ...ctx };
  const state = await checkRequirements(connector, full, transport, new Date('2026-12-03T09:00:00Z'));
  return { state, sent };
}

describe('connector requirements', () => {
  it('compiles, and names a check whose action is not declared or whose name is used twice', () => {
    expect(loaded(REQUIREMENTS).requirements).toMatchObject({ scopes: ['companies.write', 'notes.write'], checks: [{ name: 'key_field' }, { name: 'extra_field' }] });
    const { problems } = load(`requirements:
  checks:
    - { name: a, action: nope, ok: "true", missing: "x" }
    - { name: a, action: field, ok: "(", missing: "x" }
`);
    const byPath = Object.fromEntries(problems.map((p) => [p.path, p.message]));
    expect(byPath['/requirements/checks/0/action']).toContain('"nope", which is not declared');
    expect(byPath['/requirements/checks/1/name']).toContain('"a" is used twice');
    expect(byPath['/requirements/checks/1/ok']).toBeDefined();
  });

  it('is null for a connector that declares none, and sends nothing', async () => {
    const { state, sent } = await check(loaded(''), {}, {});
    expect(state).toBeNull();
    expect(sent).toEqual([]);
  });

  it('names the scopes the grant lacks, and each thing the account lacks with its message', async () => {
    const { state, sent } = await check(loaded(REQUIREMENTS), { credentials: { api_key: 'k', scope: 'companies.write companies.read' } }, { '/fields/biz_id': { status: 404, json: { message: 'no such field' } } });
    expect(state).toEqual({
      checkedAt: '2026-12-03T09:00:00.000Z',
      missing: [
        { name: 'scopes', message: expect.stringContaining('did not grant notes.write. Link the account again') },
        { name: 'key_field', message: 'Acme has no field biz_id: create it in Settings > Fields.' },
      ],
      unchecked: [],
    });
    // The extras check runs only with extras on; the request carries the link's credentials.
    expect(sent.map((r) => r.url)).toEqual(['https://api.acme.example/fields/biz_id']);
    expect(sent[0]?.headers['authorization']).toBe('Bearer k');
  });

  it('reads the answer for its message (a field that exists but is not unique), and runs a check whose `when` holds', async () => {
    const { state, sent } = await check(loaded(REQUIREMENTS), { config: { key_field: 'biz_id', extras: true } }, {
      '/fields/biz_id': { status: 200, json: { name: 'biz_id', unique: false } },
      '/fields/extra': { status: 200, json: { name: 'extra', unique: false } },
    });
    expect(state?.missing).toEqual([{ name: 'key_field', message: 'The field biz_id is not unique: create it in Settings > Fields.' }]);
    expect(sent).toHaveLength(2);
  });

  it('finds nothing missing when the account has it all', async () => {
    const { state } = await check(loaded(REQUIREMENTS), { credentials: { api_key: 'k', scope: 'companies.write,notes.write' } }, { '/fields/biz_id': { status: 200, json: { name: 'biz_id', unique: true } } });
    expect(state).toMatchObject({ missing: [], unchecked: [] });
  });

  it('keeps a check that could not run apart from a missing thing, with the secrets masked', async () => {
    const { state } = await check(loaded(REQUIREMENTS), { credentials: { api_key: 'k3y-s3cr3t' } }, { '/fields/biz_id': { status: null, error: 'connect ECONNREFUSED (key k3y-s3cr3t)' } });
    expect(state?.missing).toEqual([]);
    expect(state?.unchecked).toEqual([{ name: 'key_field', message: expect.stringContaining('could not be checked: connect ECONNREFUSED') }]);
    expect(JSON.stringify(state)).not.toContain('k3y-s3cr3t');
    const server = await check(loaded(REQUIREMENTS), {}, { '/fields/biz_id': { status: 503, json: {} } });
    expect(server.state?.unchecked.map((u) => u.name)).toEqual(['key_field']);
  });

  it('judges scopes only when the provider named them, space- or comma-separated', () => {
    expect(missingScopes(['a', 'b'], undefined)).toEqual([]);
    expect(missingScopes(['a', 'b'], null)).toEqual([]);
    expect(missingScopes(['a', 'b'], 'a')).toEqual(['b']);
    expect(missingScopes(['a', 'b'], 'base,a,b')).toEqual([]);
  });
});

describe('connector account (the provider\'s "who am I")', () => {
  const ACCOUNT = `  me:
    method: GET
    path: /users/me
    body: null
account: { action: me, id: data.company_id, name: data.company_name }
`;
  it('reads the linked account from the answer, ids as text; null when the answer names nothing', async () => {
    const { connector, problems } = load('requirements: {}\n');
    expect(problems).toEqual([]);
    expect(connector?.account).toBeNull();
    const withAction = loadWithAction(ACCOUNT);
    const transport = (json: unknown, status = 200) => ({
      send: async (): Promise<HttpResult> => ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(json), durationMs: 1, error: null, errorCode: null }),
    });
    const ctx: ConnectionContext = { connectionId: 'con_1', config: {}, credentials: { api_key: 'k' }, metadata: {} };
    expect(await lookUpAccount(withAction, ctx, transport({ data: { company_id: 5001, company_name: 'Acme Co' } }))).toEqual({ account: { id: '5001', name: 'Acme Co' }, kept: {} });
    expect(await lookUpAccount(withAction, ctx, transport({ data: {} }))).toEqual({ account: null, kept: {} });
    await expect(lookUpAccount(withAction, ctx, transport({}, 401))).rejects.toThrow('the API answered 401');
  });

  it('keeps the values account.keep names (scalars only), sends an own Authorization header, and goes to the override URL', async () => {
    const withKeep = loadWithAction(`  metadata:
    method: GET
    url: https://login.example.com/oauth2/metadata
    headers: { Authorization: "OAuth {{ $credentials.api_key }}" }
    body: null
account: { action: metadata, id: $string(user_id), name: accountname, keep: { dc: dc, api_endpoint: api_endpoint, login: login } }
`);
    const sent: Array<{ url: string; headers: Record<string, string> }> = [];
    const transport = {
      send: async (_a: string, request: { url: string; headers: Record<string, string> }): Promise<HttpResult> => {
        sent.push(request);
        const json = { dc: 'us7', user_id: 42, accountname: 'Acme', api_endpoint: 'https://us7.api.mailchimp.com', login: { email: 'a@b.c' } };
        return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(json), durationMs: 1, error: null, errorCode: null };
      },
    };
    const ctx: ConnectionContext = { connectionId: 'con_1', config: {}, credentials: { api_key: 'tok' }, metadata: {} };
    expect(await lookUpAccount(withKeep, ctx, transport)).toEqual({ account: { id: '42', name: 'Acme' }, kept: { dc: 'us7', api_endpoint: 'https://us7.api.mailchimp.com' } });
    expect(sent[0]?.url).toBe('https://login.example.com/oauth2/metadata');
    const auth = Object.entries(sent[0]?.headers ?? {}).filter(([k]) => k.toLowerCase() === 'authorization');
    expect(auth).toEqual([['authorization', 'OAuth tok']]);
    await lookUpAccount(withKeep, ctx, transport, 'http://127.0.0.1:9/oauth2/metadata');
    expect(sent[1]?.url).toBe('http://127.0.0.1:9/oauth2/metadata');
  });

  it('names an account action that is not declared', () => {
    const { problems } = load('account: { action: nope }\n');
    expect(problems).toEqual([expect.objectContaining({ path: '/account/action', message: expect.stringContaining('"nope"') })]);
  });
});

/** A manifest with one more action (`me`) and its `account`, loaded. */
function loadWithAction(source: string): LoadedConnector {
  const [action, account] = source.split('account:');
  const name = `req-${++count}`;
  mkdirSync(path.join(root, name));
  const file = path.join(root, name, 'connector.yaml');
  writeFileSync(
    file,
    `name: ${name}
version: 1.0.0
title: Acme CRM
description: a connector for one test
auth: { type: api_key, in: header, name: authorization, prefix: "Bearer " }
base_url: https://api.acme.example
actions:
  upsert:
    method: POST
    path: /companies
${action ?? ''}triggers:
  - event: business.created
    actions: [upsert]
account:${account ?? ''}`,
  );
  const result = loadManifest(file, root);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.connector;
}

