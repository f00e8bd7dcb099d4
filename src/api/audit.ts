import type { Request, RequestHandler } from 'express';
import { Batcher } from '../core/batcher';
import { newId } from '../core/ids';
import type { Logger } from '../core/logger';
import type { AuditEntry } from '../access/model';
import type { AuditLog } from '../access/ports';
import type { Principal } from './auth';
import type { RouteMatch } from './scopes';

const CHANGES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const MAX_FIELDS = 50;

/**
 * Records every successful change made through the API: who (key id and name),
 * what (action, resource, the NAMES of the fields sent; never their values),
 * from where, and the status. Writes are batched off the request path; a
 * failed write is logged, never turned into a failed request.
 */
export class AuditTrail {
  private readonly batcher: Batcher<AuditEntry, void>;

  constructor(
    store: AuditLog,
    private readonly logger: Logger,
  ) {
    this.batcher = new Batcher<AuditEntry, void>({
      flush: async (entries) => {
        await store.recordAuditEntries(entries);
        return entries.map(() => undefined);
      },
      maxBatch: 200,
      lingerMs: 20,
    });
  }

  record(entry: AuditEntry): void {
    this.batcher.add(entry).catch((err: unknown) =>
      this.logger.warn({ err: (err as Error).message, action: entry.action, resourceId: entry.resourceId, tenantId: entry.tenantId }, 'could not write an audit log entry'),
    );
  }

  /** An entry for a change made by `req`: who and what as given, from where (address, browser) and when as the request says. */
  recordRequest(req: Request, entry: Pick<AuditEntry, 'tenantId' | 'action' | 'resourceId' | 'fields' | 'apiKeyId' | 'apiKeyName' | 'status'>, at = new Date()): void {
    this.record({
      id: newId('aud'),
      ...entry,
      resourceType: entry.action.slice(0, entry.action.indexOf('.')),
      ip: req.ip ?? null,
      userAgent: req.get('user-agent')?.slice(0, 512) ?? null,
      at,
    });
  }

  drain(): Promise<void> {
    return this.batcher.drain();
  }

  /** After requireScope (which names the route's audit action); records once the response is sent. */
  middleware(): RequestHandler {
    return (req, res, next) => {
      if (!CHANGES.has(req.method)) {
        next();
        return;
      }
      let responseId: string | null = null;
      const json = res.json.bind(res);
      res.json = (body?: unknown) => {
        const id = (body as { id?: unknown } | null | undefined)?.id;
        if (typeof id === 'string') responseId = id;
        return json(body);
      };
      res.once('finish', () => {
        const match = res.locals['route'] as RouteMatch | undefined;
        const principal = res.locals['principal'] as Principal | undefined;
        if (res.statusCode >= 400 || !match?.rule.audit || !principal) return;
        this.recordRequest(req, {
          tenantId: principal.tenantId,
          action: match.rule.audit,
          resourceId: match.params['id'] ?? responseId,
          fields: fieldNames(req.body),
          apiKeyId: principal.keyId,
          apiKeyName: principal.keyName,
          status: res.statusCode,
        });
      });
      next();
    };
  }
}

/** Top-level names only: nested keys can be user data (header names, config) and values never are recorded. */
function fieldNames(body: unknown): string[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return [];
  return Object.keys(body)
    .slice(0, MAX_FIELDS)
    .map((k) => k.slice(0, 100));
}
