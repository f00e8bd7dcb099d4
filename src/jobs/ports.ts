/** What the retention jobs delete: the store has no TTL indexes to do it. */
export interface Retention {
  /**
   * Deletes attempt records older than `before`, of every tenant but `exceptTenants`; returns how many. Attempt ids are
   * time-ordered, made by newId at createdAt, and a store may go by the id's time.
   */
  purgeAttemptsBefore(before: Date, exceptTenants?: readonly string[]): Promise<number>;
  /** Deletes one tenant's attempt records older than `before` (kept longer or shorter than the rest by its plan); returns how many. */
  purgeTenantAttemptsBefore(tenantId: string, before: Date): Promise<number>;
  /** Deletes delivery stats rows (minutes and hours) that start before `before`; returns how many. */
  purgeDeliveryStatsBefore(before: Date): Promise<number>;
  /** Deletes rate slots claimed before `before`; returns how many. */
  deleteRateSlotsBefore(before: Date): Promise<number>;
}
