import type { ReadbackRow } from '../connectors/readback';

/**
 * A record a connection created in a CRM (a Lead, a company, a lead), followed until its deal is
 * won or lost: sent (the create was sent, no record yet) → created → converted → won | lost.
 */
export type TrackedState = 'sent' | 'created' | 'converted' | 'won' | 'lost';

/** States the read-back still asks the CRM about. */
export const OPEN_STATES: readonly TrackedState[] = ['created', 'converted'];

export interface TrackedRecord {
  /** One per connection, object type and directory subject (the event's data.id, else its id): JSON of [connectionId, objectType, key]. */
  id: string;
  tenantId: string;
  connectionId: string;
  objectType: string;
  /** The directory event whose delivery first sent the create, and its subject (data.id, the business). */
  eventId: string;
  subjectId: string | null;
  /** The routing label of the integration's lead qualification (null: no route). */
  route: string | null;
  /** The CRM's id of the record; null while only sent. */
  externalId: string | null;
  state: TrackedState;
  sentAt: Date;
  createdAt: Date | null;
  convertedAt: Date | null;
  /** When the deal was seen won or lost. */
  closedAt: Date | null;
  opportunityId: string | null;
  stage: string | null;
  amount: number | null;
  currency: string | null;
  /** The last read-back that asked about it; null: never read. */
  checkedAt: Date | null;
}

/** What a read-back may change of a tracked record. */
export type TrackedPatch = Partial<Pick<TrackedRecord, 'state' | 'convertedAt' | 'closedAt' | 'opportunityId' | 'stage' | 'amount' | 'currency' | 'checkedAt'>>;

export function trackedRecordId(connectionId: string, objectType: string, key: string): string {
  return JSON.stringify([connectionId, objectType, key]);
}

/** What a delivery knows of a record it sent. */
export type SentRecord = Pick<TrackedRecord, 'tenantId' | 'connectionId' | 'objectType' | 'eventId' | 'subjectId' | 'route' | 'externalId' | 'state' | 'sentAt' | 'createdAt'>;

/** A record as it is first tracked: its id from its subject (else its event), nothing read back yet. */
export function newTrackedRecord(sent: SentRecord): TrackedRecord {
  const id = trackedRecordId(sent.connectionId, sent.objectType, sent.subjectId ?? sent.eventId);
  return { id, ...sent, convertedAt: null, closedAt: null, opportunityId: null, stage: null, amount: null, currency: null, checkedAt: null };
}

/** The hub events of a record's changes, each published once, when the record first reaches the state. */
export type FunnelEventType = 'crm.lead_converted' | 'crm.opportunity_won';

/** What the CRM said of one record, as the connector's readback maps it. */
export type ReadState = Omit<ReadbackRow, 'externalId'>;

/**
 * The change a read makes to a tracked record, and the events it announces. States only move
 * forward: a won deal is converted too (announced both, in order), a closed deal that is not won is
 * lost, and a record the CRM no longer shows as converted keeps what it reached.
 */
export function transition(record: TrackedRecord, read: ReadState, now: Date): { patch: TrackedPatch; events: FunnelEventType[] } {
  const patch: TrackedPatch = { checkedAt: now };
  const events: FunnelEventType[] = [];
  if (record.state !== 'created' && record.state !== 'converted') return { patch, events };
  const converted = read.converted || read.won || read.opportunityId !== null;
  if (!converted) return { patch, events };
  Object.assign(patch, { opportunityId: read.opportunityId, stage: read.stage, amount: read.amount, currency: read.currency });
  if (record.state === 'created') {
    patch.state = 'converted';
    patch.convertedAt = read.convertedAt ?? now;
    events.push('crm.lead_converted');
  }
  if (read.won) {
    patch.state = 'won';
    patch.closedAt = now;
    events.push('crm.opportunity_won');
  } else if (read.closed) {
    patch.state = 'lost';
    patch.closedAt = now;
  }
  return { patch, events };
}
