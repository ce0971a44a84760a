import type { Kysely } from 'kysely'
import type { Database, Db, PasskeyRow } from '../db/schema.js'

/** The passkeys table: one row per registered WebAuthn credential. */
export function createPasskeyRepository(db: Kysely<Database>) {
  return {
    async insert(row: PasskeyRow, trx: Db = db): Promise<void> {
      await trx.insertInto('passkeys').values(row).execute()
    },

    listFor(userId: string): Promise<PasskeyRow[]> {
      return db
        .selectFrom('passkeys')
        .selectAll()
        .where('user_id', '=', userId)
        .orderBy('created_at')
        .orderBy('id')
        .execute()
    },

    async countFor(userId: string): Promise<number> {
      const row = await db
        .selectFrom('passkeys')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('user_id', '=', userId)
        .executeTakeFirst()
      return Number(row?.n ?? 0)
    },

    findByCredentialId(credentialId: string): Promise<PasskeyRow | undefined> {
      return db
        .selectFrom('passkeys')
        .selectAll()
        .where('credential_id', '=', credentialId)
        .executeTakeFirst()
    },

    /** The user's passkey `id`; undefined for another user's (so it reads as not found). */
    findOwned(userId: string, id: string): Promise<PasskeyRow | undefined> {
      return db
        .selectFrom('passkeys')
        .selectAll()
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .executeTakeFirst()
    },

    async rename(userId: string, id: string, name: string): Promise<boolean> {
      const result = await db
        .updateTable('passkeys')
        .set({ name })
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .executeTakeFirst()
      return Number(result.numUpdatedRows) === 1
    },

    /**
     * Records a use: the new counter and backup state. Conditional on the counter read
     * before verification, so two concurrent uses of one assertion cannot both pass.
     */
    async recordUse(
      id: string,
      seenCounter: number,
      use: { counter: number; backedUp: boolean; at: number },
    ): Promise<boolean> {
      const result = await db
        .updateTable('passkeys')
        .set({ counter: use.counter, backed_up: use.backedUp ? 1 : 0, last_used_at: use.at })
        .where('id', '=', id)
        .where('counter', '=', seenCounter)
        .executeTakeFirst()
      return Number(result.numUpdatedRows) === 1
    },

    async delete(userId: string, id: string, trx: Db): Promise<boolean> {
      const result = await trx
        .deleteFrom('passkeys')
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .executeTakeFirst()
      return Number(result.numDeletedRows) === 1
    },

    async deleteAll(userId: string, trx: Db): Promise<number> {
      const result = await trx.deleteFrom('passkeys').where('user_id', '=', userId).executeTakeFirst()
      return Number(result.numDeletedRows)
    },
  }
}

export type PasskeyRepository = ReturnType<typeof createPasskeyRepository>
