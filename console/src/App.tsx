import { Suspense, lazy, useEffect, useState } from 'react';
import type { ComponentType } from 'react';
import { currentSession, signOut, whenSignedOut } from './api';
import type { Session } from './api';
import { Link } from './components/ui';
import { SessionContext } from './session';
import { SignIn } from './pages/SignIn';
import { useLocation } from './router';

/** Every page is its own chunk, loaded when first opened (the first load stays small). */
const pages: Array<{ path: RegExp; nav?: string; to?: string; page: ComponentType<{ params: string[] }> }> = [
  { path: /^\/$/, nav: 'Overview', to: '/', page: lazy(() => import('./pages/Overview')) },
  { path: /^\/subscriptions\/?$/, nav: 'Subscriptions', to: '/subscriptions', page: lazy(() => import('./pages/Subscriptions')) },
  { path: /^\/subscriptions\/([^/]+)$/, page: lazy(() => import('./pages/SubscriptionDetail')) },
  { path: /^\/deliveries\/?$/, nav: 'Delivery log', to: '/deliveries', page: lazy(() => import('./pages/Deliveries')) },
  { path: /^\/deliveries\/([^/]+)$/, page: lazy(() => import('./pages/AttemptDetail')) },
  { path: /^\/dead-letters\/?$/, nav: 'Dead letters', to: '/dead-letters', page: lazy(() => import('./pages/DeadLetters')) },
  { path: /^\/inspector\/?$/, nav: 'Payload inspector', to: '/inspector', page: lazy(() => import('./pages/Inspector')) },
  { path: /^\/connections\/?$/, nav: 'Connections', to: '/connections', page: lazy(() => import('./pages/Connections')) },
  { path: /^\/event-types\/?$/, nav: 'Event types', to: '/event-types', page: lazy(() => import('./pages/EventTypes')) },
  { path: /^\/audit-log\/?$/, nav: 'Audit log', to: '/audit-log', page: lazy(() => import('./pages/AuditLog')) },
  { path: /^\/api-keys\/?$/, nav: 'API keys', to: '/api-keys', page: lazy(() => import('./pages/ApiKeys')) },
];

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const { path } = useLocation();
  useEffect(() => {
    whenSignedOut(() => setSession(null));
    void currentSession().then(setSession);
  }, []);
  if (session === undefined) return <p className="loading">Loading…</p>;
  if (session === null) return <SignIn onSignedIn={setSession} />;
  const match = pages.map((p) => ({ p, m: p.path.exec(path) })).find((x) => x.m !== null);
  const Page = match?.p.page;
  const section = '/' + (path.split('/')[1] ?? '');
  return (
    <SessionContext.Provider value={session}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <div className="layout">
        <nav className="sidebar" aria-label="Console">
          <div className="brand">Hookhub</div>
          <ul>
            {pages
              .filter((p) => p.nav)
              .map((p) => (
                <li key={p.to} className={p.to === section || (p.to === '/' && section === '/') ? 'current' : ''}>
                  <Link to={p.to ?? '/'}>{p.nav}</Link>
                </li>
              ))}
          </ul>
          <div className="who">
            <span title={session.scopes.join(', ')}>
              {session.keyName} · {session.tenantId}
            </span>
            <button
              type="button"
              onClick={() => {
                void signOut().then(() => setSession(null));
              }}
            >
              Sign out
            </button>
          </div>
        </nav>
        <main id="main" tabIndex={-1}>
          <Suspense fallback={<p className="loading">Loading…</p>}>
            {Page && match?.m ? (
              <Page key={path} params={match.m.slice(1).map((s) => decodeURIComponent(s ?? ''))} />
            ) : (
              <p>
                No such page. <Link to="/">Go to the overview</Link>.
              </p>
            )}
          </Suspense>
        </main>
      </div>
    </SessionContext.Provider>
  );
}
