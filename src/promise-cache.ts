/**
 * Work done once per key and shared by every caller that asks meanwhile or later (a runtime per language, a
 * bundle's declarations, a bundle's code). A load that fails is forgotten, so the next call tries again; past `max`
 * entries the oldest goes first.
 */
export class PromiseCache<K, V> {
  private readonly entries = new Map<K, Promise<V>>();

  constructor(private readonly max = Number.POSITIVE_INFINITY) {}

  get(key: K, load: () => Promise<V>): Promise<V> {
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = load();
      this.entries.set(key, entry);
      entry.catch(() => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      });
      if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
    }
    return entry;
  }
}
