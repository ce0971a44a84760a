import { randomUUID } from 'node:crypto'
import { CompiledQuery, type Kysely } from 'kysely'
import { opaqueParameter } from '../db/opaque-parameter.js'
import { precompile, prepareOnEachConnection } from '../db/precompiled.js'
import {
  type Database,
  type Db,
  type RefreshTokenRow,
  SESSION_COLUMNS,
  type SessionRow,
} from '../db/schema.js'

// The refresh_tokens table: every SQL statement over it. Beside the sessions table's
// repository, since a session is a refresh-token family. Tokens are found by their
// SHA-256 hash only (tokens/refresh-token.ts hashes them); the clear token is never stored.

// $1 token id, $2 now, $3 sealed successor, $4 successor id, $5 successor hash, $6 session id.
// The session is touched first, only while it is not revoked: the UPDATE takes the
// session's row lock, so a transaction revoking it (credential fence, client deletion)
// either commits first, and READ COMMITTED re-reads the row and touches nothing, or waits
// for this statement. The token is spent only if the touch happened, and the successor
// inserted only if the token was spent: a revoked session leaves everything as it was.
const SPEND_AND_REPLACE_PG = `WITH touched AS (
  UPDATE sessions SET last_used_at = $2
  WHERE id = $6 AND revoked_at IS NULL
  RETURNING id
), spent AS (
  UPDATE refresh_tokens SET rotated_at = $2, successor_enc = $3
  WHERE id = $1 AND rotated_at IS NULL AND session_id IN (SELECT id FROM touched)
  RETURNING session_id
), inserted AS (
  INSERT INTO refresh_tokens (id, session_id, token_hash, created_at, rotated_at, successor_enc)
  SELECT $4, session_id, $5, $2, NULL, NULL FROM spent
)
SELECT (SELECT count(*) FROM touched)::int AS touched, (SELECT count(*) FROM spent)::int AS spent`

prepareOnEachConnection(SPEND_AND_REPLACE_PG)

export function createRefreshTokenRepository(db: Kysely<Database>) {
  // The rotation's statements, built and compiled to SQL once (db/precompiled.ts).
  const insertToken = precompile(db, 4, (db, id: string, sessionId: string, tokenHash: string, now: number) =>
    db.insertInto('refresh_tokens').values({
      id,
      session_id: sessionId,
      token_hash: tokenHash,
      created_at: now,
      rotated_at: null,
      successor_enc: null,
    }),
  )
  // Everything a refresh reads, in one statement: refresh is the busiest write path.
  // The token and its session; the session's user (its scopes and whether it is
  // disabled), so the grant does not read it again after commit; and whether the
  // session's client_id names a registered client, for the client-binding check, which
  // used to be two statements of its own before the rotation (docs/performance.md).
  const findForRotation = precompile(db, 1, (db, tokenHash: string) =>
    db
      .selectFrom('refresh_tokens as t')
      .innerJoin('sessions as s', 's.id', 't.session_id')
      .leftJoin('users as u', 'u.id', 's.user_id')
      .leftJoin('clients as c', 'c.client_id', 's.client_id')
      .select(SESSION_COLUMNS.map((column) => `s.${column}` as const))
      .select([
        't.id as token_id',
        't.rotated_at as token_rotated_at',
        't.successor_enc as token_successor_enc',
        'u.id as user_row_id',
        'u.scopes as user_scopes',
        'u.disabled_at as user_disabled_at',
        'c.id as client_row_id',
      ])
      .where('t.token_hash', '=', opaqueParameter(tokenHash)),
  )
  const markRotated = precompile(db, 3, (db, id: string, now: number, successorEnc: string) =>
    db
      .updateTable('refresh_tokens')
      .set({ rotated_at: now, successor_enc: successorEnc })
      .where('id', '=', id)
      .where('rotated_at', 'is', null),
  )
  return {
    async insert(sessionId: string, tokenHash: string, now: number, trx: Db = db): Promise<void> {
      await insertToken(trx, randomUUID(), sessionId, tokenHash, now)
    },

    /** The rotation's one read: token state, session, the session's user and client registration. */
    async findForRotation(tokenHash: string, trx: Db = db) {
      return (await findForRotation(trx, tokenHash)).rows[0]
    },

    /**
     * PostgreSQL only, one statement, one round trip: touches session `sessionId` unless it
     * was revoked, then spends token `id` (if no one else did first), then inserts its
     * successor. The data-modifying CTEs run atomically, each gated on the one before.
     * 'spent' if this call spent it, 'taken' if another caller had, 'session-ended' if the
     * session was revoked (nothing written).
     */
    async spendAndReplaceOnPostgres(
      id: string,
      sessionId: string,
      now: number,
      successorEnc: string,
      successorHash: string,
      trx: Db = db,
    ): Promise<'spent' | 'taken' | 'session-ended'> {
      const result = await trx.executeQuery<{ touched: number; spent: number }>(
        CompiledQuery.raw(SPEND_AND_REPLACE_PG, [
          id,
          now,
          successorEnc,
          randomUUID(),
          successorHash,
          sessionId,
        ]),
      )
      const row = result.rows[0]
      if (Number(row?.touched) !== 1) return 'session-ended'
      return Number(row?.spent) === 1 ? 'spent' : 'taken'
    },

    findByHash(tokenHash: string, trx: Db = db): Promise<RefreshTokenRow | undefined> {
      return trx
        .selectFrom('refresh_tokens')
        .selectAll()
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst()
    },

    /** The session a token belongs to, whether or not either is still usable. */
    findSessionByHash(tokenHash: string, trx: Db = db): Promise<SessionRow | undefined> {
      return trx
        .selectFrom('refresh_tokens as t')
        .innerJoin('sessions as s', 's.id', 't.session_id')
        .selectAll('s')
        .where('t.token_hash', '=', opaqueParameter(tokenHash))
        .executeTakeFirst()
    },

    /**
     * Spends an unspent token, keeping its sealed successor. True for exactly one
     * concurrent caller: the conditional UPDATE is the lock.
     */
    async markRotated(id: string, now: number, successorEnc: string, trx: Db = db): Promise<boolean> {
      return Number((await markRotated(trx, id, now, successorEnc)).numAffectedRows) === 1
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
