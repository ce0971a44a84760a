import type { Kysely } from 'kysely'
import { precompile } from '../db/precompiled.js'
import { type Database, type Db, SESSION_COLUMNS, type SessionRow } from '../db/schema.js'
import type { RevocationLog } from './revocation-log.js'

/** What the repository needs of the revocation log: its one writing function. */
export type RevocationRecorder = Pick<RevocationLog, 'record'>

/**
 * Runs `fn` in `trx` if it is a transaction, else in a new one: a session's revocation
 * and its feed entry commit together (sessions/revocation-log.ts).
 */
export function inTransaction<T>(trx: Db, fn: (trx: Db) => Promise<T>): Promise<T> {
  return trx.isTransaction ? fn(trx) : (trx as Kysely<Database>).transaction().execute(fn)
}

/**
 * Sessions are refresh-token families: revoking one ends every token in it. Every
 * revocation here also records a feed entry, so access tokens of the session are refused
 * before they expire (docs/contract.md §11).
 */
export function createSessionRepository(db: Kysely<Database>, revocations: RevocationRecorder) {
  /** Records the sessions an UPDATE … RETURNING id just revoked; returns how many. */
  async function recorded(trx: Db, rows: { id: string }[], now: number): Promise<number> {
    await revocations.record(trx, { sessions: rows.map((r) => r.id) }, now)
    return rows.length
  }

  // Every refresh touches its session, and every introspected access token with a sid
  // reads it: both compiled once (db/precompiled.ts).
  const byId = precompile(db, 1, (db, id: string) =>
    db.selectFrom('sessions').select(SESSION_COLUMNS).where('id', '=', id),
  )
  const touch = precompile(db, 2, (db, id: string, now: number) =>
    db
      .updateTable('sessions')
      .set({ last_used_at: now })
      .where('id', '=', id)
      .where('revoked_at', 'is', null),
  )
  return {
    findById(id: string, trx: Db = db): Promise<SessionRow | undefined> {
      return byId(trx, id).then((result) => result.rows[0])
    },

    async insert(row: SessionRow, trx: Db = db): Promise<void> {
      await trx.insertInto('sessions').values(row).execute()
    },

    /** False when the session was revoked (the row is locked until `trx` ends either way). */
    async touch(id: string, now: number, trx: Db = db): Promise<boolean> {
      return Number((await touch(trx, id, now)).numAffectedRows) === 1
    },

    /** Revokes the user's oldest open sessions beyond the newest `keep` (a cap per account). */
    async revokeOldestBeyond(userId: string, keep: number, now: number, trx: Db = db): Promise<number> {
      return inTransaction(trx, async (trx) => {
        const rows = await trx
          .updateTable('sessions')
          .set({ revoked_at: now })
          .where('user_id', '=', userId)
          .where('revoked_at', 'is', null)
          .where('id', 'not in', (eb) =>
            eb
              .selectFrom('sessions')
              .select('id')
              .where('user_id', '=', userId)
              .where('revoked_at', 'is', null)
              .orderBy('created_at', 'desc')
              .orderBy('id', 'desc')
              .limit(keep),
          )
          .returning('id')
          .execute()
        return recorded(trx, rows, now)
      })
    },

    /** Returns true if this call revoked it (false if unknown or already revoked). */
    async revoke(id: string, now: number, trx: Db = db): Promise<boolean> {
      return inTransaction(trx, async (trx) => {
        const rows = await trx
          .updateTable('sessions')
          .set({ revoked_at: now })
          .where('id', '=', id)
          .where('revoked_at', 'is', null)
          .returning('id')
          .execute()
        return (await recorded(trx, rows, now)) > 0
      })
    },

    async revokeAllForUser(userId: string, now: number, exceptId?: string, trx: Db = db): Promise<number> {
      return inTransaction(trx, async (trx) => {
        let query = trx
          .updateTable('sessions')
          .set({ revoked_at: now })
          .where('user_id', '=', userId)
          .where('revoked_at', 'is', null)
        if (exceptId) query = query.where('id', '!=', exceptId)
        return recorded(trx, await query.returning('id').execute(), now)
      })
    },

    /** Ends every session opened through a client, e.g. when that client is deleted. */
    async revokeAllForClient(clientId: string, now: number, trx: Db = db): Promise<number> {
      return inTransaction(trx, async (trx) => {
        const rows = await trx
          .updateTable('sessions')
          .set({ revoked_at: now })
          .where('client_id', '=', clientId)
          .where('revoked_at', 'is', null)
          .returning('id')
          .execute()
        return recorded(trx, rows, now)
      })
    },

    /** Sessions that can no longer be used (revoked, past either lifetime): at most `limit` ids. */
    async listEndedIds(now: number, idleTtlMs: number, limit: number): Promise<string[]> {
      const rows = await db
        .selectFrom('sessions')
        .select('id')
        .where((eb) =>
          eb.or([
            eb('revoked_at', 'is not', null),
            eb('expires_at', '<=', now),
            eb('last_used_at', '<=', now - idleTtlMs),
          ]),
        )
        .limit(limit)
        .execute()
      return rows.map((r) => r.id)
    },

    /** Deletes these sessions; returns how many. Their refresh tokens must be deleted first. */
    async deleteByIds(ids: readonly string[], trx: Db = db): Promise<number> {
      const result = await trx.deleteFrom('sessions').where('id', 'in', ids).executeTakeFirst()
      return Number(result.numDeletedRows)
    },

    /** Sessions that can still be refreshed, the 100 newest first (GET /v1/me/sessions is bounded). */
    listActiveForUser(userId: string, now: number, idleTtlMs: number): Promise<SessionRow[]> {
      return db
        .selectFrom('sessions')
        .selectAll()
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .where('last_used_at', '>', now - idleTtlMs)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(100)
        .execute()
    },
  }
}

export type SessionRepository = ReturnType<typeof createSessionRepository>
