import { useState } from 'react';
import { api, listAll } from '../api';
import type { Json } from '../api';
import { ActionButton, Empty, ErrorNote, PageHeader, StatusBadge, Time, errorText, useLoad } from '../components/ui';
import { useCan, useSession } from '../session';

const SCOPES = ['subscriptions:read', 'subscriptions:write', 'events:publish', 'deliveries:read', 'connections:write', 'relay:write', 'tunnels:write', 'admin'];

export default function ApiKeys() {
  const isAdmin = useCan('admin');
  const session = useSession();
  const list = useLoad(() => (isAdmin ? listAll<Json>('/v1/api-keys', 250) : Promise.resolve({ data: [], more: false })), []);
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>(['subscriptions:read']);
  const [created, setCreated] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  if (!isAdmin) {
    return (
      <>
        <PageHeader title="API keys" />
        <p>
          Signed in with <strong>{session.keyName}</strong>, scopes: {session.scopes.join(', ')}.
        </p>
        <Empty>Only an admin key lists, creates and revokes keys.</Empty>
      </>
    );
  }
  return (
    <>
      <PageHeader title="API keys" />
      <section aria-labelledby="new-key">
        <h2 id="new-key">New key</h2>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setError(null);
            api<Json>('POST', '/v1/api-keys', { name, scopes }).then(
              (k) => {
                setCreated(String(k['key']));
                setName('');
                list.reload();
              },
              (err: unknown) => setError(errorText(err)),
            );
          }}
        >
          <label htmlFor="key-name">Name</label>
          <input id="key-name" required value={name} onChange={(e) => setName(e.target.value)} />
          <fieldset>
            <legend>Scopes</legend>
            {SCOPES.map((s) => (
              <label key={s} className="inline check">
                <input type="checkbox" checked={scopes.includes(s)} onChange={(e) => setScopes(e.target.checked ? [...scopes, s] : scopes.filter((x) => x !== s))} /> {s}
              </label>
            ))}
          </fieldset>
          <button type="submit" className="primary" disabled={name === '' || scopes.length === 0}>
            Create key
          </button>
          <ErrorNote error={error} />
        </form>
        {created && (
          <p>
            The new key, shown once: <span className="secret" data-testid="new-key">{created}</span>
          </p>
        )}
      </section>
      <ErrorNote error={list.error} />
      {list.data && list.data.data.length === 0 ? (
        <Empty>No keys.</Empty>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Scopes</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Status</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {(list.data?.data ?? []).map((k) => (
                <tr key={String(k['id'])}>
                  <td>
                    {String(k['name'])}
                    <div className="muted mono">{String(k['id'])}</div>
                  </td>
                  <td>{(k['scopes'] as string[]).join(', ')}</td>
                  <td>
                    <Time at={String(k['createdAt'])} />
                  </td>
                  <td>
                    <Time at={k['lastUsedAt'] as string | null} />
                  </td>
                  <td>
                    <StatusBadge value={k['revokedAt'] ? 'revoked' : 'active'} />
                  </td>
                  <td>
                    {!k['revokedAt'] && k['id'] !== session.keyId && (
                      <ActionButton kind="danger" label={`Revoke key ${String(k['name'])}`} onRun={() => (window.confirm(`Revoke ${String(k['name'])}?`) ? api('DELETE', `/v1/api-keys/${String(k['id'])}`).then(list.reload) : Promise.resolve())}>
                        Revoke
                      </ActionButton>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
