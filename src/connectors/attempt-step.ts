/** One request the connector runtime made during an integration attempt, with credentials masked. */
export interface AttemptStep {
  trigger: string;
  action: string;
  method: string;
  url: string;
  status: number | null;
  durationMs: number;
  externalId: string | null;
  error: string | null;
  objectType?: string | null;
  result?: 'created' | 'updated' | 'failed' | null;
  /** Body fields cut to the action's max_lengths, e.g. "LastName (95 → 80)"; null when none was. */
  truncated?: string[] | null;
}
