import type { EventEnvelope } from '../events/envelope';

/** queued: waiting for the jobs role; running: pages being sent; done: the window is exported; failed: stopped for good (error says why). */
export type ExportState = 'queued' | 'running' | 'done' | 'failed';

/** Where an export stands in its window: the last event exported, in (receivedAt, key) order. */
export interface EventCursor {
  receivedAt: Date;
  key: string;
}

/** A stored event as an export reads it. */
export interface ExportEvent {
  key: string;
  receivedAt: Date;
  envelope: EventEnvelope;
}

/** An export of a connection's past events of one type, received in [since, until), into the linked account. */
export interface ExportRecord {
  id: string;
  tenantId: string;
  connectionId: string;
  type: string;
  since: Date;
  until: Date;
  state: ExportState;
  /** Events whose rows are in the account (sent by this export, or found there after an interrupted page). */
  exported: number;
  /** The last event exported; null before the first page. */
  cursor: EventCursor | null;
  /** Written ahead of each page's request: the ids of its events. Set when a run stopped between the request and storing its progress. */
  pending: string[] | null;
  /** Where the last page went, as the API said (the range a spreadsheet append updated). */
  lastRange: string | null;
  /** Why the export failed, or why its last run stopped early (it goes on next run). */
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

export type ExportPatch = Partial<Pick<ExportRecord, 'state' | 'exported' | 'cursor' | 'pending' | 'lastRange' | 'error' | 'updatedAt' | 'finishedAt'>>;

/** Exports still to run: queued, or running when their process stopped. */
export const UNFINISHED_EXPORT_STATES: readonly ExportState[] = ['queued', 'running'];
