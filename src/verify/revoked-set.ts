// The revoked set (docs/contract.md §11): sessions ended and users cut off whose access
// tokens may still be unexpired. Badge's bearer check and the resource-server kit consult
// it on every request, so a lookup is one or two Map reads and allocates nothing; it is
// fed in the background (Badge's own writes, its notification bus and catch-up poll; the
// kit's feed subscription) and forgets each entry once no token it concerns can be alive.

/** One entry of the feed, as `GET /v1/revocations` serves it. Times are NumericDate seconds. */
export type RevocationEntry =
  | { type: 'session'; sid: string; revoked_at: number; expires_at: number }
  | { type: 'user'; sub: string; not_before: number; expires_at: number }

interface UserCutoff {
  notBefore: number
  expiresAt: number
}

export class RevokedSet {
  #sessions = new Map<string, number>()
  #users = new Map<string, UserCutoff>()

  /** Most entries held; past it `add` refuses new keys (bounded memory) and counts them. */
  constructor(readonly maxEntries = Number.POSITIVE_INFINITY) {}

  /** Entries refused because the set was full (a resource server should alert on it). */
  overflowed = 0

  /** True when a token with these claims must be refused: its session ended, or it predates its user's cut-off. */
  isRevoked(sub: string, sid: string | undefined, iat: number): boolean {
    if (sid !== undefined && this.#sessions.has(sid)) return true
    const cutoff = this.#users.get(sub)
    // iat has whole seconds, so a token issued in the second of the cut-off passes here:
    // a new login right after a password change must work. Such an old token is still
    // refused by its sid, since every cut-off also ends the user's sessions.
    return cutoff !== undefined && iat < cutoff.notBefore
  }

  /** Adds an entry; true when it changed the set (a new session, or a later cut-off). */
  add(entry: RevocationEntry): boolean {
    if (entry.type === 'session') {
      const known = this.#sessions.get(entry.sid)
      if (known !== undefined) {
        if (entry.expires_at > known) this.#sessions.set(entry.sid, entry.expires_at)
        return false
      }
      if (this.size >= this.maxEntries) return this.#refuse()
      this.#sessions.set(entry.sid, entry.expires_at)
      return true
    }
    const known = this.#users.get(entry.sub)
    if (known !== undefined) {
      if (entry.not_before <= known.notBefore) return false
      known.notBefore = entry.not_before
      known.expiresAt = Math.max(known.expiresAt, entry.expires_at)
      return true
    }
    if (this.size >= this.maxEntries) return this.#refuse()
    this.#users.set(entry.sub, { notBefore: entry.not_before, expiresAt: entry.expires_at })
    return true
  }

  #refuse(): false {
    this.overflowed++
    return false
  }

  /** Forgets entries whose tokens have all expired (`now` in seconds). */
  prune(now: number): void {
    for (const [sid, expiresAt] of this.#sessions) if (expiresAt <= now) this.#sessions.delete(sid)
    for (const [sub, cutoff] of this.#users) if (cutoff.expiresAt <= now) this.#users.delete(sub)
  }

  get size(): number {
    return this.#sessions.size + this.#users.size
  }
}
