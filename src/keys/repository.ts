import type { Kysely } from 'kysely'
import type { Database, SigningKeyRow } from '../db/schema.js'

/** Key lifecycle (RFC 7517 key sets, rotated): next → active → retiring → retired. */
export type KeyStatus = 'next' | 'active' | 'retiring' | 'retired'

export function createKeyRepository(db: Kysely<Database>) {
  return {
    /** Every key that may still verify a token: next, active and retiring. */
    listUsable(): Promise<SigningKeyRow[]> {
      return db
        .selectFrom('signing_keys')
        .selectAll()
        .where('status', 'in', ['next', 'active', 'retiring'])
        .orderBy('created_at', 'asc')
        .execute()
    },

    listAll(): Promise<SigningKeyRow[]> {
      return db.selectFrom('signing_keys').selectAll().orderBy('created_at', 'asc').execute()
    },

    async insert(row: SigningKeyRow): Promise<void> {
      await db.insertInto('signing_keys').values(row).execute()
    },

    /** Makes `kid` the only active key; the previous active keys start retiring now. */
    async activate(kid: string, now: number): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable('signing_keys')
          .set({ status: 'retiring', retiring_at: now })
          .where('status', '=', 'active')
          .where('kid', '!=', kid)
          .execute()
        await trx
          .updateTable('signing_keys')
          .set({ status: 'active', activated_at: now })
          .where('kid', '=', kid)
          .execute()
      })
    },

    /** Retires retiring keys whose last possible token has expired. Returns how many. */
    async retireExpired(retiringBefore: number, now: number): Promise<number> {
      const result = await db
        .updateTable('signing_keys')
        .set({ status: 'retired', retired_at: now })
        .where('status', '=', 'retiring')
        .where('retiring_at', '<=', retiringBefore)
        .executeTakeFirst()
      return Number(result.numUpdatedRows)
    },
  }
}

export type KeyRepository = ReturnType<typeof createKeyRepository>
