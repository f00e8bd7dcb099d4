import { useState } from 'react';
import { api } from '../api';
import type { Json, Page } from '../api';
import { AttemptsTable } from '../components/AttemptsTable';
import { ActionButton, ErrorNote, JsonView, Link, PageHeader, StatusBadge, Time, useLoad } from '../components/ui';
import { useCan } from '../session';

interface Detail {
  attempt: Json;
  event: Json | null;
  deadLetter: Json | null;
}

async function loadDetail(id: string): Promise<Detail> {
  const attempt = await api<Json>('GET', `/v1/deliveries/${encodeURIComponent(id)}`);
  const [event, dead] = await Promise.all([
    api<Json>('GET', `/v1/events/${encodeURIComponent(String(attempt['eventId']))}`).catch(() => null),
    api<Page<Json>>('GET', `/v1/dead-letters?subscriptionId=${encodeURIComponent(String(attempt['subscriptionId']))}&limit=250`).catch(() => ({ data: [], nextCursor: null })),
  ]);
  return { attempt, event, deadLetter: dead.data.find((d) => d['webhookId'] === attempt['webhookId']) ?? null };
}

/** The request as the hub sent it (when the hub records it), else rebuilt from the attempt and its event. */
function requestOf(d: Detail): { url: string; headers: Record<string, string>; body: string; recorded: boolean } {
  const r = d.attempt['request'] as { url?: string; headers?: Record<string, string>; body?: string } | undefined;
  if (r && typeof r === 'object') return { url: r.url ?? String(d.attempt['url']), headers: r.headers ?? {}, body: r.body ?? '', recorded: true };
  return { url: String(d.attempt['url']), headers: { 'content-type': 'application/json', 'webhook-id': String(d.attempt['webhookId']) }, body: d.event ? JSON.stringify(d.event) : '', recorded: false };
}

export function curlOf(req: { url: string; headers: Record<string, string>; body: string }): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const headers = Object.entries(req.headers).map(([k, v]) => ` \\\n  -H ${q(`${k}: ${v}`)}`).join('');
  return `curl -X POST ${q(req.url)}${headers}${req.body ? ` \\\n  --data-raw ${q(req.body)}` : ''}`;
}

/** The attempts of resends of this attempt (its event's attempts to its subscription that name it), newest first. */
function Resends({ attempt, polling }: { attempt: Json; polling: boolean }) {
  const id = String(attempt['id']);
  const query = `eventId=${encodeURIComponent(String(attempt['eventId']))}&subscriptionId=${encodeURIComponent(String(attempt['subscriptionId']))}&limit=100`;
  // While a resend is on its way, look again every few seconds until its attempts show.
  const loaded = useLoad(() => api<Page<Json>>('GET', `/v1/deliveries?${query}`), [query], polling ? 3000 : 0);
  const resends = (loaded.data?.data ?? []).filter((a) => a['resentFrom'] === id);
  if (resends.length === 0 && !polling) return null;
  return (
    <section aria-labelledby="resends" data-testid="resends">
      <h2 id="resends">Resends of this attempt</h2>
      <AttemptsTable attempts={resends} emptyText="Resent; its first attempt shows here once made." />
    </section>
  );
}

export default function AttemptDetail({ params }: { params: string[] }) {
  const id = params[0] ?? '';
  const canWrite = useCan('subscriptions:write');
  const loaded = useLoad(() => loadDetail(id), [id]);
  const [copied, setCopied] = useState('');
  const [resent, setResent] = useState('');
  const d = loaded.data;
  if (!d) return <>{loaded.error ? <ErrorNote error={loaded.error} /> : <p className="loading">Loading…</p>}</>;
  const a = d.attempt;
  const req = requestOf(d);
  const curl = curlOf(req);
  return (
    <>
      <PageHeader title={`Attempt ${String(a['attempt'])} of ${String(a['eventType'])}`}>
        <ActionButton
          onRun={async () => {
            await navigator.clipboard.writeText(curl).then(
              () => setCopied('Copied.'),
              () => setCopied('Copy failed: select the command below.'),
            );
          }}
        >
          Copy as curl
        </ActionButton>
        {canWrite && a['test'] !== true && (
          <ActionButton
            onRun={async () => {
              const receipt = await api<Json>('POST', `/v1/attempts/${encodeURIComponent(id)}/resend`);
              setResent(`Resent under webhook id ${String(receipt['webhookId'])}.`);
            }}
          >
            Resend
          </ActionButton>
        )}
        <span role="status">{resent || copied}</span>
      </PageHeader>
      <div className="grid2">
        <section aria-labelledby="summary">
          <h2 id="summary">Summary</h2>
          <dl className="kv">
            <dt>Status</dt>
            <dd>
              <StatusBadge value={String(a['status'])} />
            </dd>
            <dt>Subscription</dt>
            <dd>
              <Link to={`/subscriptions/${String(a['subscriptionId'])}`}>{String(a['subscriptionId'])}</Link>
            </dd>
            <dt>Event</dt>
            <dd className="mono">{String(a['eventId'])}</dd>
            <dt>Webhook id</dt>
            <dd className="mono">{String(a['webhookId'])}</dd>
            <dt>Sent</dt>
            <dd>
              <Time at={String(a['createdAt'])} />
            </dd>
            <dt>Duration</dt>
            <dd>{typeof a['durationMs'] === 'number' ? `${a['durationMs']} ms` : '—'}</dd>
            <dt>Next</dt>
            <dd>
              {String(a['next'])} {a['nextAttemptAt'] ? <Time at={String(a['nextAttemptAt'])} /> : null}
            </dd>
            <dt>Error</dt>
            <dd>{a['error'] ? String(a['error']) : '—'}</dd>
            {typeof a['resentFrom'] === 'string' && (
              <>
                <dt>Resent from</dt>
                <dd>
                  <Link to={`/deliveries/${a['resentFrom']}`}>{a['resentFrom']}</Link>
                </dd>
              </>
            )}
            {d.deadLetter && (
              <>
                <dt>Dead letter</dt>
                <dd>{String(d.deadLetter['reason'])}</dd>
              </>
            )}
          </dl>
        </section>
        <section aria-labelledby="response">
          <h2 id="response">Response</h2>
          <p>
            HTTP <strong data-testid="response-status">{a['httpStatus'] === null ? '—' : String(a['httpStatus'])}</strong>
          </p>
          <h3>Headers</h3>
          <JsonView value={a['responseHeaders'] ?? {}} label="Response headers" />
          <h3>Body</h3>
          <pre className="json" role="region" data-testid="response-body" tabIndex={0} aria-label="Response body">
            {a['responseBody'] === null ? '(empty)' : String(a['responseBody'])}
          </pre>
        </section>
      </div>
      <Resends attempt={a} polling={resent !== ''} />
      <section aria-labelledby="request">
        <h2 id="request">Request{req.recorded ? ' as sent' : ''}</h2>
        {!req.recorded && <p className="muted">This hub does not record the request; shown is the event as published (signature headers are not known here).</p>}
        <p className="mono">POST {req.url}</p>
        <JsonView value={req.headers} label="Request headers" />
        <JsonView value={req.body} label="Request body" />
        <h3>curl</h3>
        <pre className="json" role="region" tabIndex={0} aria-label="curl command">
          {curl}
        </pre>
      </section>
    </>
  );
}
