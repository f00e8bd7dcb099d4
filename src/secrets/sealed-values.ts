/** One value sealed by SecretBox, wherever it is stored. */
export interface SealedValue {
  collection: 'subscriptions' | 'connections' | 'oauth_states';
  id: string;
  /** The field, e.g. secretSealed. */
  field: string;
  value: string;
}

/** Every sealed value in the store, for the key check at start and re-encryption. */
export interface SealedValues {
  /** Every sealed value (fields named *Sealed / sealed, not empty). */
  scanSealed(): AsyncIterable<SealedValue>;
  /** Replaces a sealed value if it is still the one scanned; false when it changed meanwhile. */
  replaceSealed(found: SealedValue, value: string): Promise<boolean>;
}
