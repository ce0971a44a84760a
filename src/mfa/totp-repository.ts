import type { Kysely } from 'kysely'
import type { Database, Db, UserTotpRow } from '../db/schema.js'

/** The user_totp table: one authenticator per user, pending until confirmed. */
export function createTotpRepository(db: Kysely<Database>) {
  return {
    find(userId: string, trx: Db = db): Promise<UserTotpRow | undefined> {
      return trx.selectFrom('user_totp').selectAll().where('user_id', '=', userId).executeTakeFirst()
    },

    /** Replaces any pending authenticator with a new one (a confirmed one is refused before). */
    async replacePending(userId: string, secretEnc: string, now: number): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx
          .deleteFrom('user_totp')
          .where('user_id', '=', userId)
          .where('confirmed_at', 'is', null)
          .execute()
        await trx
          .insertInto('user_totp')
          .values({
            user_id: userId,
            secret_enc: secretEnc,
            confirmed_at: null,
            last_step: null,
            created_at: now,
          })
          .execute()
      })
    },

    /**
     * Records that a code of time step `step` was accepted, and confirms a pending
     * authenticator. False when another request accepted this step or a later one first:
     * the conditional UPDATE is what refuses a replayed code, on every instance.
     */
    async acceptStep(userId: string, step: number, now: number, trx: Db = db): Promise<boolean> {
      const result = await trx
        .updateTable('user_totp')
        .set((eb) => ({
          last_step: step,
          confirmed_at: eb.fn.coalesce('confirmed_at', eb.val(now)),
        }))
        .where('user_id', '=', userId)
        .where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', step)]))
        .executeTakeFirst()
      return Number(result.numUpdatedRows) === 1
    },

    async delete(userId: string, trx: Db = db): Promise<boolean> {
      const result = await trx.deleteFrom('user_totp').where('user_id', '=', userId).executeTakeFirst()
      return Number(result.numDeletedRows) > 0
    },
  }
}

export type TotpRepository = ReturnType<typeof createTotpRepository>
