import { useEffect, useState } from 'react';
import { api } from '../api';
import type { Json, Page } from '../api';
import { AttemptsTable } from '../components/AttemptsTable';
import { ErrorNote, PageHeader, errorText } from '../components/ui';
import { navigate, useLocation } from '../router';

const FILTERS = ['status', 'subscriptionId', 'eventId', 'type', 'since'] as const;

/** The delivery log: newest first, cursor paging (the hub never counts the whole log); filters in the URL. */
export default function Deliveries() {
  const { query } = useLocation();
  const initial = Object.fromEntries(FILTERS.map((f) => [f, query.get(f) ?? ''])) as Record<(typeof FILTERS)[number], string>;
  const [form, setForm] = useState(initial);
  const [rows, setRows] = useState<Json[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const load = async (after: string | null) => {
    const q = new URLSearchParams({ limit: '50' });
    if (initial.status) q.set('status', initial.status);
    if (initial.subscriptionId) q.set('subscriptionId', initial.subscriptionId);
    if (initial.eventId) q.set('eventId', initial.eventId);
    if (initial.type) q.set('type', initial.type);
    if (initial.since) q.set('from', new Date(initial.since).toISOString());
    if (after) q.set('cursor', after);
    try {
      const page = await api<Page<Json>>('GET', `/v1/deliveries?${q.toString()}`);
      // Type and time are narrowed here too, for hubs whose log does not filter on them.
      const since = initial.since ? Date.parse(initial.since) : 0;
      const data = page.data.filter((a) => (!initial.type || a['eventType'] === initial.type) && Date.parse(String(a['createdAt'])) >= since);
      setRows((r) => (after ? [...r, ...data] : data));
      setCursor(page.nextCursor);
      setLoaded(true);
    } catch (err) {
      setError(errorText(err));
    }
  };
  const qs = query.toString();
  useEffect(() => {
    setForm(initial);
    void load(null);
  }, [qs]);
  return (
    <>
      <PageHeader title="Delivery log" />
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          const q = new URLSearchParams(Object.entries(form).filter(([, v]) => v !== ''));
          navigate(`/deliveries${q.size ? `?${q.toString()}` : ''}`);
        }}
      >
        <div>
          <label htmlFor="f-status">Status</label>
          <select id="f-status" value={form.status} onChange={(e) => setForm({ ...form, status: e.target.value })}>
            <option value="">any</option>
            <option value="succeeded">succeeded</option>
            <option value="failed">failed</option>
          </select>
        </div>
        <div>
          <label htmlFor="f-type">Event type</label>
          <input id="f-type" value={form.type} onChange={(e) => setForm({ ...form, type: e.target.value })} placeholder="business.created" />
        </div>
        <div>
          <label htmlFor="f-sub">Subscription id</label>
          <input id="f-sub" value={form.subscriptionId} onChange={(e) => setForm({ ...form, subscriptionId: e.target.value })} />
        </div>
        <div>
          <label htmlFor="f-event">Event id</label>
          <input id="f-event" value={form.eventId} onChange={(e) => setForm({ ...form, eventId: e.target.value })} />
        </div>
        <div>
          <label htmlFor="f-since">Since</label>
          <input id="f-since" type="datetime-local" value={form.since} onChange={(e) => setForm({ ...form, since: e.target.value })} />
        </div>
        <button type="submit" className="primary">
          Apply filters
        </button>
      </form>
      <ErrorNote error={error} />
      {loaded && <AttemptsTable attempts={rows} emptyText="No delivery attempts match. Clear the filters, or publish an event (POST /v1/events) or simulate one on a subscription's page." />}
      {cursor && (
        <button type="button" onClick={() => void load(cursor)}>
          Load older attempts
        </button>
      )}
    </>
  );
}
