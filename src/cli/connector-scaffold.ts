import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The kinds of authentication `hookhub connectors new` scaffolds. */
export const SCAFFOLD_AUTH = ['oauth2', 'api_key', 'webhook_url'] as const;
export type ScaffoldAuth = (typeof SCAFFOLD_AUTH)[number];

const NAME = /^[a-z][a-z0-9-]{0,48}$/;

/** What a connector's auth looks like in each scaffold: the manifest block, the test credentials, where the request goes and how it is signed. */
const AUTH: Record<ScaffoldAuth, { manifest: string; credentials: string; url: string; authHeader: string | null; target: string }> = {
  webhook_url: {
    manifest: 'auth:\n  type: webhook_url\n  # In production the URL must match this; replace it with the provider\'s webhook host.\n  url_pattern: "^https://hooks\\\\.example\\\\.com/"\n',
    credentials: 'credentials:\n  webhook_url: https://hooks.example.com/T000/XXXXXXXX\n',
    url: 'https://hooks.example.com/T000/XXXXXXXX',
    authHeader: null,
    target: '    url: "{{ $credentials.webhook_url }}"\n',
  },
  api_key: {
    manifest: 'auth:\n  type: api_key\n  in: header\n  name: Authorization\n  prefix: "Bearer "\n\nbase_url: https://api.example.com\n',
    credentials: 'credentials:\n  api_key: test-api-key\n',
    url: 'https://api.example.com/v1/records',
    authHeader: 'Bearer test-api-key',
    target: '    path: /v1/records\n',
  },
  oauth2: {
    manifest:
      'auth:\n  type: oauth2\n  authorization_url: https://auth.example.com/oauth/authorize\n  token_url: https://auth.example.com/oauth/token\n  scopes: [records.write]\n  pkce: true\n\nbase_url: https://api.example.com\n',
    credentials: 'credentials:\n  access_token: test-access-token\n',
    url: 'https://api.example.com/v1/records',
    authHeader: 'Bearer test-access-token',
    target: '    path: /v1/records\n',
  },
};

/** The problem with a connector name, or null when it is fine. */
export function connectorNameProblem(name: string): string | null {
  return NAME.test(name) ? null : `"${name}" is not a connector name: 1-49 lowercase letters, digits and "-", starting with a letter (it is also the directory name).`;
}

/**
 * Writes connectors/<name>/ with a manifest (one action and a business.created trigger), its
 * mapping and a golden fixture, which `connectors validate` and `connectors test` pass as written.
 * Returns the files written; throws when the directory exists.
 */
export function scaffoldConnector(root: string, name: string, auth: ScaffoldAuth): string[] {
  const problem = connectorNameProblem(name);
  if (problem) throw new Error(problem);
  const dir = path.join(root, name);
  if (existsSync(dir)) throw new Error(`${dir} exists already; pick another name or remove it.`);
  const a = AUTH[auth];
  const title = name.split('-').map((w) => w[0]!.toUpperCase() + w.slice(1)).join(' ');
  const files: Record<string, string> = {
    'connector.yaml': `# yaml-language-server: $schema=../../schemas/connector.schema.json
# Scaffolded by \`hookhub connectors new\`: replace the example.com addresses and the mapping with the
# provider's, cite its API pages, then run \`hookhub connectors validate\` and \`hookhub connectors test ${name}\`.
# Reference: docs/connectors/manifest-reference.md; walk-through: docs/connectors/write-your-first-connector.md
name: ${name}
version: 0.1.0
title: ${title}
description: Sends new directory businesses to ${title} as records.
docs: https://example.com/docs/api

${a.manifest}
actions:
  create_record:
    method: POST
${a.target}    headers:
      Content-Type: application/json

triggers:
  - event: business.created
    actions: [create_record]
    mapping_file: mappings/business-created.jsonata

errors:
  - status: 429
    action: retry
    backoff: { header: Retry-After }
  - status: [400, 422]
    action: fail
    message: "${title} refused the record as invalid; check the connector's mapping against its API."

rate_limit: { requests: 5, per_seconds: 1 }
`,
    'mappings/business-created.jsonata': `/* The request body for a business.created event; the input is the event envelope ($config and $connection bound). */
{
  "external_id": data.id,
  "name": data.name,
  "category": data.category,
  "city": data.address.city
}
`,
    'fixtures/business-created.yaml': `# yaml-language-server: $schema=../../../schemas/connector-fixture.schema.json
description: a new business becomes a record
event:
  type: business.created
  data:
    id: biz_1a2b3c
    name: "Rosa's Corner Bakery"
    category: bakery
    address: { street: 742 Evergreen Terrace, city: Springfield, state: OR, zip: "97477" }
    status: active
    created_at: "2026-01-01T00:00:00Z"
${a.credentials}responses:
  create_record: { status: 201, body: { id: rec_1 } }
expect:
  requests:
    - action: create_record
      method: POST
      url: ${a.url}
      headers: { content-type: application/json${a.authHeader ? `, authorization: ${a.authHeader}` : ''} }
      body:
        external_id: biz_1a2b3c
        name: "Rosa's Corner Bakery"
        category: bakery
        city: Springfield
`,
  };
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), content);
  }
  return Object.keys(files).map((file) => path.join(dir, file));
}
