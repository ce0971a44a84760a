import type { Kysely } from 'kysely'
import type { AuditLog } from '../audit/audit-log.js'
import type { AuditContext } from '../audit/events.js'
import type { Clock } from '../clock.js'
import { isUuid } from '../db/ids.js'
import type { Database, SessionRow } from '../db/schema.js'
import { notFound } from '../errors.js'
import type { SessionRepository } from './repository.js'

// "Where am I logged in": a user's sessions (refresh-token families) and logging them
// out. Revoking a session stops its refresh token, and the revocation feed cuts off the
// access tokens it already issued (docs/contract.md §11).

/** A session as its owner sees it (GET /v1/me/sessions). */
export interface PublicSession {
  id: string
  client_id: string
  created_at: string
  last_used_at: string
  expires_at: string
  user_agent: string | null
  current: boolean
}

export interface SessionServiceDeps {
  db: Kysely<Database>
  audit: AuditLog
  sessions: SessionRepository
  clock: Clock
  refreshTokenIdleTtl: number
}

export function createSessionService({
  db,
  audit,
  sessions,
  clock,
  refreshTokenIdleTtl,
}: SessionServiceDeps) {
  const idleMs = refreshTokenIdleTtl * 1000

  function toPublicSession(row: SessionRow, currentSid: string | undefined): PublicSession {
    const iso = (ms: number) => new Date(ms).toISOString()
    return {
      id: row.id,
      client_id: row.client_id,
      created_at: iso(row.created_at),
      last_used_at: iso(row.last_used_at),
      // When the session ends unless it is refreshed again: the sooner of its absolute
      // and idle lifetimes.
      expires_at: iso(Math.min(row.expires_at, row.last_used_at + idleMs)),
      user_agent: row.user_agent,
      current: row.id === currentSid,
    }
  }

  /** The user's active sessions, newest first; `currentSid` is the calling token's `sid`. */
  async function listSessions(userId: string, currentSid: string | undefined): Promise<PublicSession[]> {
    const rows = await sessions.listActiveForUser(userId, clock(), idleMs)
    return rows.map((row) => toPublicSession(row, currentSid))
  }

  /**
   * Revokes one of the user's own sessions. Idempotent for the owner (an ended session
   * is already what was asked for); anyone else's id is 404, so ids cannot be probed.
   */
  async function revokeSession(userId: string, sessionId: string, who: AuditContext): Promise<void> {
    const session = isUuid(sessionId) ? await sessions.findById(sessionId) : undefined
    if (!session || session.user_id !== userId) throw notFound('You have no session with this id.')
    await db.transaction().execute(async (trx) => {
      // Only the call that ended it records it: repeating the request changes nothing.
      if (!(await sessions.revoke(session.id, clock(), trx))) return
      await audit.record(trx, who, {
        type: 'session.revoked',
        userId,
        clientId: session.client_id,
        details: { reason: 'logout', session_id: session.id },
      })
    })
  }

  /**
   * "Log out everywhere": revokes every session of the user, or every other one when
   * `keepSid` names the calling session. Returns the number revoked.
   */
  function revokeAllSessions(userId: string, who: AuditContext, keepSid?: string): Promise<number> {
    return db.transaction().execute(async (trx) => {
      const count = await sessions.revokeAllForUser(userId, clock(), keepSid, trx)
      if (count > 0)
        await audit.record(trx, who, {
          type: 'session.revoked',
          userId,
          details: { reason: keepSid ? 'logout_others' : 'logout_everywhere', count },
        })
      return count
    })
  }

  return { listSessions, revokeSession, revokeAllSessions }
}

export type SessionService = ReturnType<typeof createSessionService>
