import { useEffect, useState } from 'react';

/** The console's pages live under /console/; the hub answers every such path with index.html. */
export const BASE = '/console';

export function navigate(to: string): void {
  window.history.pushState(null, '', `${BASE}${to}`);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

/** The path inside the console (e.g. "/subscriptions/sub_1") and its query. */
export function useLocation(): { path: string; query: URLSearchParams } {
  const read = () => ({ path: window.location.pathname.slice(BASE.length) || '/', query: new URLSearchParams(window.location.search) });
  const [location, setLocation] = useState(read);
  useEffect(() => {
    const onPop = () => setLocation(read());
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  return location;
}
