import { PayloadBuilder, selectFields } from '../../src/webhooks/payload';
import { buildWebhookRequest } from '../../src/webhooks/webhook-request';
import type { EventEnvelope } from '../../src/events/envelope';
import { matchesFieldFilter, SubscriptionMatcher } from '../../src/pipeline/matcher';
import type { WebhookSubscription } from '../../src/subscriptions/model';

const event: EventEnvelope = {
  id: 'evt_1',
  type: 'review.created',
  version: '1.0',
  timestamp: '2026-11-28T10:00:00Z',
  data: { id: 'rev_1', business_id: 'biz_1', rating: 2, title: 'Cold soup', author: { name: 'Ann', verified: true }, photos: ['https://x/1.jpg'], created_at: '2026-11-28T10:00:00Z' },
};

function sub(overrides: Partial<WebhookSubscription>): WebhookSubscription {
  return {
    id: 'sub_1', tenantId: 't', kind: 'webhook', endpointUrl: 'https://example.com', events: ['review.created'], filters: [], filter: null, payload: null, headers: {},
    retryConfig: { maxRetries: 1, initialDelaySeconds: 1, backoffMultiplier: 1, maxBackoffSeconds: 1 }, active: true, description: null,
    secretSealed: 'x', disabledReason: null, createdAt: new Date(), updatedAt: new Date(), ...overrides,
  };
}

describe('field filters', () => {
  it.each([
    [{ field: 'data.rating', operator: 'equals', value: 2 }, true],
    [{ field: 'data.rating', operator: 'equals', value: '2' }, false],
    [{ field: 'data.author', operator: 'equals', value: { name: 'Ann', verified: true } }, true],
    [{ field: 'data.rating', operator: 'in', value: [1, 2] }, true],
    [{ field: 'data.rating', operator: 'in', value: [4, 5] }, false],
    [{ field: 'data.title', operator: 'contains', value: 'SOUP' }, true],
    [{ field: 'data.photos', operator: 'contains', value: 'https://x/1.jpg' }, true],
    [{ field: 'data.rating', operator: 'contains', value: 2 }, false],
    [{ field: 'data.author.verified', operator: 'exists' }, true],
    [{ field: 'data.response', operator: 'exists' }, false],
    [{ field: 'data.response', operator: 'exists', value: false }, true],
  ] as const)('%j → %s', (filter, expected) => {
    expect(matchesFieldFilter(event, filter as never)).toBe(expected);
  });
});

describe('SubscriptionMatcher', () => {
  const matcher = new SubscriptionMatcher();
  it('needs the type, every filter and the JSONata filter', async () => {
    expect(await matcher.matches(sub({}), event)).toBe(true);
    expect(await matcher.matches(sub({ events: ['business.created'] }), event)).toBe(false);
    expect(await matcher.matches(sub({ events: ['*'] }), event)).toBe(true);
    expect(await matcher.matches(sub({ active: false }), event)).toBe(false);
    expect(await matcher.matches(sub({ filters: [{ field: 'data.rating', operator: 'equals', value: 2 }, { field: 'data.id', operator: 'equals', value: 'x' }] }), event)).toBe(false);
    expect(await matcher.matches(sub({ filter: 'data.rating <= 2 and data.author.verified' }), event)).toBe(true);
    expect(await matcher.matches(sub({ filter: 'data.rating > 3' }), event)).toBe(false);
  });

  it('treats a filter that throws, or yields a non-boolean, as no match', async () => {
    expect(await matcher.matches(sub({ filter: '$error("boom")' }), event)).toBe(false);
    expect(await matcher.matches(sub({ filter: 'data.rating' }), event)).toBe(false);
  });
});

describe('payloads', () => {
  const builder = new PayloadBuilder();
  it('wraps the event data with the delivery metadata', async () => {
    expect(await builder.build(event, null, 'sub_1', 3)).toEqual({
      id: 'evt_1', type: 'review.created', created: '2026-11-28T10:00:00Z', data: event.data, webhook: { subscription_id: 'sub_1', delivery_attempt: 3 },
    });
  });
  it('sends the same bytes as JSON.stringify of that body, for every subscription of an event', async () => {
    const tricky: EventEnvelope = { ...event, id: 'evt_"quoted"\u2028', data: { ...event.data, title: 'Line\nbreak "and" ünïcode \u{1F600}', nothing: null } };
    for (const [subscriptionId, attempt] of [['sub_1', 1], ['sub_"2"', 7]] as const) {
      const request = await buildWebhookRequest(builder, sub({ id: subscriptionId }), ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'], 'msg_1', tricky, attempt);
      expect(request.body).toBe(JSON.stringify(await builder.build(tricky, null, subscriptionId, attempt)));
      expect(JSON.parse(request.body)).toEqual({ id: tricky.id, type: 'review.created', created: tricky.timestamp, data: tricky.data, webhook: { subscription_id: subscriptionId, delivery_attempt: attempt } });
    }
    // Shaped bodies too: selected fields, and a transform.
    for (const payload of [{ fields: ['data.title', 'author.name'] }, { transform: '{"t": data.title, "n": null}' }]) {
      const body = await builder.serialize(tricky, sub({ payload }), 2);
      expect(body).toBe(JSON.stringify(await builder.build(tricky, payload, 'sub_1', 2)));
    }
  });
  it('keeps only the selected fields, with or without the data. prefix', () => {
    expect(selectFields(event.data, ['data.rating', 'author.name', 'data.missing'])).toEqual({ rating: 2, author: { name: 'Ann' } });
  });
  it('replaces data with the JSONata transform of the envelope', async () => {
    const body = await builder.build(event, { transform: '{"stars": $join([1..data.rating].("*")), "event": id}' }, 'sub_1', 1);
    expect(body.data).toEqual({ stars: '**', event: 'evt_1' });
  });
  it('fails permanently, with a clear error, when the transform throws or runs away', async () => {
    await expect(builder.build(event, { transform: '$error("no mapping")' }, 'sub_1', 1)).rejects.toMatchObject({ code: 'jsonata_evaluation_failed', name: 'UnrecoverableError' });
    // Runaway recursion is stopped by the sandbox's deadline: a limit error, still unrecoverable.
    await expect(builder.build(event, { transform: '($f := function($n){ $f($n + 1) }; $f(0))' }, 'sub_1', 1)).rejects.toMatchObject({
      code: 'expression_timeout',
      name: 'ExpressionLimitError',
    });
  });
});
