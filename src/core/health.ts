/** What the readiness check asks of a backing service (the store). */
export interface Health {
  /** Opened and not closed; whether it answers right now is what ping() tells. */
  isReady(): boolean;
  /** Cheap round trip that proves the service answers. */
  ping(): Promise<void>;
}
