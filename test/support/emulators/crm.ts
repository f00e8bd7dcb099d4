import type http from 'node:http';
import { listenLocal } from '../local-server';
import type { LocalServer } from '../local-server';

/**
 * A small custom CRM of the kind tenants wire up with the webhook-custom
 * connector: `POST|PUT /api/leads` with a Bearer token, JSON bodies that need a
 * `company`, 201 `{id}` on creation, and an Idempotency-Key that makes a repeated
 * request return the first lead instead of a second one. Errors are JSON.
 */
export interface Lead {
  id: string;
  body: Record<string, unknown>;
  headers: http.IncomingHttpHeaders;
}

export class CrmEmulator {
  readonly leads: Lead[] = [];
  readonly requests: Array<{ method: string; path: string; headers: http.IncomingHttpHeaders; body: string }> = [];
  /** Answer the next n requests with 503 (an outage). */
  failNext = 0;
  private readonly byKey = new Map<string, Lead>();
  private server: LocalServer | null = null;
  url = '';

  constructor(readonly token: string) {}

  static async start(token: string): Promise<CrmEmulator> {
    const crm = new CrmEmulator(token);
    crm.server = await listenLocal((req, body, res) => crm.handle(req, body, res));
    crm.url = crm.server.url;
    return crm;
  }

  async close(): Promise<void> {
    await this.server?.close();
  }

  private handle(req: http.IncomingMessage, raw: string, res: http.ServerResponse): void {
    this.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: raw });
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (this.failNext > 0) {
      this.failNext--;
      return json(503, { error: 'maintenance' });
    }
    if (req.url !== '/api/leads' || (req.method !== 'POST' && req.method !== 'PUT')) return json(404, { error: 'not found' });
    if (req.headers.authorization !== `Bearer ${this.token}`) return json(401, { error: 'invalid token' });
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return json(400, { error: 'body must be JSON' });
    }
    if (typeof body['company'] !== 'string' || body['company'] === '') return json(422, { error: 'company is required' });
    const key = req.headers['idempotency-key'];
    const seen = typeof key === 'string' ? this.byKey.get(key) : undefined;
    if (seen) return json(200, { id: seen.id, duplicate: true });
    const lead = { id: `lead_${this.leads.length + 1}`, body, headers: req.headers };
    this.leads.push(lead);
    if (typeof key === 'string') this.byKey.set(key, lead);
    json(201, { id: lead.id });
  }
}
