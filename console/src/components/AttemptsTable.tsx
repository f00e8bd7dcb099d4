import type { Json } from '../api';
import { Empty, Link, StatusBadge, Time } from './ui';

export function AttemptsTable({ attempts, emptyText }: { attempts: Json[]; emptyText: string }) {
  if (attempts.length === 0) return <Empty>{emptyText}</Empty>;
  return (
    <div className="table-wrap">
      <table data-testid="attempts">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Event</th>
            <th scope="col">Status</th>
            <th scope="col">HTTP</th>
            <th scope="col">Time</th>
            <th scope="col">Attempt</th>
          </tr>
        </thead>
        <tbody>
          {attempts.map((a) => (
            <tr key={String(a['id'])}>
              <td>
                <Link to={`/deliveries/${String(a['id'])}`}>
                  <Time at={String(a['createdAt'])} />
                </Link>
              </td>
              <td>
                {String(a['eventType'])}
                {a['test'] ? <span className="muted"> (test)</span> : null}
                {a['resentFrom'] ? <span className="muted"> (resend)</span> : a['replay'] ? <span className="muted"> (replay)</span> : null}
              </td>
              <td>
                <StatusBadge value={String(a['status'])} />
              </td>
              <td>{a['httpStatus'] === null ? String(a['error'] ?? '—') : String(a['httpStatus'])}</td>
              <td>{typeof a['durationMs'] === 'number' ? `${a['durationMs']} ms` : '—'}</td>
              <td>{String(a['attempt'])}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
