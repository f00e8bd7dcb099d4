import { createHash } from 'node:crypto';
import type { PageRequest } from '../core/page';

/** An API key as stored: its hash, never the key itself. */
export interface ApiKeyRecord {
  /** Public id (key_...), what the API lists and revokes by. */
  id: string;
  /** sha256 of the key; the key itself is never stored. */
  hash: string;
  tenantId: string;
  name: string;
  /** What the key may do (see src/api/scopes.ts). Keys stored without scopes read as ['admin']. */
  scopes: string[];
  createdAt: Date;
  /** Updated at most about once a minute per process, not on every request. */
  lastUsedAt: Date | null;
  /** Set once revoked: the key is refused from then on. */
  revokedAt: Date | null;
}

/**
 * What upsertApiKey takes: the bootstrap key and older callers give no id or scopes.
 * Without an id one is derived from the hash (stable across restarts); without
 * scopes the key is an admin key. An upsert never clears lastUsedAt or revokedAt.
 */
export type ApiKeyInput = Omit<ApiKeyRecord, 'id' | 'scopes' | 'lastUsedAt' | 'revokedAt'> & Partial<Pick<ApiKeyRecord, 'id' | 'scopes'>>;

/** The id of a key stored without one: derived from its hash, so every process and restart agrees on it. */
export function apiKeyIdFor(hash: string): string {
  return `key_${createHash('sha256').update(`hookhub-api-key-id\n${hash}`).digest('hex').slice(0, 26)}`;
}

/** One change made through the API. Field names only: values are never recorded. */
export interface AuditEntry {
  id: string;
  tenantId: string;
  /** e.g. subscription.create, connection.update, api_key.revoke */
  action: string;
  resourceType: string;
  resourceId: string | null;
  /** Top-level names of the fields the request sent (never their values). */
  fields: string[];
  apiKeyId: string;
  apiKeyName: string;
  ip: string | null;
  userAgent: string | null;
  status: number;
  at: Date;
  /** What else identifies the change, set by the hub (never request values): e.g. the provider account a link went to. */
  details?: Record<string, string> | null;
}

/** A page of a tenant's audit trail, optionally narrowed to one resource or action. */
export interface AuditQuery extends PageRequest {
  resourceType?: string | undefined;
  resourceId?: string | undefined;
  action?: string | undefined;
}

/**
 * A console session: what an API key was exchanged for at sign-in. Only hashes are stored: of the
 * session token (the cookie), of its CSRF token, and of the key (to re-check revocation and scopes
 * on every request, so a revoked key ends its sessions at once). The key itself is not kept.
 */
export interface ConsoleSessionRecord {
  /** sha256 of the session token the browser holds in its HttpOnly cookie. */
  id: string;
  tenantId: string;
  /** sha256 of the API key signed in with (what ApiKeys.findApiKey takes). */
  keyHash: string;
  /** sha256 of the CSRF token a write must send in X-CSRF-Token. */
  csrfHash: string;
  createdAt: Date;
  expiresAt: Date;
}
