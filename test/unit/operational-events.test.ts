import { ManualClock } from '../../src/core/clock';
import { createLogger } from '../../src/core/logger';
import type { EventEnvelope } from '../../src/events/envelope';
import { OperationalEvents } from '../../src/events/operational-events';
import type { EventPublisher } from '../../src/events/operational-events';
import { EventValidator } from '../../src/events/validator';

const clock = new ManualClock(Date.parse('2026-03-01T12:00:00Z'));

function logged(): { logger: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

describe('operational events', () => {
  it('publishes a valid envelope to the tenant concerned, stamped with one time', async () => {
    const published: Array<{ envelope: EventEnvelope; scope: string | null }> = [];
    const publisher: EventPublisher = { publishEvent: async (envelope, scope) => void published.push({ envelope, scope }) };
    const events = new OperationalEvents(publisher, logged().logger, clock);
    const data = { subscription_id: 'sub_1', reason: 'gone', last_status: 410 };
    await events.emit('acme', 'webhook.endpoint_disabled', data);
    expect(published).toEqual([
      {
        scope: 'acme',
        envelope: {
          id: expect.stringMatching(/^evt_/),
          type: 'webhook.endpoint_disabled',
          version: '1.0',
          timestamp: '2026-03-01T12:00:00.000Z',
          data: { ...data, occurred_at: '2026-03-01T12:00:00.000Z' },
        },
      },
    ]);
    const quota = events.envelope('api.quota_warning', { api_key_id: 'key_1', quota: 10, used: 8, threshold_percent: 80, period_end: '2026-03-01T12:01:00.000Z' });
    expect(new EventValidator().check(quota)).toEqual({ ok: true, envelope: quota });
  });

  it('only warns when the event cannot be published: the alert is best effort', async () => {
    const { logger, lines } = logged();
    const events = new OperationalEvents({ publishEvent: async () => Promise.reject(new Error('broker down')) }, logger, clock);
    await expect(events.emit('acme', 'api.rate_limit_exceeded', { api_key_id: 'key_1' })).resolves.toBeUndefined();
    expect(lines).toEqual([expect.objectContaining({ level: 40, err: 'broker down', type: 'api.rate_limit_exceeded', tenantId: 'acme', msg: 'could not publish an operational event' })]);
  });
});
