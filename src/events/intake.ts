import { systemClock } from '../core/clock';
import type { Clock } from '../core/clock';
import type { ValidationProblem } from '../core/errors';
import { newId } from '../core/ids';
import { MAX_JSON_DEPTH, exceedsDepth } from '../core/json-depth';
import type { HubMetrics } from '../core/metrics';
import { isOperationalType } from './catalog';
import { CURRENT_EVENT_VERSION } from './envelope';
import type { EventEnvelope } from './envelope';
import type { EventValidator } from './validator';

/** Where a candidate event came in: posted to the API, or read from the events queue. */
export type IntakeSource = 'http' | 'amqp';

/** Who sent a candidate event and for whom. */
export interface IntakeScope {
  source: IntakeSource;
  /**
   * The tenant it is published for, or null for a directory event (everyone).
   * From the queue, only the hub publishes with a tenant scope: events posted
   * to the API (checked there already) and its own operational events.
   */
  tenantId: string | null;
}

/** Why a candidate was refused: a stable reason (invalid_json, invalid_data, ...) and its problems by path. */
export interface IntakeRefusal {
  invalid: string;
  problems: ValidationProblem[];
}

/** What the intake made of a candidate: an envelope to route, or the reason it is refused. */
export type IntakeResult = { ok: EventEnvelope } | IntakeRefusal;

/** An event that failed intake, kept as received. */
export interface InvalidEventRecord {
  id: string;
  source: IntakeSource;
  tenantId: string | null;
  reason: string;
  problems: ValidationProblem[];
  /** The body as received (truncated to 256 KiB), so nothing is lost. */
  raw: string;
  receivedAt: Date;
}

/** Where refused events are recorded (the store). */
export interface InvalidEventLog {
  recordInvalidEvent(record: InvalidEventRecord): Promise<void>;
}

export interface EventIntakeOptions {
  validator: EventValidator;
  invalidEvents: InvalidEventLog;
  metrics: HubMetrics;
  clock?: Clock;
}

const RAW_LIMIT = 256 * 1024;

/**
 * The one way into the hub for an event, whether posted to the API or read
 * from the events queue: parse, fill the API's defaults, validate, refuse the
 * types only the hub may publish, and record what is refused with its reason
 * and problems.
 */
export class EventIntake {
  private readonly clock: Clock;

  constructor(private readonly options: EventIntakeOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /** Bytes as the broker handed them over. */
  acceptBytes(body: Buffer, scope: IntakeScope): IntakeResult {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (err) {
      return { invalid: 'invalid_json', problems: [{ path: '/', message: `body is not JSON: ${(err as Error).message}` }] };
    }
    return this.accept(parsed, scope);
  }

  /**
   * A parsed candidate. One posted to the API gets an id, the current version and
   * the time as its defaults; one from the queue must be complete as published.
   */
  accept(candidate: unknown, scope: IntakeScope): IntakeResult {
    if (exceedsDepth(candidate, MAX_JSON_DEPTH)) {
      // Deeper than any real event, and deep enough to break recursive code downstream (JSON.stringify, the store).
      return { invalid: 'too_deep', problems: [{ path: '/', message: `nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep; the limit is ${MAX_JSON_DEPTH}` }] };
    }
    const check = this.options.validator.check(scope.source === 'http' ? this.withDefaults(candidate) : candidate);
    if (!check.ok) return { invalid: check.reason, problems: check.problems };
    const { envelope } = check;
    // Tenants must not forge the hub's alerts; from the queue a tenant-scoped event was published by the hub.
    const fromHub = scope.source === 'amqp' && scope.tenantId !== null;
    if (isOperationalType(envelope.type) && !fromHub) {
      return { invalid: 'reserved_event_type', problems: [{ path: '/type', message: `"${envelope.type}" is emitted by Hookhub only` }] };
    }
    return { ok: envelope };
  }

  /** Counts and records a refused event, with the body as received. */
  async record(refused: IntakeRefusal, raw: string, scope: IntakeScope): Promise<void> {
    this.options.metrics.eventsInvalid.inc({ source: scope.source, reason: refused.invalid });
    await this.options.invalidEvents.recordInvalidEvent({
      id: newId('inv'),
      source: scope.source,
      tenantId: scope.tenantId,
      reason: refused.invalid,
      problems: refused.problems,
      raw: raw.slice(0, RAW_LIMIT),
      receivedAt: new Date(this.clock.now()),
    });
  }

  private withDefaults(candidate: unknown): unknown {
    if (candidate === null || typeof candidate !== 'object' || Array.isArray(candidate)) return candidate;
    const body = candidate as Record<string, unknown>;
    return {
      ...body,
      id: body['id'] ?? newId('evt'),
      version: body['version'] ?? CURRENT_EVENT_VERSION,
      timestamp: body['timestamp'] ?? new Date(this.clock.now()).toISOString(),
    };
  }
}
