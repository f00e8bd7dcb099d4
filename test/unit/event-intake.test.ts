import { ManualClock } from '../../src/core/clock';
import { MAX_JSON_DEPTH } from '../../src/core/json-depth';
import { HubMetrics } from '../../src/core/metrics';
import { EventIntake } from '../../src/events/intake';
import type { IntakeResult, IntakeScope, InvalidEventRecord } from '../../src/events/intake';
import { EventValidator } from '../../src/events/validator';

const validator = new EventValidator();
const clock = new ManualClock(Date.parse('2026-03-01T12:00:00Z'));
const http: IntakeScope = { source: 'http', tenantId: 'acme' };
const directory: IntakeScope = { source: 'amqp', tenantId: null };
const fromHub: IntakeScope = { source: 'amqp', tenantId: 'acme' };

const deleted = { type: 'business.deleted', data: { id: 'biz_1', deleted_at: '2026-01-01T00:00:00Z' } };
const complete = { id: 'evt_1', version: '1.0', timestamp: '2026-01-01T00:00:00Z', ...deleted };
const exhausted = {
  id: 'evt_2',
  version: '1.0',
  timestamp: '2026-01-01T00:00:00Z',
  type: 'webhook.delivery_exhausted',
  data: {
    subscription_id: 'sub_1', event_id: 'evt_1', event_type: 'business.deleted', webhook_id: 'msg_1', dead_letter_id: 'dl_1',
    attempts: 8, last_status: 500, last_error: null, occurred_at: '2026-01-01T00:00:00Z',
  },
};

function intake(): { intake: EventIntake; recorded: InvalidEventRecord[]; metrics: HubMetrics } {
  const recorded: InvalidEventRecord[] = [];
  const metrics = new HubMetrics();
  const invalidEvents = { recordInvalidEvent: async (record: InvalidEventRecord) => void recorded.push(record) };
  return { intake: new EventIntake({ validator, invalidEvents, metrics, clock }), recorded, metrics };
}

function refusal(result: IntakeResult): { invalid: string; problems: unknown } {
  if ('ok' in result) throw new Error(`accepted: ${JSON.stringify(result.ok)}`);
  return result;
}

describe('event intake', () => {
  it('accepts a valid event as it is', () => {
    expect(intake().intake.accept(complete, directory)).toEqual({ ok: complete });
    expect(intake().intake.acceptBytes(Buffer.from(JSON.stringify(complete)), directory)).toEqual({ ok: complete });
  });

  it('fills the id, version and time of an event posted to the API, and keeps those it has', () => {
    const result = intake().intake.accept(deleted, http);
    expect(result).toEqual({ ok: { ...deleted, id: expect.stringMatching(/^evt_/), version: '1.0', timestamp: '2026-03-01T12:00:00.000Z' } });
    expect(intake().intake.accept(complete, http)).toEqual({ ok: complete });
  });

  it('fills no defaults for an event from the queue: it must be complete as published', () => {
    expect(refusal(intake().intake.accept(deleted, directory))).toEqual({
      invalid: 'invalid_envelope',
      problems: expect.arrayContaining([{ path: '/id', message: 'is required' }, { path: '/timestamp', message: 'is required' }]),
    });
  });

  it('refuses the types only the hub publishes, unless the hub published it', () => {
    const reserved = { invalid: 'reserved_event_type', problems: [{ path: '/type', message: '"webhook.delivery_exhausted" is emitted by Hookhub only' }] };
    expect(refusal(intake().intake.accept(exhausted, http))).toEqual(reserved);
    expect(refusal(intake().intake.accept(exhausted, directory))).toEqual(reserved);
    expect(intake().intake.accept(exhausted, fromHub)).toEqual({ ok: exhausted });
  });

  it('refuses what is not valid with its reason and problems by path', () => {
    const { intake: i } = intake();
    expect(refusal(i.acceptBytes(Buffer.from('{not json'), directory))).toEqual({ invalid: 'invalid_json', problems: [{ path: '/', message: expect.stringMatching(/^body is not JSON: /) }] });
    expect(refusal(i.accept({ ...complete, type: 'business.exploded' }, directory))).toEqual({
      invalid: 'unknown_event_type',
      problems: [{ path: '/type', message: '"business.exploded" is not a known event type; see GET /v1/event-types' }],
    });
    expect(refusal(i.accept({ ...complete, data: { id: 'biz_1' } }, http))).toEqual({ invalid: 'invalid_data', problems: [{ path: '/data/deleted_at', message: 'is required' }] });
    expect(refusal(i.accept({ ...complete, extra: 1 }, http))).toEqual({ invalid: 'invalid_envelope', problems: [{ path: '/extra', message: 'is not an allowed property' }] });
    let deep: unknown = 'x';
    for (let n = 0; n <= MAX_JSON_DEPTH; n += 1) deep = [deep];
    expect(refusal(i.accept({ ...complete, data: deep }, directory))).toEqual({
      invalid: 'too_deep',
      problems: [{ path: '/', message: expect.stringContaining(`the limit is ${MAX_JSON_DEPTH}`) }],
    });
  });

  it('records a refused event with its reason, problems and body as received, and counts it by source and reason', async () => {
    const { intake: i, recorded, metrics } = intake();
    const refused = refusal(i.acceptBytes(Buffer.from('{not json'), directory)) as { invalid: string; problems: Array<{ path: string; message: string }> };
    await i.record(refused, 'x'.repeat(300 * 1024), directory);
    expect(recorded).toEqual([
      { id: expect.stringMatching(/^inv_/), source: 'amqp', tenantId: null, reason: 'invalid_json', problems: refused.problems, raw: 'x'.repeat(256 * 1024), receivedAt: new Date(clock.now()) },
    ]);
    const counted = (await metrics.eventsInvalid.get()).values;
    expect(counted).toEqual([expect.objectContaining({ labels: { source: 'amqp', reason: 'invalid_json' }, value: 1 })]);
  });
});
