import { compileJsonata } from '../core/jsonata';
import type { CompiledExpression } from '../core/jsonata';
import { getPath } from '../core/json-path';
import { Memo } from '../core/memo';
import type { EventEnvelope } from '../events/envelope';
import type { FieldFilter, SubscriptionRecord } from '../store/port';

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

  async matches(subscription: SubscriptionRecord, envelope: EventEnvelope): Promise<boolean> {
    if (!subscription.active) return false;
    if (!subscription.events.includes(envelope.type) && !subscription.events.includes('*')) return false;
    if (!subscription.filters.every((f) => matchesFieldFilter(envelope, f))) return false;
    if (subscription.filter === null) return true;
    try {
      return (await this.expression(subscription.filter).evaluate(envelope)) === true;
    } catch {
      // A filter that throws on this event does not match it; the subscription
      // still receives the events its filter accepts.
      return false;
    }
  }

  private expression(source: string): CompiledExpression {
    return this.compiled.get(source, compileJsonata);
  }
}
