import type { Reply } from './oauth-api';

/**
 * Lead conversion and Opportunities in the Salesforce emulator, and the SOQL the read-back sends.
 *
 * - Converting a Lead (what a sales user does in the org; convertLead(),
 *   https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_convertlead.htm) sets
 *   the Lead's IsConverted, ConvertedDate (a date without time) and ConvertedOpportunityId, and creates
 *   an Opportunity (change events for lead conversion,
 *   https://developer.salesforce.com/docs/atlas.en-us.change_data_capture.meta/change_data_capture/cdc_standard_objects_lead_conversion.htm).
 * - An Opportunity's StageName decides IsClosed and IsWon (Opportunity object reference,
 *   https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_opportunity.htm):
 *   the default sales process's "Closed Won" is closed and won, "Closed Lost" closed and not won.
 * - GET /services/data/vXX.X/query?q=SOQL (Query resource,
 *   https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm): the
 *   subset `SELECT <fields> FROM Lead WHERE Id IN ('<id>', ...)`, with parent fields through the
 *   ConvertedOpportunity relationship (relationship queries,
 *   https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_relationships_understanding.htm):
 *   the answer is {totalSize, done, records: [{attributes: {type, url}, <fields>}]}, a parent with no
 *   record is null. Anything else is MALFORMED_QUERY; a field the Lead lacks is INVALID_FIELD.
 */
export interface Opportunity {
  Id: string;
  Name: string;
  StageName: string;
  Amount: number | null;
  IsClosed: boolean;
  IsWon: boolean;
  CloseDate: string;
}

/** A Lead as the query reads it: its id and fields. */
export interface QueriedLead {
  id: string;
  fields: Record<string, unknown>;
}

const LEAD_QUERY_FIELDS = ['Id', 'IsConverted', 'ConvertedDate', 'ConvertedOpportunityId', 'Company', 'LastName', 'Status'];
const OPPORTUNITY_FIELDS = ['Id', 'Name', 'StageName', 'Amount', 'IsClosed', 'IsWon', 'CloseDate'];

export class LeadConversions {
  readonly opportunities = new Map<string, Opportunity>();
  /** SOQL queries answered, as sent. */
  readonly queries: string[] = [];
  private seq = 0;

  /** Converts a Lead with an Opportunity (stage "Prospecting" unless given), as a sales user does in the org. */
  convert(lead: QueriedLead, options: { amount?: number | null; stage?: string } = {}): Opportunity {
    this.seq++;
    const opportunity = stageOf({ Id: `0065g${String(this.seq).padStart(10, '0')}AAZ`, Name: String(lead.fields['Company'] ?? 'Opportunity'), StageName: '', Amount: options.amount ?? null, IsClosed: false, IsWon: false, CloseDate: today() }, options.stage ?? 'Prospecting');
    this.opportunities.set(opportunity.Id, opportunity);
    Object.assign(lead.fields, { IsConverted: true, ConvertedDate: today(), ConvertedOpportunityId: opportunity.Id, Status: 'Closed - Converted' });
    return opportunity;
  }

  /** Moves an Opportunity to a stage ("Closed Won", "Closed Lost", or an open one). */
  setStage(opportunityId: string, stage: string, amount?: number): Opportunity {
    const opportunity = this.opportunities.get(opportunityId);
    if (!opportunity) throw new Error(`no Opportunity ${opportunityId}`);
    if (amount !== undefined) opportunity.Amount = amount;
    return stageOf(opportunity, stage);
  }

  /** GET /query?q=: the Leads whose ids the query names, with the fields it selects. */
  query(soql: string | null, leads: readonly QueriedLead[], version: string): Reply {
    if (!soql) return malformed('A query string (q) is required');
    this.queries.push(soql);
    const m = /^\s*SELECT\s+(.+?)\s+FROM\s+(\w+)\s+WHERE\s+Id\s+IN\s*\(([^)]*)\)\s*$/is.exec(soql);
    if (!m?.[1] || !m[2] || m[3] === undefined) return malformed(`unexpected token in query: ${soql.slice(0, 80)}`);
    if (m[2].toLowerCase() !== 'lead') return { status: 400, body: [{ errorCode: 'INVALID_TYPE', message: `sObject type '${m[2]}' is not supported.` }] };
    const fields = m[1].split(',').map((f) => f.trim());
    for (const field of fields) {
      const [head, tail] = field.split('.');
      const known = tail === undefined ? LEAD_QUERY_FIELDS.some((k) => k.toLowerCase() === head?.toLowerCase()) : head?.toLowerCase() === 'convertedopportunity' && OPPORTUNITY_FIELDS.some((k) => k.toLowerCase() === tail.toLowerCase());
      if (!known) return { status: 400, body: [{ errorCode: 'INVALID_FIELD', message: `No such column '${field}' on entity 'Lead'.` }] };
    }
    const ids = m[3].split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (ids.some((s) => !/^'[A-Za-z0-9]{15,18}'$/.test(s))) return malformed(`invalid ID field in IN list: ${m[3].slice(0, 80)}`);
    const wanted = new Set(ids.map((s) => s.slice(1, -1)));
    const records = leads.filter((l) => wanted.has(l.id) || wanted.has(l.id.slice(0, 15))).map((lead) => this.row(lead, fields, version));
    return { status: 200, body: { totalSize: records.length, done: true, records } };
  }

  private row(lead: QueriedLead, fields: string[], version: string): Record<string, unknown> {
    const all: Record<string, unknown> = { Id: lead.id, IsConverted: false, ConvertedDate: null, ConvertedOpportunityId: null, ...lead.fields };
    const row: Record<string, unknown> = { attributes: { type: 'Lead', url: `/services/data/v${version}/sobjects/Lead/${lead.id}` } };
    for (const field of fields) {
      const [head = '', tail] = field.split('.');
      if (tail === undefined) {
        const name = LEAD_QUERY_FIELDS.find((k) => k.toLowerCase() === head.toLowerCase()) ?? head;
        row[name] = all[name] ?? null;
        continue;
      }
      const opportunity = this.opportunities.get(String(all['ConvertedOpportunityId']));
      if (!opportunity) {
        row['ConvertedOpportunity'] = null;
        continue;
      }
      const parent = (row['ConvertedOpportunity'] ??= { attributes: { type: 'Opportunity', url: `/services/data/v${version}/sobjects/Opportunity/${opportunity.Id}` } }) as Record<string, unknown>;
      const name = OPPORTUNITY_FIELDS.find((k) => k.toLowerCase() === tail.toLowerCase()) ?? tail;
      parent[name] = opportunity[name as keyof Opportunity];
    }
    return row;
  }
}

function stageOf(opportunity: Opportunity, stage: string): Opportunity {
  return Object.assign(opportunity, { StageName: stage, IsClosed: stage === 'Closed Won' || stage === 'Closed Lost', IsWon: stage === 'Closed Won' });
}

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

function malformed(message: string): Reply {
  return { status: 400, body: [{ errorCode: 'MALFORMED_QUERY', message }] };
}
