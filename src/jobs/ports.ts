/** What the retention jobs delete: the store has no TTL indexes to do it. */
export interface Retention {
  /**
   * Deletes attempt records older than `before`; returns how many. Attempt ids are
   * time-ordered, made by newId at createdAt, and a store may go by the id's time.
   */
  purgeAttemptsBefore(before: Date): Promise<number>;
  /** Deletes delivery stats rows (minutes and hours) that start before `before`; returns how many. */
  purgeDeliveryStatsBefore(before: Date): Promise<number>;
  /** Deletes rate slots claimed before `before`; returns how many. */
  deleteRateSlotsBefore(before: Date): Promise<number>;
}
