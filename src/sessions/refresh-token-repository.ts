import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Database, Db, RefreshTokenRow, SessionRow } from '../db/schema.js'

// The refresh_tokens table: every SQL statement over it. Beside the sessions table's
// repository, since a session is a refresh-token family. Tokens are found by their
// SHA-256 hash only (tokens/refresh-token.ts hashes them); the clear token is never stored.

export function createRefreshTokenRepository(db: Kysely<Database>) {
  return {
    async insert(sessionId: string, tokenHash: string, now: number, trx: Db = db): Promise<void> {
      await trx
        .insertInto('refresh_tokens')
        .values({
          id: randomUUID(),
          session_id: sessionId,
          token_hash: tokenHash,
          created_at: now,
          rotated_at: null,
          successor_enc: null,
        })
        .execute()
    },

    findByHash(tokenHash: string, trx: Db = db): Promise<RefreshTokenRow | undefined> {
      return trx
        .selectFrom('refresh_tokens')
        .selectAll()
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst()
    },

    /** The token's state and its session in one round trip: refresh is the busiest write path. */
    findWithSession(tokenHash: string, trx: Db = db) {
      return trx
        .selectFrom('refresh_tokens as t')
        .innerJoin('sessions as s', 's.id', 't.session_id')
        .selectAll('s')
        .select([
          't.id as token_id',
          't.rotated_at as token_rotated_at',
          't.successor_enc as token_successor_enc',
        ])
        .where('t.token_hash', '=', tokenHash)
        .executeTakeFirst()
    },

    /** The session a token belongs to, whether or not either is still usable. */
    findSessionByHash(tokenHash: string, trx: Db = db): Promise<SessionRow | undefined> {
      return trx
        .selectFrom('refresh_tokens as t')
        .innerJoin('sessions as s', 's.id', 't.session_id')
        .selectAll('s')
        .where('t.token_hash', '=', tokenHash)
        .executeTakeFirst()
    },

    /**
     * Spends an unspent token, keeping its sealed successor. True for exactly one
     * concurrent caller: the conditional UPDATE is the lock.
     */
    async markRotated(id: string, now: number, successorEnc: string, trx: Db = db): Promise<boolean> {
      const spent = await trx
        .updateTable('refresh_tokens')
        .set({ rotated_at: now, successor_enc: successorEnc })
        .where('id', '=', id)
        .where('rotated_at', 'is', null)
        .executeTakeFirst()
      return Number(spent.numUpdatedRows) === 1
    },

    /** Deletes every token of these sessions; returns how many. */
    async deleteForSessions(sessionIds: readonly string[], trx: Db = db): Promise<number> {
      const result = await trx
        .deleteFrom('refresh_tokens')
        .where('session_id', 'in', sessionIds)
        .executeTakeFirst()
      return Number(result.numDeletedRows)
    },
  }
}

export type RefreshTokenRepository = ReturnType<typeof createRefreshTokenRepository>
