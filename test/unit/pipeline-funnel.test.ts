import { funnelOf, funnelsByRoute, median } from '../../src/integrations/pipeline-funnel';
import { newTrackedRecord, transition } from '../../src/integrations/tracked-record';
import type { ReadState, TrackedRecord } from '../../src/integrations/tracked-record';

const T0 = new Date('2026-06-01T00:00:00Z');
const at = (hours: number): Date => new Date(T0.getTime() + hours * 3_600_000);

function record(eventId: string, more: Partial<TrackedRecord> = {}): TrackedRecord {
  const sent = { tenantId: 't1', connectionId: 'con_1', objectType: 'Lead', eventId, subjectId: null, route: null, externalId: `00Q${eventId}`, state: 'created' as const };
  return { ...newTrackedRecord({ ...sent, sentAt: T0, createdAt: T0 }), ...more };
}

const read = (more: Partial<ReadState> = {}): ReadState => ({ converted: false, opportunityId: null, stage: null, amount: null, currency: null, won: false, closed: false, convertedAt: null, ...more });

describe('pipeline funnel', () => {
  it('counts each stage with the records that reached it or a later one, amounts per currency, and the rates between stages', () => {
    const records = [
      record('a', { state: 'sent', externalId: null, createdAt: null }),
      record('b'),
      record('c', { state: 'converted', convertedAt: at(10), amount: 100, currency: 'USD' }),
      record('d', { state: 'won', convertedAt: at(20), amount: 250, currency: 'USD' }),
      record('e', { state: 'lost', convertedAt: at(30), amount: 80, currency: 'EUR' }),
      record('f', { state: 'won', convertedAt: at(40), amount: 5, currency: null }),
    ];
    const funnel = funnelOf(records);
    expect(funnel.sent).toEqual({ count: 6, amount: {} });
    expect(funnel.created).toEqual({ count: 5, amount: {} });
    expect(funnel.converted).toEqual({ count: 4, amount: { USD: 350, EUR: 80, unknown: 5 } });
    expect(funnel.won).toEqual({ count: 2, amount: { USD: 250, unknown: 5 } });
    expect(funnel.lost).toEqual({ count: 1, amount: { EUR: 80 } });
    expect(funnel.rates).toEqual({ created: 0.8333, converted: 0.8, won: 0.5, overall: 0.3333 });
    // 10, 20, 30 and 40 hours after creation.
    expect(funnel.timeToConvert).toEqual({ count: 4, medianSeconds: 25 * 3600, meanSeconds: 25 * 3600 });
  });

  it('has no rates and no times when nothing reached the stage before', () => {
    expect(funnelOf([])).toMatchObject({ sent: { count: 0 }, rates: { created: null, converted: null, won: null, overall: null }, timeToConvert: { count: 0, medianSeconds: null, meanSeconds: null } });
    expect(funnelOf([record('a', { state: 'sent', externalId: null, createdAt: null })]).rates).toEqual({ created: 0, converted: null, won: null, overall: 0 });
  });

  it('measures time to convert from creation, or from sending when creation is unknown, never below zero', () => {
    const funnel = funnelOf([
      record('a', { state: 'converted', createdAt: null, sentAt: at(0), convertedAt: at(2) }),
      record('b', { state: 'converted', createdAt: at(5), convertedAt: at(4) }),
      record('c', { state: 'converted', createdAt: at(0), convertedAt: at(9) }),
    ]);
    expect(funnel.timeToConvert).toEqual({ count: 3, medianSeconds: 2 * 3600, meanSeconds: Math.round((11 * 3600) / 3) });
  });

  it('groups by route label, labels in order and records without one last', () => {
    const routes = funnelsByRoute([record('a', { route: 'smb' }), record('b'), record('c', { route: 'enterprise', state: 'won', amount: 10, currency: 'USD' }), record('d', { route: 'smb' })]);
    expect(routes.map((r) => [r.route, r.sent.count, r.won.count])).toEqual([
      ['enterprise', 1, 1],
      ['smb', 2, 0],
      [null, 1, 0],
    ]);
  });

  it('takes the median of an even count as the mean of the middle two', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(median([])).toBeNull();
  });
});

describe('tracked record transitions', () => {
  const now = at(50);

  it('a conversion moves a created record to converted and announces it once', () => {
    const t = transition(record('a'), read({ converted: true, opportunityId: '006A', stage: 'Prospecting', amount: 10, currency: 'USD', convertedAt: at(3) }), now);
    expect(t.events).toEqual(['crm.lead_converted']);
    expect(t.patch).toEqual({ checkedAt: now, state: 'converted', convertedAt: at(3), opportunityId: '006A', stage: 'Prospecting', amount: 10, currency: 'USD' });
    const again = transition(record('a', { state: 'converted', convertedAt: at(3) }), read({ converted: true, opportunityId: '006A', stage: 'Qualification', amount: 12 }), now);
    expect(again.events).toEqual([]);
    expect(again.patch).toMatchObject({ stage: 'Qualification', amount: 12 });
    expect(again.patch.state).toBeUndefined();
  });

  it('a deal found won at once is announced converted, then won; a closed deal not won is lost, unannounced', () => {
    expect(transition(record('a'), read({ converted: true, won: true, closed: true }), now)).toMatchObject({ events: ['crm.lead_converted', 'crm.opportunity_won'], patch: { state: 'won', convertedAt: now, closedAt: now } });
    expect(transition(record('a', { state: 'converted' }), read({ converted: true, closed: true }), now)).toMatchObject({ events: [], patch: { state: 'lost', closedAt: now } });
  });

  it('an unconverted record only notes the read; a won or lost one never moves again', () => {
    expect(transition(record('a'), read(), now)).toEqual({ patch: { checkedAt: now }, events: [] });
    expect(transition(record('a', { state: 'won' }), read({ converted: true, closed: true }), now)).toEqual({ patch: { checkedAt: now }, events: [] });
  });
});
