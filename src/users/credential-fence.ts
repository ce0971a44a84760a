import { type Kysely, sql, type Transaction } from 'kysely'
import type { Database } from '../db/schema.js'
import type { RevocationRecorder } from '../sessions/repository.js'

// The credential fence. A login checks a password (slow: bcrypt) and only then opens a
// session; a password change, a reset, a disable or a deletion may commit in between and
// "revoke every session" before the new one exists. Every change of a user's credentials
// or account state therefore bumps users.credential_version in the same transaction that
// ends the sessions, and every session is inserted only in a transaction that first
// re-checks, under the user's row lock, the version its credentials were checked against.
// The check is a no-op UPDATE, the one portable way to take that row lock: on PostgreSQL
// it waits for a concurrent bump and then re-reads the row (READ COMMITTED re-evaluates
// the WHERE), on SQLite the write lock serializes the two transactions. A bump that
// comes later waits for the session insert and then revokes it with the rest.
// Refreshes are fenced by the same bump: it revokes the session row the rotation must
// touch (tokens/refresh-token.ts), and the touch is conditional on it not being revoked.

type Db = Kysely<Database> | Transaction<Database>

/**
 * Call in the transaction that changes a user's password, disables, deletes or resets the
 * account (and any future credential change: MFA, email change): bumps the credential
 * version and revokes every session of the user, so no login checked against the old
 * state can still commit a session. It also records the revocations (the sessions, and the
 * user's cut-off), so access tokens already issued are refused too (docs/contract.md §11).
 * Returns the number of sessions it ended.
 */
export async function bumpCredentialVersion(
  trx: Db,
  revocations: RevocationRecorder,
  userId: string,
  now: number,
  /** A second factor changed by the user themselves: the session that changed it stays. */
  keepSessionId?: string,
): Promise<number> {
  await trx
    .updateTable('users')
    .set({ credential_version: sql<number>`credential_version + 1` })
    .where('id', '=', userId)
    .execute()
  let sessions = trx
    .updateTable('sessions')
    .set({ revoked_at: now })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
  if (keepSessionId !== undefined) sessions = sessions.where('id', '!=', keepSessionId)
  const ended = await sessions.returning('id').execute()
  // A user-wide cut-off would also refuse the kept session's access tokens: with a kept
  // session, the ended sessions' entries alone cut off their tokens.
  const users = keepSessionId === undefined ? [userId] : []
  await revocations.record(trx, { sessions: ended.map((s) => s.id), users }, now)
  return ended.length
}

/**
 * True while user `userId` exists, is not disabled and still has credential version
 * `version`; holds the user's row lock until `trx` ends. Call it in the transaction that
 * inserts a session, before the insert.
 */
export async function isCredentialCurrent(trx: Db, userId: string, version: number): Promise<boolean> {
  const result = await trx
    .updateTable('users')
    .set({ credential_version: version })
    .where('id', '=', userId)
    .where('credential_version', '=', version)
    .where('disabled_at', 'is', null)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) === 1
}
