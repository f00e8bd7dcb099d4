import { useState } from 'react';
import { api } from '../api';
import type { Json, Page } from '../api';
import { Empty, ErrorNote, PageHeader, Time, useLoad } from '../components/ui';
import { useCan } from '../session';

export default function AuditLog() {
  const isAdmin = useCan('admin');
  const [cursor, setCursor] = useState<string | null>(null);
  const [older, setOlder] = useState<Json[]>([]);
  const first = useLoad(() => (isAdmin ? api<Page<Json>>('GET', '/v1/audit-log?limit=100') : Promise.resolve({ data: [], nextCursor: null })), []);
  const rows = [...(first.data?.data ?? []), ...older];
  const next = cursor ?? first.data?.nextCursor ?? null;
  if (!isAdmin) return <><PageHeader title="Audit log" /><Empty>Only an admin key reads the audit log.</Empty></>;
  return (
    <>
      <PageHeader title="Audit log" />
      <ErrorNote error={first.error} />
      {first.data && rows.length === 0 ? (
        <Empty>No changes recorded yet. Every change made through the API or this console is listed here.</Empty>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Action</th>
                <th scope="col">Resource</th>
                <th scope="col">Key</th>
                <th scope="col">Fields</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((e) => (
                <tr key={String(e['id'])}>
                  <td>
                    <Time at={String(e['at'])} />
                  </td>
                  <td>{String(e['action'])}</td>
                  <td className="mono">{String(e['resourceId'] ?? e['resourceType'])}</td>
                  <td>{String(e['apiKeyName'])}</td>
                  <td>{((e['fields'] as string[] | undefined) ?? []).join(', ')}</td>
                  <td>{String(e['status'])}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {next && (
        <button
          type="button"
          onClick={() => {
            void api<Page<Json>>('GET', `/v1/audit-log?limit=100&cursor=${encodeURIComponent(next)}`).then((p) => {
              setOlder((o) => [...o, ...p.data]);
              setCursor(p.nextCursor);
            });
          }}
        >
          Load older entries
        </button>
      )}
    </>
  );
}
