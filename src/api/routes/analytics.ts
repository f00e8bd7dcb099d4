import { Router } from 'express';
import { ValidationError } from '../../core/errors';
import { bucketCount, deliverySeries, INTERVALS, MAX_BUCKETS, seriesStart, slaBySubscription } from '../../pipeline/delivery-analytics';
import type { Interval } from '../../pipeline/delivery-analytics';
import type { StatsResolution } from '../../pipeline/delivery-stats';
import { principalOf, tenantOf } from '../auth';
import { brokerDepthsView, tenantBacklogView } from '../queue-depths-view';
import type { ApiDeps } from '../deps';
import { dateParam, optionalString } from '../params';
import { OPERATOR_SCOPE, hasScope, route } from '../scopes';

/** The window a request asks for when it names no `from`: the last day for minutes and hours, 30 days for days. */
const DEFAULT_SPAN_MS: Record<Interval, number> = { minute: 3_600_000, hour: 86_400_000, day: 30 * 86_400_000 };
/** SLA windows up to a day are read from minute rows; longer ones from hour rows, rounded out to whole hours. */
const SLA_MINUTE_ROWS_UP_TO_MS = 86_400_000;

/**
 * Delivery analytics, read from the counters written with each attempt batch (never from the
 * attempts themselves): a series per minute, hour or day, and the SLA per subscription.
 */
export function analyticsRoutes(deps: ApiDeps): Router {
  const router = Router();

  route(router, 'GET', '/v1/analytics/deliveries', { scope: 'deliveries:read' }, async (req, res) => {
    const intervalRaw = optionalString(req.query, 'interval') ?? 'hour';
    if (!Object.hasOwn(INTERVALS, intervalRaw)) {
      throw new ValidationError('interval must be "minute", "hour" or "day".', [{ path: 'query.interval', message: `unknown interval "${intervalRaw}"` }]);
    }
    const interval = intervalRaw as Interval;
    const { from, to } = windowOf(req.query, DEFAULT_SPAN_MS[interval]);
    const buckets = bucketCount(from, to, interval);
    if (buckets > MAX_BUCKETS) {
      throw new ValidationError(`That window holds ${buckets} ${interval}s; at most ${MAX_BUCKETS} buckets are answered. Narrow from/to or use a longer interval.`, [
        { path: 'query.from', message: `more than ${MAX_BUCKETS} buckets` },
      ]);
    }
    const start = seriesStart(from, interval);
    const rows = await deps.store.listDeliveryStats(tenantOf(res), {
      resolution: INTERVALS[interval].rows,
      from: start,
      to,
      subscriptionId: optionalString(req.query, 'subscriptionId'),
      eventType: optionalString(req.query, 'type'),
    });
    const series = deliverySeries(rows, from, to, interval);
    res.json({ interval, from: start.toISOString(), to: to.toISOString(), totals: series.totals, data: series.buckets });
  });

  route(router, 'GET', '/v1/analytics/sla', { scope: 'deliveries:read' }, async (req, res) => {
    const tenantId = tenantOf(res);
    const { from, to } = windowOf(req.query, 86_400_000);
    const resolution: StatsResolution = to.getTime() - from.getTime() <= SLA_MINUTE_ROWS_UP_TO_MS ? 'minute' : 'hour';
    const start = seriesStart(from, resolution);
    const [rows, targets] = await Promise.all([deps.store.listDeliveryStats(tenantId, { resolution, from: start, to }), deps.slaTargets(tenantId)]);
    const sla = slaBySubscription(tenantId, rows, targets);
    res.json({ from: start.toISOString(), to: to.toISOString(), targets, tenant: sla.tenant, data: sla.subscriptions });
  });

  /**
   * Backlogs: the tenant's own (retries to come, dead letters by reason), from indexed counts; and,
   * for a key that also holds the operator scope, the depths of the broker's queues, which every
   * tenant shares and no tenant sees.
   */
  route(router, 'GET', '/v1/analytics/queues', { scope: 'deliveries:read' }, async (_req, res) => {
    const tenantId = tenantOf(res);
    const now = new Date(deps.clock.now());
    const [pendingRetries, deadLetters] = await Promise.all([deps.store.countPendingRetries(tenantId, now), deps.store.countDeadLettersByReason(tenantId)]);
    const body: Record<string, unknown> = { tenant: tenantBacklogView(pendingRetries, deadLetters) };
    if (hasScope(principalOf(res).scopes, OPERATOR_SCOPE)) {
      try {
        body['broker'] = brokerDepthsView(await deps.broker.queueDepths(), now);
      } catch (err) {
        // The tenant's part still answers; the operator learns why the broker's is missing.
        body['broker'] = null;
        body['brokerError'] = `The broker did not tell its queue depths: ${(err as Error).message}. Check RabbitMQ and /readyz.`;
      }
    }
    res.json(body);
  });
  return router;
}

/** from/to of a request: `to` defaults to now, `from` to `defaultSpanMs` before it; from must come first. */
function windowOf(query: Record<string, unknown>, defaultSpanMs: number): { from: Date; to: Date } {
  const toRaw = optionalString(query, 'to');
  const fromRaw = optionalString(query, 'from');
  const to = toRaw === undefined ? new Date() : dateParam(toRaw, 'query.to');
  const from = fromRaw === undefined ? new Date(to.getTime() - defaultSpanMs) : dateParam(fromRaw, 'query.from');
  if (from.getTime() >= to.getTime()) {
    throw new ValidationError('from must be before to (ISO 8601 date-times, e.g. from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00Z).', [{ path: 'query.from', message: 'not before to' }]);
  }
  return { from, to };
}
