import type { ApiRequest, Reply } from './oauth-api';
import type { PipedriveLead } from './pipedrive';

/**
 * Deals of a Pipedrive company, as the read-back reads them.
 *
 * - Converting a lead into a deal (what a sales user does; POST /api/v2/leads/{id}/convert/deal,
 *   developers.pipedrive.com/docs/api/v2/Leads#convertLeadToDeal) makes a deal with the lead's
 *   organization, and the lead is marked deleted (it leaves the leads list). A deal is `open`
 *   until it is `won` or `lost`, which sets `won_time` or `lost_time` and `close_time`
 *   (developers.pipedrive.com/docs/api/v2/Deals, the deal's fields).
 * - GET /api/v2/deals?org_id=N lists the deals (not deleted) of an organization
 *   (developers.pipedrive.com/docs/api/v2/Deals#getDeals: org_id, limit up to 500, cursor paging),
 *   answered `{success: true, data: [deals], additional_data: {next_cursor}}`; it needs the scope
 *   deals:read or deals:full (pipedrive.readme.io/docs/marketplace-scopes-and-permissions-explanations).
 */
export interface PipedriveDeal {
  id: number;
  title: string;
  org_id: number | null;
  stage_id: number;
  pipeline_id: number;
  value: number;
  currency: string;
  status: 'open' | 'won' | 'lost';
  add_time: string;
  update_time: string;
  won_time: string | null;
  lost_time: string | null;
  close_time: string | null;
}

export class PipedriveDeals {
  readonly deals: PipedriveDeal[] = [];

  constructor(
    private readonly leads: PipedriveLead[],
    private readonly error: (status: number, message: string) => Reply,
  ) {}

  /** Converts a lead into a deal of its organization, as a sales user does; the lead is deleted. */
  convertLead(leadId: string, options: { value?: number; currency?: string } = {}): PipedriveDeal {
    const index = this.leads.findIndex((l) => l.id === leadId);
    const lead = this.leads[index];
    if (!lead) throw new Error(`no lead ${leadId}`);
    this.leads.splice(index, 1);
    const now = rfc3339();
    const deal: PipedriveDeal = { id: this.deals.length + 1, title: lead.title, org_id: lead.organization_id, stage_id: 1, pipeline_id: 1, value: options.value ?? 0, currency: options.currency ?? 'USD', status: 'open', add_time: now, update_time: now, won_time: null, lost_time: null, close_time: null };
    this.deals.push(deal);
    return deal;
  }

  /** Marks a deal won, lost or open again. */
  setStatus(dealId: number, status: PipedriveDeal['status']): PipedriveDeal {
    const deal = this.deals.find((d) => d.id === dealId);
    if (!deal) throw new Error(`no deal ${dealId}`);
    const now = rfc3339();
    Object.assign(deal, { status, update_time: now, won_time: status === 'won' ? now : null, lost_time: status === 'lost' ? now : null, close_time: status === 'open' ? null : now });
    return deal;
  }

  /** GET /api/v2/deals; undefined for any other path. */
  route(req: ApiRequest, path: string): Reply | undefined {
    if (path !== '/api/v2/deals' || req.method !== 'GET') return undefined;
    const orgId = req.query.get('org_id');
    if (orgId !== null && !/^\d+$/.test(orgId)) return this.error(400, 'Validation failed: org_id: Parameter must be an integer');
    const limit = Number(req.query.get('limit') ?? 100);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) return this.error(400, 'Validation failed: limit: Parameter must be between 1 and 500');
    const data = this.deals.filter((d) => orgId === null || d.org_id === Number(orgId)).slice(0, limit);
    return { status: 200, body: { success: true, data, additional_data: { next_cursor: null } } };
  }
}

/** A time as API v2 writes it (RFC 3339, seconds, UTC). */
function rfc3339(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}
