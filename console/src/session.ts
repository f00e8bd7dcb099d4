import { createContext, useContext } from 'react';
import { can } from './api';
import type { Session } from './api';

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('no session');
  return session;
}

/** Whether the signed-in key may do this: what it may not is not offered. */
export function useCan(scope: string): boolean {
  return can(useSession(), scope);
}
