/**
 * Realistic sample `data` payloads for every event type Hookhub knows about.
 *
 * Used for test deliveries ("send a sample event to my endpoint"), docs and
 * tests. Each call returns a fresh object, so callers may mutate the result.
 * Every sample includes the optional fields too and validates against
 * `schemas/events/<type>.schema.json`.
 */

type SampleFactory = () => Record<string, unknown>;

const HOUR_MS = 60 * 60 * 1000;
const APP_CREDENTIALS_ACTION = "nothing to do: Hookhub's operators are alerted; the connection is kept and its deliveries are retried until the app credentials work again";
const DAY_MS = 24 * HOUR_MS;

function iso(offsetMs = 0): string {
  return new Date(Date.now() + offsetMs).toISOString();
}

const FACTORIES: ReadonlyMap<string, SampleFactory> = new Map<string, SampleFactory>([
  [
    'business.created',
    () => ({
      id: 'biz_1a2b3c',
      name: "Rosa's Corner Bakery",
      category: 'bakery',
      address: {
        street: '742 Evergreen Terrace',
        city: 'Springfield',
        state: 'OR',
        zip: '97477',
        coordinates: { lat: 44.0462, lng: -123.022 },
      },
      contact: {
        phone: '+1-541-555-0142',
        email: 'hello@rosascorner.example',
        website: 'https://rosascorner.example',
      },
      status: 'active',
      created_at: iso(),
    }),
  ],
  [
    'business.updated',
    () => ({
      id: 'biz_1a2b3c',
      changes: {
        name: { old_value: "Rosa's Bakery", new_value: "Rosa's Corner Bakery" },
        'contact.phone': { old_value: null, new_value: '+1-541-555-0142' },
      },
      updated_at: iso(),
    }),
  ],
  [
    'business.verified',
    () => ({
      id: 'biz_1a2b3c',
      name: "Rosa's Corner Bakery",
      verified_at: iso(),
      verification_method: 'document',
      verified_by: 'staff_9f8e7d',
    }),
  ],
  [
    'business.deleted',
    () => ({
      id: 'biz_1a2b3c',
      name: "Rosa's Corner Bakery",
      reason: 'Business permanently closed',
      deleted_at: iso(),
    }),
  ],
  [
    'review.created',
    () => ({
      id: 'rev_4d5e6f',
      business_id: 'biz_1a2b3c',
      rating: 5,
      title: 'Best sourdough in town',
      content: 'Crusty outside, soft inside, and the staff are lovely. Will be back every Saturday.',
      author: { name: 'Jamie L.', verified: true, user_id: 'usr_5e6f7g' },
      photos: ['https://cdn.lawless.example/reviews/rev_4d5e6f/1.jpg'],
      created_at: iso(),
    }),
  ],
  [
    'review.updated',
    () => ({
      id: 'rev_4d5e6f',
      business_id: 'biz_1a2b3c',
      changes: {
        rating: { old_value: 4, new_value: 5 },
        content: {
          old_value: 'Good sourdough.',
          new_value: 'Crusty outside, soft inside, and the staff are lovely. Will be back every Saturday.',
        },
      },
      updated_at: iso(),
    }),
  ],
  [
    'review.responded',
    () => ({
      id: 'rev_4d5e6f',
      business_id: 'biz_1a2b3c',
      response: {
        content: 'Thank you so much, Jamie! See you on Saturday.',
        author: { name: 'Rosa M.', role: 'owner' },
        created_at: iso(),
      },
      responded_at: iso(),
    }),
  ],
  [
    'review.moderated',
    () => ({
      id: 'rev_7g8h9i',
      business_id: 'biz_1a2b3c',
      action: 'flagged',
      reason: 'Possible spam: contains promotional links',
      moderator: 'mod_2b3c4d',
      moderated_at: iso(),
    }),
  ],
  [
    'user.registered',
    () => ({
      id: 'usr_5e6f7g',
      email: 'jamie.lee@example.com',
      name: 'Jamie Lee',
      plan: 'free',
      registered_at: iso(),
    }),
  ],
  [
    'user.subscription_changed',
    () => ({
      id: 'usr_5e6f7g',
      old_plan: 'basic',
      new_plan: 'pro',
      changed_at: iso(),
      effective_at: iso(DAY_MS),
    }),
  ],
  [
    'api.rate_limit_exceeded',
    () => ({
      api_key_id: 'key_3c4d5e',
      endpoint: 'GET /v1/businesses',
      limit: 100,
      window_seconds: 60,
      retry_after_seconds: 42,
      occurred_at: iso(),
    }),
  ],
  [
    'api.quota_warning',
    () => ({
      api_key_id: 'key_3c4d5e',
      quota: 10000,
      used: 8012,
      threshold_percent: 80,
      period_end: iso(7 * DAY_MS),
      occurred_at: iso(),
    }),
  ],
  [
    'webhook.delivery_exhausted',
    () => ({
      subscription_id: 'sub_6f7g8h',
      event_id: 'evt_01hz3k9q7r',
      event_type: 'business.created',
      webhook_id: 'msg_2bYq8XvVtQ1pLk0sFh3nRw7JcDe',
      attempts: 6,
      last_status: 503,
      last_error: 'HTTP 503 Service Unavailable',
      dead_letter_id: 'dl_01JD8Z6Q4W0X5R2T7Y9V3B1N8M',
      occurred_at: iso(),
    }),
  ],
  [
    'webhook.endpoint_disabled',
    () => ({
      subscription_id: 'sub_6f7g8h',
      endpoint_url: 'https://hooks.rosascorner.example/lawless',
      reason: 'Endpoint responded 410 Gone',
      occurred_at: iso(),
    }),
  ],
  [
    'webhook.endpoint_degraded',
    () => ({
      subscription_id: 'sub_6f7g8h',
      endpoint_url: 'https://hooks.rosascorner.example/lawless',
      state: 'degraded',
      previous_state: 'healthy',
      reason: 'p95 latency 7400 ms is above 5000 ms over the last 5 min.',
      success_rate: 0.97,
      p95_ms: 7400,
      consecutive_failures: 0,
      last_success_at: iso(-2000),
      last_failure_at: iso(-60_000),
      occurred_at: iso(),
    }),
  ],
  [
    'webhook.endpoint_recovered',
    () => ({
      subscription_id: 'sub_6f7g8h',
      endpoint_url: 'https://hooks.rosascorner.example/lawless',
      state: 'healthy',
      previous_state: 'failing',
      success_rate: 1,
      p95_ms: 180,
      last_success_at: iso(-1000),
      last_failure_at: iso(-20 * 60_000),
      unhealthy_since: iso(-45 * 60_000),
      occurred_at: iso(),
    }),
  ],
  [
    'webhook.sla_breach',
    () => ({
      plan: 'business',
      missed: ['delivery_success_percent'],
      attainment: { delivery_success_percent: 97.25, p99_first_attempt_seconds: 0.84, settled: 1200, succeeded: 1167 },
      targets: { delivery_success_percent: 99.9, p99_first_attempt_seconds: 2 },
      window_start: iso(-HOUR_MS),
      window_end: iso(),
      occurred_at: iso(),
    }),
  ],
  [
    'webhook.expression_failed',
    () => ({
      subscription_id: 'sub_6f7g8h',
      event_id: 'evt_01hz3k9q7r',
      event_type: 'business.created',
      webhook_id: 'msg_2bYq8XvVtQ1pLk0sFh3nRw7JcDe',
      error: "The subscription's filter failed on this event: The expression ran longer than 1000 ms and was stopped; simplify it and test it with a sample event.",
      dead_letter_id: 'dl_01JD8Z6Q4W0X5R2T7Y9V3B1N8M',
      occurred_at: iso(),
    }),
  ],
  [
    'webhook.delivery_quarantined',
    () => ({
      subscription_id: 'sub_6f7g8h',
      event_id: 'evt_01hz3k9q7r',
      event_type: 'business.created',
      webhook_id: 'msg_2bYq8XvVtQ1pLk0sFh3nRw7JcDe',
      deliveries: 4,
      reason: 'Handling this delivery crashed, stalled or failed the delivery worker 4 times, so it was set aside for the operators instead of being tried again.',
      occurred_at: iso(),
    }),
  ],
  [
    'connection.needs_reauth',
    () => ({
      connection_id: 'con_01JD8Z6Q4W0X5R2T7Y9V3B1N8M',
      connector: 'salesforce',
      reason: 'invalid_grant: expired access/refresh token',
      relink: 'POST /v1/connections/authorize {"connector": "salesforce", "connectionId": "con_01JD8Z6Q4W0X5R2T7Y9V3B1N8M"}',
      occurred_at: iso(),
    }),
  ],
  [
    'connection.broken',
    () => ({
      connection_id: 'con_01JD9A2K7M3P5Q8R1S4T6V9W0X',
      connector: 'discord',
      reason: 'post_message: The Discord webhook was deleted (Unknown Webhook); give the connection a new webhook URL',
      fix: 'PATCH /v1/connections/con_01JD9A2K7M3P5Q8R1S4T6V9W0X with the link\'s new credentials or settings (or link the account again); the parked deliveries are then replayed',
      occurred_at: iso(),
    }),
  ],
  [
    'connection.app_credentials_failed',
    () => ({
      connection_id: 'con_01JDA3M8P2Q5R7S9T1V4W6X8Y0',
      connector: 'hubspot',
      reason: 'invalid_client: client authentication failed',
      action: APP_CREDENTIALS_ACTION,
      occurred_at: iso(),
    }),
  ],
  ['crm.lead_converted', () => crmRecord()],
  ['crm.opportunity_won', () => ({ ...crmRecord(), stage: 'Closed Won', won_at: iso() })],
]);

/** A Lead a Salesforce connection created, converted into an Opportunity. */
function crmRecord(): Record<string, unknown> {
  return {
    connection_id: 'con_01JDB4N9Q3R6S8T0V2W5X7Y9Z1',
    connector: 'salesforce',
    object_type: 'Lead',
    external_id: '00Q5g000004XyZaEAK',
    opportunity_id: '0065g00000AbCdEAAZ',
    stage: 'Prospecting',
    amount: 4800,
    currency: 'USD',
    route: 'enterprise',
    event_id: 'evt_01JD7Q0E5W9R2C8M4N6P1T3Y5H',
    subject_id: 'biz_1a2b3c',
    converted_at: iso(-2 * DAY_MS),
    occurred_at: iso(),
  };
}

/** The 21 event types that have a sample (and a data schema). */
export const SAMPLE_TYPES: readonly string[] = Object.freeze([...FACTORIES.keys()]);

/** Returns a fresh, realistic sample `data` object for `type`; throws for an unknown type. */
export function sampleData(type: string): Record<string, unknown> {
  const factory = FACTORIES.get(type);
  if (factory === undefined) {
    throw new Error(`No sample data for unknown event type "${type}"`);
  }
  return factory();
}
