import type { Kysely } from 'kysely'
import type { Database, WebauthnChallengeRow } from '../db/schema.js'

/** The webauthn_challenges table: one-use ceremony challenges, by handle hash. */
export function createWebauthnChallengeRepository(db: Kysely<Database>) {
  return {
    async insert(row: WebauthnChallengeRow): Promise<void> {
      await db.insertInto('webauthn_challenges').values(row).execute()
    },

    /**
     * Spends an unused, unexpired challenge of `purpose` and returns it; undefined otherwise
     * (unknown, expired, already spent). The conditional UPDATE makes it single-use under
     * concurrency and across instances.
     */
    async spend(
      handleHash: string,
      purpose: WebauthnChallengeRow['purpose'],
      now: number,
    ): Promise<WebauthnChallengeRow | undefined> {
      const result = await db
        .updateTable('webauthn_challenges')
        .set({ used_at: now })
        .where('handle_hash', '=', handleHash)
        .where('purpose', '=', purpose)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst()
      if (Number(result.numUpdatedRows) !== 1) return undefined
      return db
        .selectFrom('webauthn_challenges')
        .selectAll()
        .where('handle_hash', '=', handleHash)
        .executeTakeFirst()
    },

    /** Drops challenges that can no longer be used (the maintenance pass). */
    async deleteEnded(now: number): Promise<number> {
      const result = await db
        .deleteFrom('webauthn_challenges')
        .where((eb) => eb.or([eb('expires_at', '<=', now), eb('used_at', 'is not', null)]))
        .executeTakeFirst()
      return Number(result.numDeletedRows)
    },
  }
}

export type WebauthnChallengeRepository = ReturnType<typeof createWebauthnChallengeRepository>
