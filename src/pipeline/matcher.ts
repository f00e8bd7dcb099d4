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

/** A key that is a plain dotted path (data.id) needs no JSONata evaluation. */
const PLAIN_PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

function listensTo(subscription: Subscription, type: string): boolean {
  return subscription.events.includes(type) || subscription.events.includes('*');
}

/** Why an event would or would not go to a subscription: each check `matches` makes, with its outcome. */
export interface MatchExplanation {
  matched: boolean;
  /** The first check that failed, in the order the router makes them; null when it matches. */
  failedCheck: 'inactive' | 'event_type' | 'field_filters' | 'filter' | null;
  active: boolean;
  /** The subscription's event types (`*`: all) and whether the event's type is among them. */
  eventType: { events: string[]; passed: boolean };
  /** Each field filter with the value found at its path in the event (null when absent). */
  fieldFilters: Array<FieldFilter & { actual: unknown; passed: boolean }>;
  /** The JSONata filter and what it returned (only `true` matches); null without one. `error`: it failed on this event. */
  filter: { expression: string; result: unknown; passed: boolean; error: string | null } | null;
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

  /**
   * Every check `matches` makes, each with its outcome, for a dry run (POST /v1/events/inspect):
   * all are evaluated even after one fails, and the JSONata filter's result is given as it came.
   * A filter that hits a sandbox limit is reported as an error here rather than thrown.
   */
  async explain(subscription: Subscription, envelope: EventEnvelope): Promise<MatchExplanation> {
    const eventType = { events: subscription.events, passed: listensTo(subscription, envelope.type) };
    const fieldFilters = subscription.filters.map((f) => ({ ...f, actual: getPath(envelope, f.field) ?? null, passed: matchesFieldFilter(envelope, f) }));
    let filter: MatchExplanation['filter'] = null;
    if (subscription.filter !== null) {
      try {
        const result = await this.evaluateFilter(subscription.filter, envelope);
        filter = { expression: subscription.filter, result: result ?? null, passed: result === true, error: null };
      } catch (err) {
        filter = { expression: subscription.filter, result: null, passed: false, error: (err as Error).message };
      }
    }
    const failedCheck: MatchExplanation['failedCheck'] = !subscription.active
      ? 'inactive'
      : !eventType.passed
        ? 'event_type'
        : fieldFilters.some((f) => !f.passed)
          ? 'field_filters'
          : filter !== null && !filter.passed
            ? 'filter'
            : null;
    return { matched: failedCheck === null, failedCheck, active: subscription.active, eventType, fieldFilters, filter };
  }

  private matchesWithoutFilter(subscription: Subscription, envelope: EventEnvelope): boolean {
    if (!subscription.active) return false;
    if (!listensTo(subscription, envelope.type)) return false;
    return subscription.filters.every((f) => matchesFieldFilter(envelope, f));
  }

  private async filterMatches(subscription: Subscription, envelope: EventEnvelope): Promise<boolean> {
    if (subscription.filter === null) return true;
    try {
      return (await this.evaluateFilter(subscription.filter, envelope)) === true;
    } catch (err) {
      if (err instanceof ExpressionLimitError) throw err;
      // A filter that throws on this event does not match it; the subscription
      // still receives the events its filter accepts.
      return false;
    }
  }

  /**
   * A subscription's ordering key on an event, as text: a plain dotted path is read directly,
   * anything else is evaluated in the sandbox. No value (or an expression failing on this event)
   * is the empty key: such events are ordered among themselves.
   */
  async orderingKey(source: string, envelope: EventEnvelope): Promise<string> {
    let value: unknown;
    try {
      value = PLAIN_PATH.test(source) ? getPath(envelope, source) : await this.expression(source).evaluate(envelope);
    } catch {
      value = undefined;
    }
    if (value === undefined || value === null) return '';
    return typeof value === 'string' ? value : JSON.stringify(value);
  }

  /** The JSONata filter's value on the event; only `true` matches. */
  private evaluateFilter(source: string, envelope: EventEnvelope): Promise<unknown> {
    return this.expression(source).evaluate(envelope);
  }

  private expression(source: string): CompiledExpression {
    return this.compiled.get(source, compileJsonata);
  }
}
