import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { createTwoFilesPatch } from 'diff';
import { parse, stringify } from 'yaml';
import { errorMessage } from '../core/errors';
import type { EventEnvelope } from '../events/envelope';
import { BodySchemaError, bodySchemaProblems } from './fixture-body-schemas';
import type { BodySchemaExpectation } from './fixture-body-schemas';
import type { HttpResult } from '../transport/http-sender';
import type { OutgoingRequest } from './hooks';
import type { LoadedConnector } from './loader';
import type { ConnectionContext, ConnectorRuntime, ExternalRefs, RunResult, Transport } from './runtime';
import { fixtureValidator } from './schema';
import { settingsProblems } from './settings-check';

/** A golden test of a connector: connectors/<name>/fixtures/*.yaml. */
interface Fixture {
  description?: string;
  event: Partial<EventEnvelope> & { type: string; data: Record<string, unknown> };
  config?: Record<string, unknown>;
  credentials?: Record<string, unknown>;
  connection?: Record<string, unknown>;
  refs?: Record<string, Record<string, string>>;
  triggers?: string[];
  responses?: Record<string, { status?: number; headers?: Record<string, string>; body?: unknown }>;
  expect: {
    requests?: ExpectedRequest[];
    outcome?: 'succeeded' | 'skipped' | 'failed' | 'retry' | 'broken';
    error?: string;
    external_id?: string;
    retry_after_ms?: number | null;
    truncated?: string[];
  };
}

type ExpectedRequest = { action: string; method: string; url: string; headers?: Record<string, string>; body?: unknown; body_schema?: BodySchemaExpectation };

export interface FixtureResult {
  file: string;
  description: string;
  ok: boolean;
  /** A unified diff of expected against actual, when they differ. */
  diff: string | null;
  /** A fixture that cannot run (invalid file) says why here. */
  error: string | null;
  /** Why the run did not succeed (the outcome's reason), when it did not and that is not what the fixture expects. */
  reason?: string;
}

/** Fixed inputs so that fixtures, signatures included, give the same requests on every run. */
export const FIXTURE_WEBHOOK_ID = 'msg_fixture';
export const FIXTURE_NOW = new Date('2026-01-01T00:00:00Z');

export function fixtureFiles(connector: LoadedConnector): string[] {
  const dir = path.join(connector.dir, 'fixtures');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .map((f) => path.join(dir, f));
}

export async function runFixtures(connector: LoadedConnector, runtime: ConnectorRuntime): Promise<FixtureResult[]> {
  const results: FixtureResult[] = [];
  for (const file of fixtureFiles(connector)) results.push(await runFixture(connector, runtime, file));
  return results;
}

export async function runFixture(connector: LoadedConnector, runtime: ConnectorRuntime, file: string): Promise<FixtureResult> {
  let fixture: Fixture;
  try {
    fixture = parse(readFileSync(file, 'utf8')) as Fixture;
  } catch (err) {
    return { file, description: '', ok: false, diff: null, error: `YAML: ${errorMessage(err)}` };
  }
  const validate = fixtureValidator();
  if (!validate(fixture)) {
    const problems = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`).join('; ');
    return { file, description: '', ok: false, diff: null, error: `not a valid fixture (schemas/connector-fixture.schema.json): ${problems}` };
  }
  const description = fixture.description ?? path.basename(file);
  const settings = settingsProblems(connector, fixture.config ?? {});
  if (settings.length > 0) {
    const problems = settings.map((p) => `${p.path} ${p.message}`).join('; ');
    return { file, description, ok: false, diff: null, error: `its config does not fit the connector's settings schema (linking would refuse it): ${problems}` };
  }
  const run = await runtime.run(connector, fixtureEvent(fixture.event), fixtureContext(fixture), {
    webhookId: FIXTURE_WEBHOOK_ID,
    triggers: fixture.triggers ?? null,
    transport: new CannedTransport(fixture.responses ?? {}),
    refs: memoryRefs(fixture.refs ?? {}),
    now: FIXTURE_NOW,
  });
  let schemaViews: Array<unknown>;
  try {
    schemaViews = await bodySchemaViews(file, run, fixture.expect.requests ?? []);
  } catch (err) {
    if (err instanceof BodySchemaError) return { file, description, ok: false, diff: null, error: err.message };
    throw err;
  }
  const expected = expectedView(fixture);
  const actual = actualView(run, fixture, schemaViews);
  if (isDeepStrictEqual(expected, actual)) return { file, description, ok: true, diff: null, error: null };
  const diff = createTwoFilesPatch('expected', 'actual', stringify(expected), stringify(actual), undefined, undefined, { context: 4 });
  return { file, description, ok: false, diff, error: null, ...('reason' in run.outcome ? { reason: run.outcome.reason } : {}) };
}

export function fixtureEvent(event: Fixture['event']): EventEnvelope {
  return {
    id: event.id ?? 'evt_fixture',
    type: event.type,
    version: event.version ?? '1.0',
    timestamp: event.timestamp ?? FIXTURE_NOW.toISOString(),
    data: event.data,
    ...(event.metadata ? { metadata: event.metadata } : {}),
  };
}

function fixtureContext(f: Pick<Fixture, 'config' | 'credentials' | 'connection'>): ConnectionContext {
  return { connectionId: 'con_fixture', config: f.config ?? {}, credentials: f.credentials ?? {}, metadata: f.connection ?? {} };
}

/** External ids from the fixture, and those the run remembers, in memory. */
export function memoryRefs(seed: Record<string, Record<string, string>>): ExternalRefs {
  const refs = new Map<string, string>();
  for (const [type, byKey] of Object.entries(seed)) for (const [key, id] of Object.entries(byKey)) refs.set(`${type}\n${key}`, id);
  return {
    get: async (type, key) => refs.get(`${type}\n${key}`) ?? null,
    put: async (type, key, id) => {
      refs.set(`${type}\n${key}`, id);
    },
  };
}

/** Answers each action from the fixture's canned responses (default 200 with `{}`). */
export class CannedTransport implements Transport {
  constructor(private readonly responses: NonNullable<Fixture['responses']>) {}

  async send(action: string): Promise<HttpResult> {
    const canned = this.responses[action] ?? {};
    const body = canned.body === undefined ? {} : canned.body;
    return {
      status: canned.status ?? 200,
      headers: { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json', ...lower(canned.headers ?? {}) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      durationMs: 0,
      error: null,
      errorCode: null,
    };
  }
}

function expectedView(f: Fixture): Record<string, unknown> {
  const view: Record<string, unknown> = {
    outcome: f.expect.outcome ?? defaultOutcome(f.expect),
    requests: (f.expect.requests ?? []).map((r) => ({ ...r, ...(r.headers ? { headers: lower(r.headers) } : {}) })),
  };
  if (f.expect.error !== undefined) view['error'] = f.expect.error;
  if (f.expect.external_id !== undefined) view['external_id'] = f.expect.external_id;
  if (f.expect.retry_after_ms !== undefined) view['retry_after_ms'] = f.expect.retry_after_ms;
  if (f.expect.truncated !== undefined) view['truncated'] = f.expect.truncated;
  return view;
}

/** What a fixture expects when it does not say: a retry when it names the retry's delay, a failure when it names an error. */
function defaultOutcome(expect: Fixture['expect']): NonNullable<Fixture['expect']['outcome']> {
  if (expect.retry_after_ms !== undefined) return 'retry';
  return expect.error !== undefined ? 'failed' : 'succeeded';
}

/**
 * For each request sent whose expectation has a body_schema: the expectation itself when the body is
 * valid, else the expectation with the schema's problems, so that the diff shows them.
 */
async function bodySchemaViews(file: string, run: RunResult, expected: ExpectedRequest[]): Promise<Array<unknown>> {
  return Promise.all(
    run.requests.map(async ({ request }, i) => {
      const expectation = expected[i]?.body_schema;
      if (!expectation) return undefined;
      const body = request.body === null ? null : parseMaybeJson(request.body);
      const problems = await bodySchemaProblems(file, expectation, body);
      return problems.length === 0 ? expectation : { ...expectation, problems };
    }),
  );
}

function actualView(run: RunResult, f: Fixture, schemaViews: Array<unknown>): Record<string, unknown> {
  const { kind } = run.outcome;
  const view: Record<string, unknown> = {
    outcome: kind === 'success' ? 'succeeded' : kind === 'skipped' || kind === 'retry' || kind === 'broken' ? kind : 'failed',
    requests: run.requests.map(({ action, request }, i) => {
      const view = requestView(action, request, f.expect.requests?.[i]);
      return schemaViews[i] === undefined ? view : { ...view, body_schema: schemaViews[i] };
    }),
  };
  if (f.expect.error !== undefined) {
    const reason = 'reason' in run.outcome ? run.outcome.reason : '';
    // Show the expected text when it is contained, the whole reason when it is not.
    view['error'] = reason.includes(f.expect.error) ? f.expect.error : reason;
  }
  if (f.expect.external_id !== undefined) view['external_id'] = run.externalId;
  // The delay before the subscription's cap: what the connector read from the response, which is what a fixture can pin down.
  if (f.expect.retry_after_ms !== undefined) view['retry_after_ms'] = run.outcome.kind === 'retry' ? run.outcome.retryAfterMs : null;
  if (f.expect.truncated !== undefined) view['truncated'] = run.steps.flatMap((s) => s.truncated ?? []);
  return view;
}

function requestView(action: string, request: OutgoingRequest, expected: { headers?: Record<string, string>; body?: unknown } | undefined): Record<string, unknown> {
  const view: Record<string, unknown> = { action, method: request.method, url: request.url };
  if (expected?.headers) {
    const wanted = Object.keys(lower(expected.headers));
    view['headers'] = Object.fromEntries(wanted.filter((h) => request.headers[h] !== undefined).map((h) => [h, request.headers[h]]));
  }
  if (expected && 'body' in expected) view['body'] = request.body === null ? null : parseMaybeJson(request.body);
  return view;
}

function parseMaybeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function lower(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

/** The requests a connector would send for one event: `hookhub connectors map`. */
export async function mapEvent(
  connector: LoadedConnector,
  runtime: ConnectorRuntime,
  event: Fixture['event'],
  link: Pick<Fixture, 'config' | 'credentials' | 'connection' | 'triggers' | 'responses'>,
): Promise<RunResult> {
  return runtime.run(connector, fixtureEvent(event), fixtureContext(link), {
    webhookId: FIXTURE_WEBHOOK_ID,
    triggers: link.triggers ?? null,
    // The API's answers by action, as a fixture gives them (an empty 200 for the others).
    transport: new CannedTransport(link.responses ?? {}),
    refs: memoryRefs({}),
    now: FIXTURE_NOW,
  });
}
