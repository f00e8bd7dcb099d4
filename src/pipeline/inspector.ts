import { systemClock } from '../core/clock';
import type { Clock } from '../core/clock';
import { errorMessage, UnrecoverableError } from '../core/errors';
import { webhookIdFor } from '../core/ids';
import type { SecretBox } from '../core/secret-box';
import type { EventEnvelope } from '../events/envelope';
import type { EventIntake } from '../events/intake';
import type { ValidationProblem } from '../events/validator';
import type { Subscription, SubscriptionKind } from '../subscriptions/model';
import type { SubscriptionRepository } from '../subscriptions/repository';
import { maskSecretHeaders } from '../subscriptions/secret-headers';
import { loadSubscription } from '../subscriptions/subscription-cache';
import type { LoadedRelay, LoadedWebhook } from '../subscriptions/subscription-cache';
import type { PayloadBuilder } from '../webhooks/payload';
import { requestFor } from '../webhooks/webhook-request';
import type { MatchExplanation, SubscriptionMatcher } from './matcher';

/** The most subscriptions of each kind a dry run looks at; more are left out and `truncated` says so. */
export const MAX_INSPECTED_PER_KIND = 500;
const PAGE = 100;

/** What one subscription would get, or why not. */
export interface InspectedSubscription {
  id: string;
  kind: SubscriptionKind;
  description: string | null;
  /** Webhooks: the endpoint; relays: `listen:<id>`; integrations: null. */
  endpointUrl: string | null;
  matched: boolean;
  failedCheck: MatchExplanation['failedCheck'];
  /** Why it does not match, in plain words; null when it matches. */
  reason: string | null;
  checks: Omit<MatchExplanation, 'matched' | 'failedCheck'>;
  /**
   * Webhooks and relays that match: the request exactly as the first attempt would send it (fields
   * selected, transformed, encrypted, then signed now), secret header values masked. Null otherwise.
   */
  request: { url: string; webhookId: string; headers: Record<string, string>; body: string; signature: string } | null;
  /** The payload could not be built (the transform failed on this event): the delivery would fail for good. */
  error: string | null;
  /** Integrations: the connection and triggers the connector would run; their requests are previewed with `hookhub connectors map`. */
  integration: { connectionId: string; connector: string; triggers: string[] | null } | null;
}

export interface Inspection {
  /** The event as POST /v1/events would accept it (defaults filled in); nothing is published. */
  valid: boolean;
  /** Why it would be refused (the intake's reason, e.g. invalid_data); null when valid. */
  reason: string | null;
  problems: ValidationProblem[];
  event: EventEnvelope | null;
  /** Every subscription of the tenant (webhooks, integrations, listen relays), matched or not; empty for an invalid event, which is never routed. */
  subscriptions: InspectedSubscription[];
  /** More subscriptions than a dry run looks at (MAX_INSPECTED_PER_KIND of each kind). */
  truncated: boolean;
}

export interface EventInspectorOptions {
  intake: Pick<EventIntake, 'accept'>;
  store: Pick<SubscriptionRepository, 'listSubscriptions'>;
  matcher: SubscriptionMatcher;
  payloads: PayloadBuilder;
  secretBox: SecretBox;
  clock?: Clock;
}

/**
 * A dry run of an event (POST /v1/events/inspect): the intake's checks, the router's matching and the
 * delivery targets' request building, with the same code and nothing published, stored or sent.
 */
export class EventInspector {
  private readonly clock: Clock;

  constructor(private readonly options: EventInspectorOptions) {
    this.clock = options.clock ?? systemClock;
  }

  async inspect(tenantId: string, candidate: Record<string, unknown>): Promise<Inspection> {
    const accepted = this.options.intake.accept(candidate, { source: 'http', tenantId });
    if (!('ok' in accepted)) return { valid: false, reason: accepted.invalid, problems: accepted.problems, event: null, subscriptions: [], truncated: false };
    const event = accepted.ok;
    const { subscriptions, truncated } = await this.subscriptionsOf(tenantId);
    const now = new Date(this.clock.now());
    const inspected = await Promise.all(subscriptions.map((s) => this.inspectOne(s, event, now)));
    return { valid: true, reason: null, problems: [], event, subscriptions: inspected, truncated };
  }

  private async inspectOne(subscription: Subscription, event: EventEnvelope, now: Date): Promise<InspectedSubscription> {
    const { matched, failedCheck, ...checks } = await this.options.matcher.explain(subscription, event);
    const out: InspectedSubscription = {
      id: subscription.id,
      kind: subscription.kind,
      description: subscription.description,
      endpointUrl: subscription.kind === 'webhook' ? subscription.endpointUrl : subscription.kind === 'relay' ? `listen:${subscription.id}` : null,
      matched,
      failedCheck,
      reason: failedCheck === null ? null : reasonFor(subscription, event, { matched, failedCheck, ...checks }),
      checks,
      request: null,
      error: null,
      integration: subscription.kind === 'integration' ? { connectionId: subscription.integration.connectionId, connector: subscription.integration.connector, triggers: subscription.integration.triggers } : null,
    };
    if (!matched || subscription.kind === 'integration') return out;
    const loaded = loadSubscription(subscription, this.options.secretBox, this.clock) as LoadedWebhook | LoadedRelay;
    const webhookId = webhookIdFor(event.id, subscription.id);
    try {
      const request = await requestFor(this.options.payloads, loaded, webhookId, event, 1, now);
      const headers = subscription.kind === 'webhook' ? maskSecretHeaders(request.headers, subscription) : request.headers;
      out.request = { url: request.url, webhookId, headers, body: request.body, signature: request.headers['webhook-signature'] ?? '' };
    } catch (err) {
      // What the delivery would record: a payload that cannot be built fails for good (a transform limit included).
      if (!(err instanceof UnrecoverableError)) throw err;
      out.error = errorMessage(err);
    }
    return out;
  }

  private async subscriptionsOf(tenantId: string): Promise<{ subscriptions: Subscription[]; truncated: boolean }> {
    const subscriptions: Subscription[] = [];
    let truncated = false;
    for (const kind of ['webhook', 'relay', 'integration'] as const) {
      let cursor: string | undefined;
      let count = 0;
      for (;;) {
        const page = await this.options.store.listSubscriptions(tenantId, kind, { limit: PAGE, ...(cursor === undefined ? {} : { cursor }) });
        const room = MAX_INSPECTED_PER_KIND - count;
        subscriptions.push(...page.data.slice(0, room));
        count += Math.min(page.data.length, room);
        if (page.nextCursor === null) break;
        if (count >= MAX_INSPECTED_PER_KIND) {
          truncated = true;
          break;
        }
        cursor = page.nextCursor;
      }
    }
    return { subscriptions, truncated };
  }
}

/** Why the event would not go to the subscription, in plain words. */
function reasonFor(subscription: Subscription, event: EventEnvelope, match: MatchExplanation): string {
  switch (match.failedCheck) {
    case 'inactive':
      return `The subscription is disabled${subscription.disabledReason ? ` (${subscription.disabledReason})` : ''}: set "active": true to receive events again.`;
    case 'event_type':
      return `It listens to ${subscription.events.join(', ')}, not to ${event.type}.`;
    case 'field_filters': {
      const failed = match.fieldFilters.filter((f) => !f.passed);
      return failed
        .map((f) => `Field filter ${f.field} ${f.operator}${f.value === undefined ? '' : ` ${JSON.stringify(f.value)}`} failed: the event has ${f.actual === null ? 'no value there' : JSON.stringify(f.actual)}.`)
        .join(' ');
    }
    case 'filter':
      return match.filter?.error
        ? `The JSONata filter failed on this event (${match.filter.error}), which counts as no match.`
        : `The JSONata filter returned ${JSON.stringify(match.filter?.result ?? null)}; only true matches.`;
    default:
      return '';
  }
}
