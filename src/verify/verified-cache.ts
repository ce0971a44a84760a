/**
 * A bounded LRU of already verified access tokens, keyed by the whole compact token:
 * a tampered copy differs in some byte, so it can never hit. Entries carry their
 * `exp` and `kid`; callers re-check both on every hit.
 */
export class VerifiedTokenCache<V extends { exp: number; kid: string }> {
  #entries = new Map<string, V>()

  constructor(private readonly capacity: number) {}

  get(token: string): V | undefined {
    const entry = this.#entries.get(token)
    if (entry === undefined) return undefined
    // Refresh recency: Map iteration order is insertion order, so the oldest is first.
    this.#entries.delete(token)
    this.#entries.set(token, entry)
    return entry
  }

  set(token: string, value: V): void {
    if (this.capacity === 0) return
    this.#entries.delete(token)
    this.#entries.set(token, value)
    if (this.#entries.size > this.capacity) {
      const oldest = this.#entries.keys().next().value
      if (oldest !== undefined) this.#entries.delete(oldest)
    }
  }

  delete(token: string): void {
    this.#entries.delete(token)
  }

  /** Drops every entry whose signing key is no longer in the key set. */
  retainKeys(isKnown: (kid: string) => boolean): void {
    for (const [token, entry] of this.#entries) if (!isKnown(entry.kid)) this.#entries.delete(token)
  }

  get size(): number {
    return this.#entries.size
  }
}
