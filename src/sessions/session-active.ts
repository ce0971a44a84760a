import type { SessionRow } from '../db/schema.js'

/**
 * Whether a session can still be used at `now` (absolute and idle lifetimes,
 * revocation). Rotation, introspection and the session list (in SQL, kept in step with
 * this in sessions/repository.ts listActiveForUser) all apply this rule.
 */
export function isSessionActive(session: SessionRow, now: number, idleTtlMs: number): boolean {
  return session.revoked_at === null && session.expires_at > now && session.last_used_at + idleTtlMs > now
}
