import { useEffect, useState } from 'react';
import { api, isMissingRoute, listAll } from '../api';
import type { Json } from '../api';
import { healthOf } from '../analytics';
import { eventTypes } from '../eventTypes';
import type { EventType } from '../eventTypes';
import { sampleFor } from '../schema';
import { Empty, ErrorNote, JsonView, Link, PageHeader, StatusBadge, errorText, useLoad } from '../components/ui';
import { navigate } from '../router';
import { useCan } from '../session';

export default function Subscriptions() {
  const canWrite = useCan('subscriptions:write');
  const [creating, setCreating] = useState(false);
  const list = useLoad(() => listAll<Json>('/v1/subscriptions', 500), []);
  const subs = list.data?.data ?? [];
  return (
    <>
      <PageHeader title="Subscriptions">
        {canWrite && !creating && (
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            New subscription
          </button>
        )}
      </PageHeader>
      {creating && <SubscriptionForm onDone={(id) => (id ? navigate(`/subscriptions/${id}`) : setCreating(false))} />}
      <ErrorNote error={list.error} />
      {list.data && subs.length === 0 ? (
        <Empty>
          No subscriptions yet. {canWrite ? 'Create one with "New subscription": an endpoint URL and the event types it receives.' : 'A key with subscriptions:write can create one.'}
        </Empty>
      ) : (
        <div className="table-wrap">
          <table>
            <caption className="muted">{subs.length} subscriptions</caption>
            <thead>
              <tr>
                <th scope="col">Endpoint</th>
                <th scope="col">Events</th>
                <th scope="col">Health</th>
                <th scope="col">Success rate</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {subs.map((s) => {
                const h = healthOf(s);
                return (
                  <tr key={String(s['id'])}>
                    <td>
                      <Link to={`/subscriptions/${String(s['id'])}`}>{String(s['endpointUrl'])}</Link>
                      {s['description'] ? <div className="muted">{String(s['description'])}</div> : null}
                    </td>
                    <td>{(s['events'] as string[]).join(', ')}</td>
                    <td>{h ? <StatusBadge value={h.state} /> : <span className="muted">—</span>}</td>
                    <td>{typeof h?.successRate === 'number' ? `${(h.successRate * 100).toFixed(1)} %` : '—'}</td>
                    <td>
                      <StatusBadge value={s['active'] ? 'active' : 'disabled'} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

/** Problems found in the form as the user types (the hub checks again on save). */
async function liveChecks(url: string, filter: string, transform: string): Promise<string[]> {
  const problems: string[] = [];
  try {
    const u = new URL(url);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') problems.push('The endpoint URL must be http(s).');
  } catch {
    if (url !== '') problems.push('The endpoint URL is not a URL (e.g. https://example.com/webhooks).');
  }
  if (filter.trim() !== '' || transform.trim() !== '') {
    const { default: jsonata } = await import('jsonata');
    for (const [name, expr] of [['Filter', filter], ['Payload transform', transform]] as const) {
      if (expr.trim() === '') continue;
      try {
        jsonata(expr);
      } catch (err) {
        problems.push(`${name}: ${(err as Error).message}`);
      }
    }
  }
  return problems;
}

export function SubscriptionForm({ existing, onDone }: { existing?: Json; onDone: (id: string | null) => void }) {
  const [types, setTypes] = useState<EventType[]>([]);
  const [url, setUrl] = useState(String(existing?.['endpointUrl'] ?? ''));
  const [events, setEvents] = useState<string[]>((existing?.['events'] as string[] | undefined) ?? []);
  const [filter, setFilter] = useState(String(existing?.['filter'] ?? ''));
  const [transform, setTransform] = useState(String((existing?.['payload'] as Json | null)?.['transform'] ?? ''));
  const [description, setDescription] = useState(String(existing?.['description'] ?? ''));
  const [problems, setProblems] = useState<string[]>([]);
  const [preview, setPreview] = useState<unknown>(null);
  const [endpointCheck, setEndpointCheck] = useState<string[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<Json | null>(null);
  useEffect(() => {
    void eventTypes().then(setTypes);
  }, []);
  useEffect(() => {
    const timer = window.setTimeout(() => {
      void liveChecks(url, filter, transform).then(setProblems);
    }, 250);
    return () => window.clearTimeout(timer);
  }, [url, filter, transform]);
  const body = (): Json => ({
    endpointUrl: url,
    events,
    filter: filter.trim() === '' ? null : filter,
    payload: transform.trim() === '' ? null : { transform },
    description: description.trim() === '' ? null : description,
  });
  // What the endpoint would receive for a sample event: the event as the hub completes it (its inspect
  // API), this form's filter and transform applied to it, and for a saved subscription the hub's own dry run.
  const runPreview = async () => {
    const type = events[0] ?? types[0]?.type;
    const et = types.find((t) => t.type === type);
    if (!et) return;
    const sample = { type: et.type, data: sampleFor(et.schema, 'data') };
    let envelope: unknown = { id: 'evt_sample', type: et.type, timestamp: new Date().toISOString(), version: '1.0', data: sample.data };
    let dryRun: unknown = null;
    try {
      const inspection = await api<Json>('POST', '/v1/events/inspect', sample);
      envelope = inspection['event'] ?? envelope;
      const mine = ((inspection['subscriptions'] as Json[] | undefined) ?? []).find((x) => x['id'] === existing?.['id']);
      if (mine) dryRun = { matched: mine['matched'], reason: mine['reason'], request: mine['request'] };
    } catch (err) {
      if (!isMissingRoute(err)) {
        setPreview({ error: errorText(err) });
        return;
      }
    }
    const { default: jsonata } = await import('jsonata');
    try {
      const passes = filter.trim() === '' ? true : Boolean(await jsonata(filter).evaluate(envelope));
      const body = passes ? (transform.trim() === '' ? envelope : await jsonata(transform).evaluate(envelope)) : null;
      setPreview({ event: envelope, filterPasses: passes, endpointReceives: body, ...(dryRun ? { savedSubscriptionDryRun: dryRun } : {}) });
    } catch (err) {
      setPreview({ event: envelope, error: (err as Error).message });
    }
  };
  const checkEndpoint = async () => {
    try {
      const check = await api<Json>('POST', '/v1/endpoints/validate', { url });
      const issues = ((check['issues'] as Json[] | undefined) ?? []).map((i) => `${String(i['severity'] ?? '')}: ${String(i['message'] ?? JSON.stringify(i))}`);
      setEndpointCheck(issues.length === 0 ? ['The endpoint answered the signed test request: deliveries will reach it.'] : issues);
    } catch (err) {
      setEndpointCheck([isMissingRoute(err) ? 'This hub cannot check endpoints yet (POST /v1/endpoints/validate).' : errorText(err)]);
    }
  };
  if (created) {
    return (
      <section aria-labelledby="created">
        <h2 id="created">Subscription created</h2>
        <p>
          Its signing secret is shown once here; copy it into your receiver. You can reveal it again on the subscription&apos;s page.
        </p>
        <p>
          <span className="secret" data-testid="new-secret">{String(created['secret'] ?? created['publicKey'] ?? '')}</span>
        </p>
        <button type="button" className="primary" onClick={() => onDone(String(created['id']))}>
          Open the subscription
        </button>
      </section>
    );
  }
  return (
    <section aria-labelledby="sub-form">
      <h2 id="sub-form">{existing ? 'Edit subscription' : 'New subscription'}</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setError(null);
          const save = existing ? api<Json>('PATCH', `/v1/subscriptions/${String(existing['id'])}`, body()) : api<Json>('POST', '/v1/subscriptions', body());
          save.then(
            (s) => (existing ? onDone(String(s['id'])) : setCreated(s)),
            (err: unknown) => setError(errorText(err)),
          );
        }}
      >
        <div className="field">
          <label htmlFor="endpointUrl">Endpoint URL</label>
          <input id="endpointUrl" type="url" required size={60} value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://example.com/webhooks" />
          <button type="button" onClick={() => void checkEndpoint()} disabled={url === ''}>
            Check endpoint
          </button>
          {endpointCheck && (
            <ul className="checks" aria-live="polite" data-testid="endpoint-check">
              {endpointCheck.map((c) => (
                <li key={c}>{c}</li>
              ))}
            </ul>
          )}
        </div>
        <fieldset className="field">
          <legend>Event types</legend>
          {types.map((t) => (
            <label key={t.type} className="inline check">
              <input
                type="checkbox"
                checked={events.includes(t.type)}
                onChange={(e) => setEvents(e.target.checked ? [...events, t.type] : events.filter((x) => x !== t.type))}
              />{' '}
              {t.type}
            </label>
          ))}
        </fieldset>
        <div className="field">
          <label htmlFor="filter">Filter (JSONata, optional)</label>
          <input id="filter" size={60} value={filter} onChange={(e) => setFilter(e.target.value)} placeholder='data.category = "restaurants"' />
          <p className="hint">Delivered only when it evaluates to true over the event envelope.</p>
        </div>
        <div className="field">
          <label htmlFor="transform">Payload transform (JSONata, optional)</label>
          <input id="transform" size={60} value={transform} onChange={(e) => setTransform(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="description">Description</label>
          <input id="description" size={60} value={description} onChange={(e) => setDescription(e.target.value)} />
        </div>
        <div aria-live="polite" data-testid="live-checks">
          {problems.length === 0 ? (
            <p className="ok">Checks pass.</p>
          ) : (
            <ul className="checks error">
              {problems.map((p) => (
                <li key={p}>{p}</li>
              ))}
            </ul>
          )}
        </div>
        <div className="page-actions">
          <button type="submit" className="primary" disabled={events.length === 0 || url === ''}>
            {existing ? 'Save' : 'Create subscription'}
          </button>
          <button type="button" onClick={() => void runPreview()}>
            Preview on a sample event
          </button>
          <button type="button" onClick={() => onDone(null)}>
            Cancel
          </button>
        </div>
        <ErrorNote error={error} />
        {preview !== null && <JsonView value={preview} label="Preview" />}
      </form>
    </section>
  );
}
