/**
 * A bounded cache of already verified access tokens, keyed by the whole compact token:
 * a tampered copy differs in some byte, so it can never hit. Entries carry their `exp`
 * and `kid`; callers re-check both on every hit.
 *
 * Eviction is "second chance" (CLOCK) over the Map's insertion order, which keeps tokens
 * in use much as an LRU would. A classic Map LRU deletes and re-inserts the entry on
 * every hit; in V8 that leaves a deleted slot in the key's hash chain each time, so one
 * hot token in a 10,000-entry map made every hit cost ~20 µs instead of ~0.1 µs
 * (bench/: protected/bare with one token). Here a hit only sets a flag.
 */
export class VerifiedTokenCache<V extends { exp: number; kid: string }> {
  #entries = new Map<string, { value: V; used: boolean }>()

  constructor(private readonly capacity: number) {}

  get(token: string): V | undefined {
    const entry = this.#entries.get(token)
    if (entry === undefined) return undefined
    entry.used = true
    return entry.value
  }

  set(token: string, value: V): void {
    if (this.capacity === 0) return
    const entry = this.#entries.get(token)
    if (entry !== undefined) {
      entry.value = value
      entry.used = true
      return
    }
    if (this.#entries.size >= this.capacity) this.#evictOne()
    this.#entries.set(token, { value, used: false })
  }

  /**
   * Drops the oldest entry not used since it was last passed over; used ones move to the
   * back with their flag cleared. Each entry moves at most once per use, so this is O(1)
   * amortized, and it ends: an entry moved to the back is met again unflagged.
   */
  #evictOne(): void {
    for (const [token, entry] of this.#entries) {
      this.#entries.delete(token)
      if (!entry.used) return
      entry.used = false
      this.#entries.set(token, entry)
    }
  }

  delete(token: string): void {
    this.#entries.delete(token)
  }

  /** Drops every entry whose signing key is no longer in the key set. */
  retainKeys(isKnown: (kid: string) => boolean): void {
    for (const [token, entry] of this.#entries) if (!isKnown(entry.value.kid)) this.#entries.delete(token)
  }

  get size(): number {
    return this.#entries.size
  }
}
