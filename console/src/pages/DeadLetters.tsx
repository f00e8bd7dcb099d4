import { useState } from 'react';
import { api, listAll } from '../api';
import type { Json } from '../api';
import { ActionButton, Empty, ErrorNote, JsonView, Link, PageHeader, Time, useLoad } from '../components/ui';
import { useCan } from '../session';

export default function DeadLetters() {
  const canWrite = useCan('subscriptions:write');
  const list = useLoad(() => listAll<Json>('/v1/dead-letters', 500), []);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [open, setOpen] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const rows = list.data?.data ?? [];
  const replay = async (ids: string[]) => {
    const results = await Promise.allSettled(ids.map((id) => api('POST', `/v1/dead-letters/${id}/replay`)));
    const failed = results.filter((r) => r.status === 'rejected').length;
    setMessage(`${ids.length - failed} replayed${failed ? `, ${failed} refused` : ''}.`);
    setSelected(new Set());
    list.reload();
  };
  return (
    <>
      <PageHeader title="Dead letters">
        {canWrite && selected.size > 0 && <ActionButton kind="primary" onRun={() => replay([...selected])}>{`Replay ${selected.size} selected`}</ActionButton>}
      </PageHeader>
      {message && <p role="status">{message}</p>}
      <ErrorNote error={list.error} />
      {list.data && rows.length === 0 ? (
        <Empty>No dead letters: every delivery succeeded or is still being retried. Deliveries that exhaust their retries land here to be replayed.</Empty>
      ) : (
        <div className="table-wrap">
          <table data-testid="dead-letters">
            <thead>
              <tr>
                {canWrite && <th scope="col">Select</th>}
                <th scope="col">Created</th>
                <th scope="col">Event</th>
                <th scope="col">Subscription</th>
                <th scope="col">Reason</th>
                <th scope="col">Replays</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((d) => {
                const id = String(d['id']);
                return (
                  <tr key={id}>
                    {canWrite && (
                      <td>
                        <input
                          type="checkbox"
                          aria-label={`Select dead letter ${id}`}
                          checked={selected.has(id)}
                          onChange={(e) => {
                            const next = new Set(selected);
                            if (e.target.checked) next.add(id);
                            else next.delete(id);
                            setSelected(next);
                          }}
                        />
                      </td>
                    )}
                    <td>
                      <Time at={String(d['createdAt'])} />
                    </td>
                    <td>{String(d['eventType'])}</td>
                    <td>
                      <Link to={`/subscriptions/${String(d['subscriptionId'])}`}>{String(d['subscriptionId'])}</Link>
                    </td>
                    <td>
                      {String(d['reason'])}
                      {d['lastStatus'] !== null ? ` (HTTP ${String(d['lastStatus'])})` : ''}
                    </td>
                    <td>
                      {String(d['replayCount'])}
                      {d['replayedAt'] ? (
                        <>
                          {' '}
                          (last <Time at={String(d['replayedAt'])} />)
                        </>
                      ) : null}
                    </td>
                    <td>
                      <span className="page-actions">
                        <button type="button" onClick={() => setOpen(open === id ? null : id)} aria-expanded={open === id}>
                          Inspect
                        </button>
                        {canWrite && <ActionButton onRun={() => replay([id])} label={`Replay dead letter ${id}`}>Replay</ActionButton>}
                      </span>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {open && <JsonView value={rows.find((d) => d['id'] === open) ?? {}} label="Dead letter" />}
    </>
  );
}
