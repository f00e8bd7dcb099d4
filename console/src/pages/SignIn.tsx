import { useState } from 'react';
import { signIn } from '../api';
import type { Session } from '../api';
import { errorText } from '../components/ui';

export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <main className="signin" id="main">
      <h1>Sign in to the Hookhub console</h1>
      <p>
        Paste an API key. It is exchanged for a session and not kept in this browser; the console shows what the key&apos;s scopes allow.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          signIn(key).then(
            (s) => {
              setKey('');
              onSignedIn(s);
            },
            (err: unknown) => {
              setBusy(false);
              setError(errorText(err));
            },
          );
        }}
      >
        <label htmlFor="api-key">API key</label>
        <input id="api-key" name="api-key" type="password" autoComplete="off" required value={key} onChange={(e) => setKey(e.target.value)} />
        <button type="submit" className="primary" disabled={busy || key.trim() === ''}>
          Sign in
        </button>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
      </form>
      <p className="muted">No key? Run <code>hookhub login</code> or ask an admin to create one under API keys.</p>
    </main>
  );
}
