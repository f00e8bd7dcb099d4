import { useState } from 'react';
import { api, listAll } from '../api';
import type { Json } from '../api';
import { ActionButton, Empty, ErrorNote, JsonView, PageHeader, StatusBadge, Time, useLoad } from '../components/ui';
import { useCan } from '../session';

async function loadConnections(): Promise<{ connections: Json[]; integrations: Json[]; connectors: Json[] }> {
  const [connections, integrations, connectors] = await Promise.all([
    listAll<Json>('/v1/connections', 250),
    listAll<Json>('/v1/integrations', 250),
    api<{ data: Json[] }>('GET', '/v1/connectors'),
  ]);
  return { connections: connections.data, integrations: integrations.data, connectors: connectors.data };
}

export default function Connections() {
  const canLink = useCan('connections:write');
  const loaded = useLoad(loadConnections, []);
  const [connector, setConnector] = useState('');
  const [stats, setStats] = useState<Record<string, Json>>({});
  const d = loaded.data;
  const oauthConnectors = (d?.connectors ?? []).filter((c) => (c['auth'] as Json | undefined)?.['type'] === 'oauth2');
  return (
    <>
      <PageHeader title="Connections and integrations" />
      <ErrorNote error={loaded.error} />
      {canLink && oauthConnectors.length > 0 && (
        <section aria-labelledby="link">
          <h2 id="link">Link an account</h2>
          <p className="muted">Opens the provider&apos;s sign-in; you come back here once the account is linked.</p>
          <div className="filters">
            <div>
              <label htmlFor="connector">Connector</label>
              <select id="connector" value={connector} onChange={(e) => setConnector(e.target.value)}>
                <option value="">Choose…</option>
                {oauthConnectors.map((c) => (
                  <option key={String(c['name'])} value={String(c['name'])}>
                    {String(c['title'] ?? c['name'])}
                  </option>
                ))}
              </select>
            </div>
            <ActionButton
              kind="primary"
              onRun={async () => {
                const r = await api<Json>('POST', '/v1/connections/authorize', { connector, redirectAfter: `${window.location.origin}/console/connections` });
                window.location.assign(String(r['authorizationUrl']));
              }}
            >
              Link with OAuth
            </ActionButton>
          </div>
        </section>
      )}
      <section aria-labelledby="conns">
        <h2 id="conns">Connections</h2>
        {d && d.connections.length === 0 ? (
          <Empty>No linked accounts yet. {canLink ? 'Link one above, or create one with POST /v1/connections.' : 'A key with connections:write can link one.'}</Empty>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Connector</th>
                  <th scope="col">Health</th>
                  <th scope="col">Last check</th>
                  <th scope="col">Sync (7 days)</th>
                </tr>
              </thead>
              <tbody>
                {(d?.connections ?? []).map((c) => {
                  const id = String(c['id']);
                  return (
                    <tr key={id}>
                      <td>
                        {String(c['connector'])}
                        <div className="muted mono">{id}</div>
                        {c['description'] ? <div className="muted">{String(c['description'])}</div> : null}
                      </td>
                      <td>
                        <StatusBadge value={String(c['status'])} /> {c['lastError'] ? <span className="error">{String(c['lastError'])}</span> : null}
                      </td>
                      <td>
                        <Time at={c['lastCheckAt'] as string | null} />
                      </td>
                      <td>
                        {stats[id] ? (
                          <JsonView value={stats[id]['totals']} label={`Sync statistics of ${id}`} />
                        ) : (
                          <ActionButton onRun={() => api<Json>('GET', `/v1/connections/${id}/stats`).then((s) => setStats((prev) => ({ ...prev, [id]: s })))}>Show sync statistics</ActionButton>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section aria-labelledby="integrations">
        <h2 id="integrations">Integrations</h2>
        {d && d.integrations.length === 0 ? (
          <Empty>No integrations: subscribe a connection to events with POST /v1/integrations.</Empty>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Connector</th>
                  <th scope="col">Events</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {(d?.integrations ?? []).map((i) => (
                  <tr key={String(i['id'])}>
                    <td>{String(i['connector'])}</td>
                    <td>{(i['events'] as string[]).join(', ')}</td>
                    <td>
                      <StatusBadge value={i['active'] ? 'active' : 'disabled'} />
                      {i['health'] ? <StatusBadge value={String((i['health'] as Json)['state'])} /> : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
