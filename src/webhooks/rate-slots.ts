/**
 * Rate-limit slots shared by every process: a slot is an id that only one
 * claim can take (an insert under a unique id), so no two workers send in it.
 */
export interface RateSlots {
  /** Takes slot `slot` of time bucket `bucket` for `key`; false when another claim took it first. */
  claimRateSlot(key: string, bucket: number, slot: number): Promise<boolean>;
}
