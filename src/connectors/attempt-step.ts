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
}
