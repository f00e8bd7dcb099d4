import { useEffect, useMemo, useState } from 'react';
import { api } from '../api';
import type { Json, Page } from '../api';
import { RANGES, deliveryStats, healthOf, successRate } from '../analytics';
import type { RangeName } from '../analytics';
import { AttemptsTable } from '../components/AttemptsTable';
import { Chart } from '../components/Chart';
import { ActionButton, ErrorNote, JsonView, PageHeader, StatusBadge, Time, errorText, useLoad } from '../components/ui';
import { eventTypes } from '../eventTypes';
import type { EventType } from '../eventTypes';
import { sampleFor, validate } from '../schema';
import type { Problem } from '../schema';
import { useCan } from '../session';
import { SubscriptionForm } from './Subscriptions';

export default function SubscriptionDetail({ params }: { params: string[] }) {
  const id = params[0] ?? '';
  const canWrite = useCan('subscriptions:write');
  const canReadDeliveries = useCan('deliveries:read');
  const sub = useLoad(() => api<Json>('GET', `/v1/subscriptions/${encodeURIComponent(id)}`), [id]);
  const attempts = useLoad(
    () => (canReadDeliveries ? api<Page<Json>>('GET', `/v1/deliveries?subscriptionId=${encodeURIComponent(id)}&limit=20`) : Promise.resolve({ data: [], nextCursor: null })),
    [id],
    4000,
  );
  const [editing, setEditing] = useState(false);
  const [secret, setSecret] = useState<string | null>(null);
  const s = sub.data;
  if (!s) return <>{sub.error ? <ErrorNote error={sub.error} /> : <p className="loading">Loading…</p>}</>;
  const h = healthOf(s);
  return (
    <>
      <PageHeader title={String(s['endpointUrl'])}>
        {canWrite && (
          <>
            <button type="button" onClick={() => setEditing(!editing)}>
              {editing ? 'Close editor' : 'Edit'}
            </button>
            <ActionButton onRun={() => api('PATCH', `/v1/subscriptions/${id}`, { active: !s['active'] }).then(sub.reload)}>{s['active'] ? 'Disable' : 'Enable'}</ActionButton>
          </>
        )}
      </PageHeader>
      {editing && (
        <SubscriptionForm
          existing={s}
          onDone={() => {
            setEditing(false);
            sub.reload();
          }}
        />
      )}
      <div className="grid2">
        <section aria-labelledby="about">
          <h2 id="about">Subscription</h2>
          <dl className="kv">
            <dt>Id</dt>
            <dd className="mono">{id}</dd>
            <dt>Status</dt>
            <dd>
              <StatusBadge value={s['active'] ? 'active' : 'disabled'} /> {s['disabledReason'] ? String(s['disabledReason']) : ''}
            </dd>
            <dt>Events</dt>
            <dd>{(s['events'] as string[]).join(', ')}</dd>
            <dt>Filter</dt>
            <dd className="mono">{s['filter'] ? String(s['filter']) : '—'}</dd>
            <dt>Signing</dt>
            <dd>{String((s['signing'] as Json | null)?.['algorithm'] ?? 'hmac-sha256')}</dd>
            <dt>Created</dt>
            <dd>
              <Time at={String(s['createdAt'])} />
            </dd>
          </dl>
          {canWrite && (
            <div className="page-actions">
              <ActionButton onRun={() => api<Json>('GET', `/v1/subscriptions/${id}/secret`).then((r) => setSecret(String(r['secret'] ?? r['publicKey'] ?? '')))}>Reveal secret</ActionButton>
              <ActionButton
                kind="danger"
                onRun={async () => {
                  if (!window.confirm('Rotate the signing secret? The old one keeps signing for 24 hours.')) return;
                  const r = await api<Json>('POST', `/v1/subscriptions/${id}/rotate-secret`, {});
                  setSecret(String(r['secret'] ?? r['publicKey'] ?? ''));
                  sub.reload();
                }}
              >
                Rotate secret
              </ActionButton>
            </div>
          )}
          {secret && (
            <p>
              Secret: <span className="secret" data-testid="secret">{secret}</span>
            </p>
          )}
          {s['previousSecretExpiresAt'] ? (
            <p className="muted">
              The previous secret signs too until <Time at={String(s['previousSecretExpiresAt'])} />.
            </p>
          ) : null}
        </section>
        <section aria-labelledby="health">
          <h2 id="health">Health</h2>
          {h ? (
            <dl className="kv" data-testid="health">
              <dt>State</dt>
              <dd>
                <StatusBadge value={h.state} /> {h.since ? <>since <Time at={h.since} /></> : null}
              </dd>
              {h.reason ? (
                <>
                  <dt>Why</dt>
                  <dd>{h.reason}</dd>
                </>
              ) : null}
              <dt>Success rate</dt>
              <dd>{typeof h.successRate === 'number' ? `${(h.successRate * 100).toFixed(1)} %` : '—'}</dd>
              <dt>p95 latency</dt>
              <dd>{typeof h.p95Ms === 'number' ? `${h.p95Ms} ms` : '—'}</dd>
              <dt>Last success</dt>
              <dd>
                <Time at={h.lastSuccessAt} />
              </dd>
              <dt>Last failure</dt>
              <dd>
                <Time at={h.lastFailureAt} />
              </dd>
            </dl>
          ) : (
            <p className="muted">This hub does not report endpoint health; the recent attempts below show how deliveries went.</p>
          )}
        </section>
      </div>
      {canReadDeliveries && <SubscriptionCharts id={id} />}
      {canWrite && <Simulate id={id} events={s['events'] as string[]} onSent={attempts.reload} />}
      <section aria-labelledby="recent">
        <h2 id="recent">Recent attempts</h2>
        {canReadDeliveries ? (
          <AttemptsTable attempts={attempts.data?.data ?? []} emptyText="No delivery attempts yet. Simulate an event above, or publish one with POST /v1/events." />
        ) : (
          <p className="muted">This key cannot read deliveries (deliveries:read).</p>
        )}
      </section>
      {canWrite && <ReplayWindow id={id} />}
    </>
  );
}

function SubscriptionCharts({ id }: { id: string }) {
  const [range, setRange] = useState<RangeName>('24h');
  const stats = useLoad(() => deliveryStats(range, id), [range, id], 15_000);
  const buckets = stats.data?.buckets ?? [];
  const times = useMemo(() => buckets.map((b) => b.start), [buckets]);
  const outcome = useMemo(
    () => [
      { label: 'Succeeded', color: '#1a7f37', values: buckets.map((b) => b.succeeded) },
      { label: 'Failed', color: '#c21f2f', values: buckets.map((b) => b.failed) },
    ],
    [buckets],
  );
  const latency = useMemo(() => [{ label: 'p95', color: '#8a5a00', values: buckets.map((b) => b.p95Ms) }], [buckets]);
  const rate = successRate(buckets);
  return (
    <section aria-labelledby="charts">
      <h2 id="charts">Deliveries</h2>
      <div className="filters">
        <div>
          <label htmlFor="sub-range">Time range</label>
          <select id="sub-range" value={range} onChange={(e) => setRange(e.target.value as RangeName)}>
            {Object.keys(RANGES).map((r) => (
              <option key={r} value={r}>
                Last {r}
              </option>
            ))}
          </select>
        </div>
        <p>Success rate: {rate === null ? '—' : `${(rate * 100).toFixed(1)} %`}</p>
      </div>
      <ErrorNote error={stats.error} />
      <div className="charts">
        <Chart title="Deliveries by outcome" times={times} series={outcome} unit="attempts" kind="bars" />
        <Chart title="Latency p95" times={times} series={latency} unit="ms" />
      </div>
    </section>
  );
}

function Simulate({ id, events, onSent }: { id: string; events: string[]; onSent: () => void }) {
  const [types, setTypes] = useState<EventType[]>([]);
  const [type, setType] = useState(events[0] ?? '');
  const [text, setText] = useState('');
  const [result, setResult] = useState<Json | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    void eventTypes().then(setTypes);
  }, []);
  const et = types.find((t) => t.type === type);
  useEffect(() => {
    if (et) setText(JSON.stringify(sampleFor(et.schema, 'data'), null, 2));
  }, [et]);
  let problems: Problem[] = [];
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text);
    problems = et ? validate(et.schema, parsed) : [];
  } catch (err) {
    problems = text === '' ? [] : [{ path: '/', message: `not JSON: ${(err as Error).message}` }];
  }
  return (
    <section aria-labelledby="simulate">
      <h2 id="simulate">Simulate an event</h2>
      <div className="field">
        <label htmlFor="sim-type">Event type</label>
        <select id="sim-type" value={type} onChange={(e) => setType(e.target.value)}>
          {types.map((t) => (
            <option key={t.type} value={t.type}>
              {t.type}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="sim-data">Event data (JSON, checked against the type&apos;s schema as you type)</label>
        <textarea id="sim-data" rows={10} value={text} onChange={(e) => setText(e.target.value)} spellCheck={false} aria-describedby="sim-problems" />
        <div id="sim-problems" aria-live="polite" data-testid="schema-problems">
          {problems.length === 0 ? (
            <p className="ok">Matches the schema of {type}.</p>
          ) : (
            <ul className="checks error">
              {problems.map((p) => (
                <li key={`${p.path}${p.message}`}>
                  {p.path} {p.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      </div>
      <ActionButton
        kind="primary"
        onRun={async () => {
          setError(null);
          try {
            setResult(await api<Json>('POST', `/v1/subscriptions/${id}/test`, { type, data: parsed }));
          } catch (err) {
            setError(errorText(err));
          }
          onSent();
        }}
      >
        Send test event
      </ActionButton>
      <ErrorNote error={error} />
      {result && (
        <div data-testid="test-result">
          <p>
            Endpoint answered <strong>{String(result['httpStatus'] ?? (result['response'] as Json | undefined)?.['status'] ?? result['error'] ?? '—')}</strong>
          </p>
          <JsonView value={result} label="Test delivery result" />
        </div>
      )}
    </section>
  );
}

function ReplayWindow({ id }: { id: string }) {
  const hourAgo = new Date(Date.now() - 3600_000).toISOString().slice(0, 16);
  const [since, setSince] = useState(hourAgo);
  const [until, setUntil] = useState('');
  const [done, setDone] = useState<string | null>(null);
  return (
    <section aria-labelledby="replay">
      <h2 id="replay">Replay a time window</h2>
      <p className="muted">Re-sends this subscription&apos;s dead letters created in the window.</p>
      <div className="filters">
        <div>
          <label htmlFor="replay-since">Since</label>
          <input id="replay-since" type="datetime-local" value={since} onChange={(e) => setSince(e.target.value)} />
        </div>
        <div>
          <label htmlFor="replay-until">Until (empty: now)</label>
          <input id="replay-until" type="datetime-local" value={until} onChange={(e) => setUntil(e.target.value)} />
        </div>
        <ActionButton
          onRun={async () => {
            const body: Json = { since: new Date(since).toISOString() };
            if (until) body['until'] = new Date(until).toISOString();
            const r = await api<Json>('POST', `/v1/subscriptions/${id}/replay`, body);
            setDone(`${String(r['replayed'])} dead letters replayed.`);
          }}
        >
          Replay window
        </ActionButton>
      </div>
      {done && <p role="status">{done}</p>}
    </section>
  );
}
