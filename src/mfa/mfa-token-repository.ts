import type { Kysely } from 'kysely'
import type { Database, MfaTokenRow } from '../db/schema.js'

/** The mfa_tokens table: logins waiting for a second factor, by token hash. */
export function createMfaTokenRepository(db: Kysely<Database>) {
  return {
    async insert(row: MfaTokenRow): Promise<void> {
      await db.insertInto('mfa_tokens').values(row).execute()
    },

    /**
     * Counts one attempt on an unused, unexpired token with attempts left, and returns it;
     * undefined otherwise. The conditional UPDATE makes the attempt limit hold under
     * concurrency and across instances.
     */
    async takeAttempt(tokenHash: string, now: number, maxAttempts: number): Promise<MfaTokenRow | undefined> {
      const result = await db
        .updateTable('mfa_tokens')
        .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
        .where('token_hash', '=', tokenHash)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .where('attempts', '<', maxAttempts)
        .executeTakeFirst()
      if (Number(result.numUpdatedRows) !== 1) return undefined
      return db.selectFrom('mfa_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst()
    },

    /** Marks the token used; true for exactly one caller. */
    async spend(id: string, now: number): Promise<boolean> {
      const result = await db
        .updateTable('mfa_tokens')
        .set({ used_at: now })
        .where('id', '=', id)
        .where('used_at', 'is', null)
        .executeTakeFirst()
      return Number(result.numUpdatedRows) === 1
    },

    /** Drops tokens that can no longer be used (the maintenance pass). */
    async deleteEnded(now: number): Promise<number> {
      const result = await db
        .deleteFrom('mfa_tokens')
        .where((eb) => eb.or([eb('expires_at', '<=', now), eb('used_at', 'is not', null)]))
        .executeTakeFirst()
      return Number(result.numDeletedRows)
    },
  }
}

export type MfaTokenRepository = ReturnType<typeof createMfaTokenRepository>
