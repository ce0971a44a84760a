import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Database, Db } from '../db/schema.js'

/** The recovery_codes table: hashes only. */
export function createRecoveryCodeRepository(db: Kysely<Database>) {
  return {
    /** Replaces every code of the user with these hashes. */
    async replaceAll(userId: string, hashes: readonly string[], now: number, trx: Db = db): Promise<void> {
      await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute()
      await trx
        .insertInto('recovery_codes')
        .values(
          hashes.map((code_hash) => ({
            id: randomUUID(),
            user_id: userId,
            code_hash,
            used_at: null,
            created_at: now,
          })),
        )
        .execute()
    },

    /** Spends the unused code with this hash; true for exactly one concurrent caller. */
    async spend(userId: string, codeHash: string, now: number): Promise<boolean> {
      const result = await db
        .updateTable('recovery_codes')
        .set({ used_at: now })
        .where('user_id', '=', userId)
        .where('code_hash', '=', codeHash)
        .where('used_at', 'is', null)
        .executeTakeFirst()
      return Number(result.numUpdatedRows) === 1
    },

    async countUnused(userId: string): Promise<number> {
      const row = await db
        .selectFrom('recovery_codes')
        .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
        .where('user_id', '=', userId)
        .where('used_at', 'is', null)
        .executeTakeFirstOrThrow()
      return Number(row.n)
    },

    async deleteAll(userId: string, trx: Db = db): Promise<void> {
      await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute()
    },
  }
}

export type RecoveryCodeRepository = ReturnType<typeof createRecoveryCodeRepository>
