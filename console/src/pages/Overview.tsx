import { useMemo, useState } from 'react';
import { api, isMissingRoute, listAll } from '../api';
import type { Json, Page } from '../api';
import { RANGES, deliveryStats, healthOf, successRate } from '../analytics';
import type { RangeName } from '../analytics';
import { Chart } from '../components/Chart';
import { Empty, ErrorNote, Link, PageHeader, StatusBadge, useLoad } from '../components/ui';

interface OverviewData {
  stats: Awaited<ReturnType<typeof deliveryStats>>;
  subscriptions: Json[];
  deadLetters: { count: number; more: boolean };
  queues: Json | null;
  sla: Json | null;
}

async function loadOverview(range: RangeName): Promise<OverviewData> {
  const now = Date.now();
  const [stats, subscriptions, dead, queues, sla] = await Promise.all([
    deliveryStats(range),
    listAll<Json>('/v1/subscriptions', 250),
    api<Page<Json>>('GET', '/v1/dead-letters?limit=250'),
    api<Json>('GET', '/v1/analytics/queues').catch((err: unknown) => (isMissingRoute(err) ? null : Promise.reject(err))),
    api<Json>('GET', `/v1/analytics/sla?from=${new Date(now - RANGES[range] * 1000).toISOString()}&to=${new Date(now).toISOString()}`).catch((err: unknown) => (isMissingRoute(err) ? null : Promise.reject(err))),
  ]);
  // Health comes with the list on hubs that report it; older hubs are asked per subscription (the first 50).
  const subsWithHealth = await Promise.all(
    subscriptions.data.map(async (s, i) => (healthOf(s) || i >= 50 ? s : await api<Json>('GET', `/v1/subscriptions/${String(s['id'])}`).catch(() => s))),
  );
  return { stats, subscriptions: subsWithHealth, deadLetters: { count: dead.data.filter((d) => d['replayedAt'] === null).length, more: dead.nextCursor !== null }, queues, sla };
}

export default function Overview() {
  const [range, setRange] = useState<RangeName>('24h');
  const [auto, setAuto] = useState(true);
  const loaded = useLoad(() => loadOverview(range), [range], auto ? 15_000 : 0);
  const d = loaded.data;
  const buckets = d?.stats.buckets ?? [];
  const times = useMemo(() => buckets.map((b) => b.start), [buckets]);
  const outcome = useMemo(
    () => [
      { label: 'Succeeded', color: '#1a7f37', values: buckets.map((b) => b.succeeded) },
      { label: 'Failed', color: '#c21f2f', values: buckets.map((b) => b.failed) },
    ],
    [buckets],
  );
  const latency = useMemo(
    () => [
      { label: 'p50', color: '#0b5cad', values: buckets.map((b) => b.p50Ms) },
      { label: 'p95', color: '#8a5a00', values: buckets.map((b) => b.p95Ms) },
      { label: 'p99', color: '#c21f2f', values: buckets.map((b) => b.p99Ms) },
    ],
    [buckets],
  );
  const rate = successRate(buckets);
  const total = buckets.reduce((s, b) => s + b.attempts, 0);
  const troubled = (d?.subscriptions ?? []).filter((s) => {
    const state = healthOf(s)?.state;
    return state === 'degraded' || state === 'failing' || s['active'] === false;
  });
  return (
    <>
      <PageHeader title="Overview">
        <label htmlFor="range" className="inline">
          Time range
        </label>
        <select id="range" value={range} onChange={(e) => setRange(e.target.value as RangeName)}>
          {Object.keys(RANGES).map((r) => (
            <option key={r} value={r}>
              Last {r}
            </option>
          ))}
        </select>
        <label className="inline">
          <input type="checkbox" checked={auto} onChange={(e) => setAuto(e.target.checked)} /> Auto-refresh
        </label>
        <button type="button" onClick={loaded.reload}>
          Refresh
        </button>
      </PageHeader>
      <ErrorNote error={loaded.error} />
      {!d ? (
        <p className="loading">Loading…</p>
      ) : (
        <>
          <div className="cards">
            <div className="card" data-testid="stat-attempts">
              <div className="label">Delivery attempts</div>
              <div className="value">{total}</div>
            </div>
            <div className="card" data-testid="stat-success-rate">
              <div className="label">Success rate</div>
              <div className="value">{rate === null ? '—' : `${(rate * 100).toFixed(1)} %`}</div>
            </div>
            <div className="card" data-testid="stat-dead-letters">
              <div className="label">Dead letters to replay</div>
              <div className="value">
                <Link to="/dead-letters">{`${d.deadLetters.count}${d.deadLetters.more ? '+' : ''}`}</Link>
              </div>
            </div>
            <div className="card" data-testid="stat-failing">
              <div className="label">Endpoints needing attention</div>
              <div className="value">{troubled.length}</div>
            </div>
          </div>
          {d.stats.source === 'attempts' && (
            <p className="muted">
              Computed from the {d.stats.partial ? 'newest 1,000 ' : ''}delivery attempts in the range (this hub has no analytics API).
            </p>
          )}
          <div className="charts">
            <Chart title="Deliveries by outcome" times={times} series={outcome} unit="attempts" kind="bars" />
            <Chart title="Latency" times={times} series={latency} unit="ms" />
          </div>
          <section aria-labelledby="attention">
            <h2 id="attention">Endpoints needing attention</h2>
            {troubled.length === 0 ? (
              <Empty>Every endpoint is healthy. Failing or degraded ones show here with their state.</Empty>
            ) : (
              <div className="table-wrap">
                <table data-testid="failing-endpoints">
                  <thead>
                    <tr>
                      <th scope="col">Endpoint</th>
                      <th scope="col">State</th>
                      <th scope="col">Success rate</th>
                    </tr>
                  </thead>
                  <tbody>
                    {troubled.map((s) => {
                      const h = healthOf(s);
                      return (
                        <tr key={String(s['id'])}>
                          <td>
                            <Link to={`/subscriptions/${String(s['id'])}`}>{String(s['endpointUrl'] ?? s['id'])}</Link>
                          </td>
                          <td>
                            <StatusBadge value={s['active'] === false ? 'disabled' : String(h?.state ?? 'unknown')} />
                          </td>
                          <td>{typeof h?.successRate === 'number' ? `${(h.successRate * 100).toFixed(1)} %` : '—'}</td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              </div>
            )}
          </section>
          {d.sla && <SlaSection sla={d.sla} />}
          <QueueSection queues={d.queues} />
        </>
      )}
    </>
  );
}

const ROLE_NAMES: Record<string, string> = {
  router: 'Router (events to match)',
  router_suspect: 'Router, suspect messages',
  deliveries: 'Deliveries',
  deliveries_suspect: 'Deliveries, suspect messages',
  retry: 'Retry ladder (all tiers)',
  invalid: 'Invalid events',
  events_poison: 'Poison events',
  deliveries_poison: 'Poison deliveries',
  dead_letters: 'Dead-letter tap',
};

const count = (v: unknown): string => (typeof v === 'number' ? String(v) : '—');

/** Backlogs (GET /v1/analytics/queues): the tenant's own; the broker's queues only for a key with the operator scope. */
function QueueSection({ queues }: { queues: Json | null }) {
  const tenant = (queues?.['tenant'] ?? null) as Json | null;
  const broker = (queues?.['broker'] ?? null) as Json | null;
  const dead = (tenant?.['deadLetters'] ?? {}) as Json;
  return (
    <section aria-labelledby="queues">
      <h2 id="queues">Queue depths</h2>
      {!tenant ? (
        <p className="muted">This hub does not report queue depths through its API; operators see them in Prometheus (/metrics) and RabbitMQ.</p>
      ) : (
        <div className="table-wrap">
          <table data-testid="tenant-backlog">
            <caption>Your deliveries waiting</caption>
            <tbody>
              <tr>
                <th scope="row">Waiting for a retry</th>
                <td>{count(tenant['waitingForRetry'])}</td>
              </tr>
              <tr>
                <th scope="row">Paused by the monthly quota</th>
                <td>{count(tenant['pausedByQuota'])}</td>
              </tr>
              <tr>
                <th scope="row">Dead letters not replayed</th>
                <td>
                  <Link to="/dead-letters">{count(dead['total'])}</Link>
                </td>
              </tr>
            </tbody>
          </table>
        </div>
      )}
      {typeof queues?.['brokerError'] === 'string' && <p className="error">{queues['brokerError']}</p>}
      {broker && (
        <div className="table-wrap">
          <table data-testid="broker-queues">
            <caption>The hub&apos;s queues (all tenants; operators only)</caption>
            <thead>
              <tr>
                <th scope="col">Queue</th>
                <th scope="col">Ready</th>
                <th scope="col">Unacknowledged</th>
                <th scope="col">Consumers</th>
              </tr>
            </thead>
            <tbody>
              {((broker['roles'] ?? []) as Json[]).map((r) => (
                <tr key={String(r['role'])}>
                  <th scope="row">{ROLE_NAMES[String(r['role'])] ?? String(r['role'])}</th>
                  <td>{count(r['ready'])}</td>
                  <td>{count(r['unacknowledged'])}</td>
                  <td>{count(r['consumers'])}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function pct(v: unknown): string {
  return typeof v === 'number' ? `${(v * 100).toFixed(1)} %` : '—';
}

function ms(v: unknown): string {
  return typeof v === 'number' ? `${Math.round(v)} ms` : '—';
}

/** Delivery against the product's targets (GET /v1/analytics/sla). */
function SlaSection({ sla }: { sla: Json }) {
  const tenant = (sla['tenant'] ?? {}) as Json;
  const targets = (sla['targets'] ?? {}) as Json;
  const meets = (tenant['meetsTargets'] ?? {}) as Json;
  const toSuccess = (tenant['timeToSuccessMs'] ?? null) as Json | null;
  const toFirst = (tenant['timeToFirstAttemptMs'] ?? null) as Json | null;
  const verdict = (v: unknown) => (v === true ? 'met' : v === false ? 'missed' : 'no deliveries');
  return (
    <section aria-labelledby="sla">
      <h2 id="sla">Service level</h2>
      <dl className="kv" data-testid="sla">
        <div className="contents">
          <dt>Success rate after retries</dt>
          <dd>
            {pct(tenant['successRate'])} of {String(tenant['settled'] ?? 0)} settled (target {pct(targets['successRate'])}: {verdict(meets['successRate'])})
          </dd>
        </div>
        <div className="contents">
          <dt>Average time to delivery</dt>
          <dd>
            {ms(toSuccess?.['average'])} (target {ms(targets['averageTimeToDeliveryMs'])}: {verdict(meets['averageTimeToDelivery'])})
          </dd>
        </div>
        <div className="contents">
          <dt>Time to first attempt</dt>
          <dd>
            p50 {ms(toFirst?.['p50'])}, p99 {ms(toFirst?.['p99'])}
          </dd>
        </div>
      </dl>
    </section>
  );
}
