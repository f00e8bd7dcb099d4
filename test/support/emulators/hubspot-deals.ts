import { parseObject, type ApiRequest, type Reply } from './oauth-api';

/**
 * Deals of a HubSpot portal and their associations with companies, as the read-back reads them.
 *
 * - A sales user creates a deal on a company (test hook `createDeal`) in the default sales pipeline,
 *   whose stages are appointmentscheduled, qualifiedtobuy, presentationscheduled,
 *   decisionmakerboughtin, contractsent, closedwon and closedlost; `hs_is_closed` and
 *   `hs_is_closed_won` follow the stage (developers.hubspot.com/docs/api-reference/latest/crm/objects/deals/guide,
 *   "Pipelines and deal stages"; knowledge.hubspot.com/object-settings/set-up-and-customize-pipelines).
 *   Property values are strings, as HubSpot answers them.
 * - POST /crm/v4/associations/companies/deals/batch/read {inputs: [{id}]} answers
 *   {status, results: [{from: {id}, to: [{toObjectId, associationTypes}]}], startedAt, completedAt}
 *   (developers.hubspot.com/docs/api-reference/legacy/crm/associations/associate-records/batch/get-associations);
 *   a company with no deal is left out of results and named in `errors` with 207 (as modelled here:
 *   the page does not show that answer's exact wording). The company-to-deal type is HUBSPOT_DEFINED 342.
 * - POST /crm/v3/objects/deals/batch/read {properties, inputs: [{id}]} answers the deals found with the
 *   properties asked for (developers.hubspot.com/docs/api-reference/legacy/crm/objects/deals/batch/read-deals);
 *   at most 100 inputs, as HubSpot's batch endpoints take ("Batch operations are limited to 100 records").
 */
export interface HubSpotDeal {
  id: string;
  companyId: string;
  properties: Record<string, string>;
  createdAt: string;
}

/** HUBSPOT_DEFINED association type "company to deal". */
export const COMPANY_TO_DEAL = 342;
const CLOSED = new Set(['closedwon', 'closedlost']);

export class HubSpotDeals {
  readonly deals = new Map<string, HubSpotDeal>();
  private seq = 0;

  constructor(private readonly error: (status: number, category: string, message: string) => Reply) {}

  /** A deal on a company, as a sales user creates one (stage appointmentscheduled unless given). */
  createDeal(companyId: string, options: { amount?: number; stage?: string; currency?: string } = {}): HubSpotDeal {
    const id = String(20_000_000_000 + ++this.seq);
    const now = new Date().toISOString();
    const properties: Record<string, string> = { dealname: `Deal ${id}`, createdate: now, hs_object_id: id, deal_currency_code: options.currency ?? 'USD', pipeline: 'default' };
    if (options.amount !== undefined) properties['amount'] = String(options.amount);
    const deal = { id, companyId, properties, createdAt: now };
    this.deals.set(id, deal);
    return this.setStage(id, options.stage ?? 'appointmentscheduled');
  }

  /** Moves a deal to a stage of the default pipeline (closedwon wins it). */
  setStage(dealId: string, stage: string, amount?: number): HubSpotDeal {
    const deal = this.deals.get(dealId);
    if (!deal) throw new Error(`no deal ${dealId}`);
    if (amount !== undefined) deal.properties['amount'] = String(amount);
    Object.assign(deal.properties, { dealstage: stage, hs_is_closed: String(CLOSED.has(stage)), hs_is_closed_won: String(stage === 'closedwon'), hs_lastmodifieddate: new Date().toISOString() });
    return deal;
  }

  /** Routes the deal endpoints; undefined for any other path. */
  route(req: ApiRequest, path: string): Reply | undefined {
    if (req.method !== 'POST') return undefined;
    if (path === '/crm/v4/associations/companies/deals/batch/read') return this.associations(req);
    if (path === '/crm/v3/objects/deals/batch/read') return this.batchRead(req);
    return undefined;
  }

  private inputs(req: ApiRequest): string[] | Reply {
    const body = parseObject(req.rawBody);
    const inputs = body?.['inputs'];
    if (!Array.isArray(inputs) || inputs.some((i) => i === null || typeof i !== 'object' || typeof (i as Record<string, unknown>)['id'] !== 'string')) {
      return this.error(400, 'VALIDATION_ERROR', 'Invalid input JSON: inputs must be a list of {"id": "<string>"}');
    }
    if (inputs.length > 100) return this.error(400, 'VALIDATION_ERROR', `Batch input has ${inputs.length} inputs; at most 100 are allowed`);
    return inputs.map((i) => String((i as Record<string, unknown>)['id']));
  }

  private associations(req: ApiRequest): Reply {
    const ids = this.inputs(req);
    if (!Array.isArray(ids)) return ids;
    const startedAt = new Date().toISOString();
    const results = ids
      .map((id) => ({ from: { id }, to: [...this.deals.values()].filter((d) => d.companyId === id).map((d) => ({ toObjectId: Number(d.id), associationTypes: [{ category: 'HUBSPOT_DEFINED', typeId: COMPANY_TO_DEAL, label: null }] })) }))
      .filter((r) => r.to.length > 0);
    const missing = ids.filter((id) => !results.some((r) => r.from.id === id));
    const errors = missing.length === 0 ? [] : [{ status: 'error', category: 'OBJECT_NOT_FOUND', subCategory: 'crm.associations.NO_ASSOCIATIONS_FOUND', message: `No deal is associated with ${missing.join(', ')}`, context: { fromObjectId: missing } }];
    const body = { status: 'COMPLETE', results, ...(errors.length > 0 ? { numErrors: errors.length, errors } : {}), startedAt, completedAt: new Date().toISOString() };
    return { status: errors.length > 0 ? 207 : 200, body };
  }

  private batchRead(req: ApiRequest): Reply {
    const ids = this.inputs(req);
    if (!Array.isArray(ids)) return ids;
    const asked = parseObject(req.rawBody)?.['properties'];
    const names = Array.isArray(asked) ? asked.map(String) : ['createdate', 'hs_lastmodifieddate', 'hs_object_id'];
    const startedAt = new Date().toISOString();
    const results = ids.flatMap((id) => {
      const deal = this.deals.get(id);
      if (!deal) return [];
      const properties = Object.fromEntries(names.map((n) => [n, deal.properties[n] ?? null]));
      return [{ id, properties, createdAt: deal.createdAt, updatedAt: deal.properties['hs_lastmodifieddate'], archived: false }];
    });
    return { status: 200, body: { status: 'COMPLETE', results, startedAt, completedAt: new Date().toISOString() } };
  }
}
