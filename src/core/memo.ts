/**
 * Values worked out once per key and kept for the hot paths (compiled expressions,
 * decoded keys, parsed URLs). A compute that throws keeps nothing. Past `max` keys
 * the memo starts over: no bookkeeping per hit, and the working set refills at once.
 */
export class Memo<K, V> {
  private readonly values = new Map<K, V>();

  constructor(private readonly max: number) {}

  get(key: K, compute: (key: K) => V): V {
    let value = this.values.get(key);
    if (value === undefined) {
      value = compute(key);
      if (this.values.size >= this.max) this.values.clear();
      this.values.set(key, value);
    }
    return value;
  }

  get size(): number {
    return this.values.size;
  }

  delete(key: K): void {
    this.values.delete(key);
  }
}
