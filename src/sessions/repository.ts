import type { Kysely } from 'kysely'
import { precompile } from '../db/precompiled.js'
import type { Database, Db, SessionRow } from '../db/schema.js'

/** Sessions are refresh-token families: revoking one ends every token in it. */
export function createSessionRepository(db: Kysely<Database>) {
  // Every refresh touches its session: compiled once (db/precompiled.ts).
  const touch = precompile(db, 2, (db, id: string, now: number) =>
    db
      .updateTable('sessions')
      .set({ last_used_at: now })
      .where('id', '=', id)
      .where('revoked_at', 'is', null),
  )
  return {
    findById(id: string, trx: Db = db): Promise<SessionRow | undefined> {
      return trx.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst()
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
      const result = await trx
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
        .executeTakeFirst()
      return Number(result.numUpdatedRows)
    },

    /** Returns true if this call revoked it (false if unknown or already revoked). */
    async revoke(id: string, now: number, trx: Db = db): Promise<boolean> {
      const result = await trx
        .updateTable('sessions')
        .set({ revoked_at: now })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst()
      return Number(result.numUpdatedRows) > 0
    },

    async revokeAllForUser(userId: string, now: number, exceptId?: string, trx: Db = db): Promise<number> {
      let query = trx
        .updateTable('sessions')
        .set({ revoked_at: now })
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
      if (exceptId) query = query.where('id', '!=', exceptId)
      const result = await query.executeTakeFirst()
      return Number(result.numUpdatedRows)
    },

    /** Ends every session opened through a client, e.g. when that client is deleted. */
    async revokeAllForClient(clientId: string, now: number, trx: Db = db): Promise<number> {
      const result = await trx
        .updateTable('sessions')
        .set({ revoked_at: now })
        .where('client_id', '=', clientId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst()
      return Number(result.numUpdatedRows)
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
