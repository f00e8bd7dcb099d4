import { compileJsonata } from '../core/jsonata';
import type { CompiledExpression } from '../core/jsonata';
import { getPath } from '../core/json-path';
import { Memo } from '../core/memo';
import { ExpressionLimitError, expressionSandbox } from '../core/sandbox/expression-sandbox';
import type { EventEnvelope } from '../events/envelope';
import type { FieldFilter, Subscription } from '../subscriptions/model';

export function matchesFieldFilter(envelope: EventEnvelope, filter: FieldFilter): boolean {
  const actual = getPath(envelope, filter.field);
  switch (filter.operator) {
    case 'exists':
      return filter.value === false ? actual === undefined : actual !== undefined && actual !== null;
    case 'equals':
      return deepEqual(actual, filter.value);
    case 'in':
      return Array.isArray(filter.value) && filter.value.some((v) => deepEqual(actual, v));
    case 'contains':
      if (typeof actual === 'string') return typeof filter.value === 'string' && actual.toLowerCase().includes(filter.value.toLowerCase());
      if (Array.isArray(actual)) return actual.some((v) => deepEqual(v, filter.value));
      return false;
  }
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Decides whether an event goes to a subscription: event type, every field
 * filter, and the JSONata filter when there is one. JSONata is compiled once per
 * expression text and reused across subscriptions.
 */
export class SubscriptionMatcher {
  private readonly compiled = new Memo<string, CompiledExpression>(5000);

  /**
   * Throws an ExpressionLimitError when the JSONata filter hit a sandbox limit:
   * that is the subscription's failure to record, not a quiet non-match.
   */
  async matches(subscription: Subscription, envelope: EventEnvelope): Promise<boolean> {
    if (!this.matchesWithoutFilter(subscription, envelope)) return false;
    return this.filterMatches(subscription, envelope);
  }

  /**
   * As `matches`, but a JSONata filter that recently hit a sandbox limit is not
   * waited for: 'pending' leaves it to the delivery worker, so one tenant's
   * quarantined filter never holds up routing an event to everyone else.
   */
  async decide(subscription: Subscription, envelope: EventEnvelope): Promise<'match' | 'no_match' | 'pending'> {
    if (!this.matchesWithoutFilter(subscription, envelope)) return 'no_match';
    if (subscription.filter !== null && expressionSandbox().isQuarantined(subscription.filter)) return 'pending';
    return (await this.filterMatches(subscription, envelope)) ? 'match' : 'no_match';
  }

  private matchesWithoutFilter(subscription: Subscription, envelope: EventEnvelope): boolean {
    if (!subscription.active) return false;
    if (!subscription.events.includes(envelope.type) && !subscription.events.includes('*')) return false;
    return subscription.filters.every((f) => matchesFieldFilter(envelope, f));
  }

  private async filterMatches(subscription: Subscription, envelope: EventEnvelope): Promise<boolean> {
    if (subscription.filter === null) return true;
    try {
      return (await this.expression(subscription.filter).evaluate(envelope)) === true;
    } catch (err) {
      if (err instanceof ExpressionLimitError) throw err;
      // A filter that throws on this event does not match it; the subscription
      // still receives the events its filter accepts.
      return false;
    }
  }

  private expression(source: string): CompiledExpression {
    return this.compiled.get(source, compileJsonata);
  }
}
