import type { Kysely } from 'kysely'
import type { Database } from '../db/schema.js'
import { createRefreshTokenRepository } from './refresh-token-repository.js'
import { createSessionRepository, type RevocationRecorder } from './repository.js'

// Purging only deletes sessions that have ended already: it never revokes one.
const NEVER_REVOKES: RevocationRecorder = {
  record: () => Promise.reject(new Error('purging never revokes a session')),
}

// Ended sessions (revoked, past their absolute lifetime, or idle too long) can never be
// used again: a refresh token of a deleted session is as invalid as one of a revoked
// session. Deleting them and their refresh tokens keeps both tables from growing forever.
// Spent refresh tokens of live sessions stay: reuse detection needs them (docs/contract.md §4).

export interface PurgeOptions {
  now: number
  /** REFRESH_TOKEN_IDLE_TTL in milliseconds. */
  idleTtlMs: number
  /** Sessions deleted per statement, so no single delete holds locks for long. */
  batchSize?: number
}

export interface PurgeResult {
  sessions: number
  refresh_tokens: number
}

/** Deletes ended sessions and their refresh tokens, in batches. */
export async function purgeSessions(db: Kysely<Database>, options: PurgeOptions): Promise<PurgeResult> {
  const { now, idleTtlMs, batchSize = 500 } = options
  const sessions = createSessionRepository(db, NEVER_REVOKES)
  const refreshTokens = createRefreshTokenRepository(db)
  const total: PurgeResult = { sessions: 0, refresh_tokens: 0 }
  for (;;) {
    const ids = await sessions.listEndedIds(now, idleTtlMs, batchSize)
    if (ids.length === 0) return total
    await db.transaction().execute(async (trx) => {
      // Explicit rather than relying on ON DELETE CASCADE, so the count is known.
      total.refresh_tokens += await refreshTokens.deleteForSessions(ids, trx)
      total.sessions += await sessions.deleteByIds(ids, trx)
    })
    if (ids.length < batchSize) return total
  }
}
