import type { Reply } from './oauth-api';

/**
 * What a Salesforce org checks in a Lead's values besides its columns, as the docs state it:
 *
 * - Field lengths, from the Lead object reference
 *   (https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_lead.htm):
 *   a longer value is refused as STRING_TOO_LONG, the whole record with it (nothing is written).
 * - State and Country/Territory picklists (on by default in new orgs; help.salesforce.com
 *   "Integration Values for State and Country/Territory Picklists" and "State and Country/Territory
 *   Picklist Field-Syncing Logic"): State and Country take only the integration values (by default
 *   the full ISO names, "Oregon", "United States"), StateCode and CountryCode only the ISO codes;
 *   setting one of a pair sets the other; a state needs a country; anything else is refused with
 *   FIELD_INTEGRITY_EXCEPTION and the field named. Without the picklists, StateCode and CountryCode
 *   do not exist and State and Country are free text.
 */
export const FIELD_LENGTHS: Record<'Lead' | 'Case', Record<string, number>> = {
  Lead: {
    Salutation: 40, FirstName: 40, MiddleName: 40, LastName: 80, Suffix: 40, Title: 128, Company: 255, Street: 255,
    City: 40, State: 80, PostalCode: 20, Country: 80, Phone: 40, MobilePhone: 40, Fax: 40, Email: 80, Website: 255,
    LeadSource: 40, Status: 40, Industry: 255, Rating: 40,
  },
  Case: { Subject: 255, Description: 32000, Priority: 40, Origin: 40, Status: 40, Type: 40, Reason: 40, SuppliedName: 80, SuppliedEmail: 80, SuppliedPhone: 40, SuppliedCompany: 80 },
};

/** Field labels as Salesforce's STRING_TOO_LONG message names them. */
const LABELS: Record<string, string> = { LastName: 'Last Name', PostalCode: 'Zip/Postal Code', Company: 'Company', City: 'City', Street: 'Street' };

/** The first value longer than its field takes: Salesforce's STRING_TOO_LONG answer. */
export function tooLong(sobject: 'Lead' | 'Case', fields: Record<string, unknown>): Reply | undefined {
  for (const [name, value] of Object.entries(fields)) {
    const max = FIELD_LENGTHS[sobject][name];
    if (max === undefined || typeof value !== 'string' || value.length <= max) continue;
    const message = `${LABELS[name] ?? name}: data value too large: ${value.slice(0, 40)}... (max length=${max})`;
    return { status: 400, body: [{ message, errorCode: 'STRING_TOO_LONG', fields: [name] }] };
  }
  return undefined;
}

/** The default integration values: the ISO names. States only for the United States here. */
export const DEFAULT_COUNTRIES: Record<string, string> = { US: 'United States', CA: 'Canada', GB: 'United Kingdom', DE: 'Germany', FR: 'France', MX: 'Mexico' };
export const DEFAULT_US_STATES: Record<string, string> = {
  AL: 'Alabama', AK: 'Alaska', AZ: 'Arizona', AR: 'Arkansas', CA: 'California', CO: 'Colorado', CT: 'Connecticut', DE: 'Delaware',
  DC: 'District of Columbia', FL: 'Florida', GA: 'Georgia', HI: 'Hawaii', ID: 'Idaho', IL: 'Illinois', IN: 'Indiana', IA: 'Iowa',
  KS: 'Kansas', KY: 'Kentucky', LA: 'Louisiana', ME: 'Maine', MD: 'Maryland', MA: 'Massachusetts', MI: 'Michigan', MN: 'Minnesota',
  MS: 'Mississippi', MO: 'Missouri', MT: 'Montana', NE: 'Nebraska', NV: 'Nevada', NH: 'New Hampshire', NJ: 'New Jersey',
  NM: 'New Mexico', NY: 'New York', NC: 'North Carolina', ND: 'North Dakota', OH: 'Ohio', OK: 'Oklahoma', OR: 'Oregon',
  PA: 'Pennsylvania', RI: 'Rhode Island', SC: 'South Carolina', SD: 'South Dakota', TN: 'Tennessee', TX: 'Texas', UT: 'Utah',
  VT: 'Vermont', VA: 'Virginia', WA: 'Washington', WV: 'West Virginia', WI: 'Wisconsin', WY: 'Wyoming',
};

/** An org's State and Country/Territory picklists: code → integration value. */
export interface Picklists {
  countries: Record<string, string>;
  /** States per country code. */
  states: Record<string, Record<string, string>>;
}

function refuse(field: string, message: string): Reply {
  return { status: 400, body: [{ message, errorCode: 'FIELD_INTEGRITY_EXCEPTION', fields: [field] }] };
}

/** Finds a code case-insensitively (codes are), or the code of an integration value (matched exactly). */
function codeOf(list: Record<string, string>, code: unknown, value: unknown): { code?: string; bad?: 'code' | 'value' } {
  if (code !== undefined && code !== null) {
    const found = Object.keys(list).find((c) => c.toLowerCase() === String(code).toLowerCase());
    return found ? { code: found } : { bad: 'code' };
  }
  if (value !== undefined && value !== null) {
    const found = Object.entries(list).find(([, v]) => v === value);
    return found ? { code: found[0] } : { bad: 'value' };
  }
  return {};
}

/**
 * Checks and syncs the address pairs of a write (`incoming`) against the record as it is (`current`,
 * empty on create), as an org with the picklists on does; the synced values are set on `incoming`.
 */
export function checkAddress(picklists: Picklists, current: Record<string, unknown>, incoming: Record<string, unknown>): Reply | undefined {
  const country = codeOf(picklists.countries, incoming['CountryCode'], incoming['Country']);
  if (country.bad === 'code') return refuse('CountryCode', `The CountryCode field contains ${String(incoming['CountryCode'])}, which isn't an available country/territory. Your administrator can add it for you.`);
  if (country.bad === 'value') return refuse('Country', "There's a problem with this country, even though it may appear correct. Please select a country/territory from the list of valid countries.");
  if (country.code && incoming['CountryCode'] !== undefined && incoming['Country'] !== undefined && picklists.countries[country.code] !== incoming['Country']) {
    return refuse('Country', 'The country/territory code and the country/territory integration value do not match.');
  }
  if (country.code) Object.assign(incoming, { CountryCode: country.code, Country: picklists.countries[country.code] });
  const countryCode = country.code ?? (current['CountryCode'] as string | undefined);
  if (incoming['StateCode'] === undefined && incoming['State'] === undefined) return undefined;
  if (!countryCode) return refuse('State', `A country/territory must be specified before specifying a state value for field: ${incoming['StateCode'] !== undefined ? 'StateCode' : 'State'}`);
  const states = picklists.states[countryCode] ?? {};
  const state = codeOf(states, incoming['StateCode'], incoming['State']);
  if (state.bad === 'code') return refuse('StateCode', `The StateCode field contains ${String(incoming['StateCode'])}, which isn't an available state. Your administrator can add it for you.`);
  if (state.bad === 'value') return refuse('State', "There's a problem with this state, even though it may appear correct. Please select a state from the list of valid states.");
  if (state.code && incoming['StateCode'] !== undefined && incoming['State'] !== undefined && states[state.code] !== incoming['State']) {
    return refuse('State', 'The state code and the state integration value do not match.');
  }
  if (state.code) Object.assign(incoming, { StateCode: state.code, State: states[state.code] });
  return undefined;
}

/**
 * An org's picklist (other than State and Country/Territory): its values, the one a new record
 * gets when the field is not sent, and whether it is restricted.
 */
export interface PicklistField {
  label: string;
  values: string[];
  /** The value marked Default (LeadStatus.IsDefault for Lead Status); null: none, the field stays empty. */
  default: string | null;
  /**
   * Restricted ("Restrict picklist to the values defined in the value set", a custom picklist's
   * setting; the Metadata API's restrictedPicklist, false by default): other values are refused.
   * Standard picklists such as Lead Status, Lead Source and Case Origin are not: the API stores any
   * value, which the org then shows though its list lacks it.
   */
  restricted: boolean;
}

/**
 * The standard picklists a new org has, with their default values (Setup > Object Manager > Lead /
 * Case > Fields, as a new org ships them): Lead Status defaults to "Open - Not Contacted", Case
 * Status to "New", Case Priority to "Medium"; Lead Source and Case Origin have no default.
 * Lead `Status` is "Defaulted on create" to the LeadStatus value with IsDefault
 * (developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_lead.htm,
 * .../sforce_api_objects_leadstatus.htm); restrictedPicklist is false by default
 * (developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/meta_picklist.htm). The value
 * lists themselves are as orgs ship them, not from a Salesforce page (docs/connectors/salesforce-conformance.md).
 */
export const NEW_ORG_PICKLISTS: Record<'Lead' | 'Case', Record<string, PicklistField>> = {
  Lead: {
    Status: { label: 'Lead Status', values: ['Open - Not Contacted', 'Working - Contacted', 'Closed - Converted', 'Closed - Not Converted'], default: 'Open - Not Contacted', restricted: false },
    LeadSource: { label: 'Lead Source', values: ['Web', 'Phone Inquiry', 'Partner Referral', 'Purchased List', 'Other'], default: null, restricted: false },
  },
  Case: {
    Status: { label: 'Status', values: ['New', 'Working', 'Escalated', 'Closed'], default: 'New', restricted: false },
    Origin: { label: 'Case Origin', values: ['Phone', 'Email', 'Web'], default: null, restricted: false },
    Priority: { label: 'Priority', values: ['High', 'Medium', 'Low'], default: 'Medium', restricted: false },
  },
};

/** A value a restricted picklist does not have: 400 INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST naming the field, and nothing is written. */
export function restrictedRefusal(picklists: Record<string, PicklistField>, fields: Record<string, unknown>): Reply | undefined {
  for (const [name, list] of Object.entries(picklists)) {
    const value = fields[name];
    if (!list.restricted || value === undefined || value === null || list.values.includes(String(value))) continue;
    return { status: 400, body: [{ message: `${list.label}: bad value for restricted picklist field: ${String(value)}`, errorCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST', fields: [name] }] };
  }
  return undefined;
}

/** The fields a new record gets from its picklists' defaults, for those not sent. */
export function picklistDefaults(picklists: Record<string, PicklistField>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, list] of Object.entries(picklists)) if (list.default !== null) out[name] = list.default;
  return out;
}
