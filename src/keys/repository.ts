import type { Kysely, Transaction } from 'kysely'
import type { Database, KeyStatus, SigningKeyRow } from '../db/schema.js'

export type { KeyStatus }

/** Thrown inside a transaction to roll it back when a conditional step lost a race. */
class LostRace extends Error {}

/**
 * Takes the database write lock before reading anything: a row lock on PostgreSQL,
 * the file's write lock on SQLite (taken by the first statement, so another process
 * waits on the busy timeout instead of failing to upgrade a read snapshot). Returns
 * false when `kid` is no longer the active key, i.e. another instance rotated first.
 */
async function lockActiveKey(trx: Transaction<Database>, kid: string): Promise<boolean> {
  const result = await trx
    .updateTable('signing_keys')
    .set({ status: 'active' })
    .where('kid', '=', kid)
    .where('status', '=', 'active')
    .executeTakeFirst()
  return Number(result.numUpdatedRows) === 1
}

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
      return db
        .selectFrom('signing_keys')
        .selectAll()
        .orderBy('created_at', 'asc')
        .orderBy('kid', 'asc')
        .execute()
    },

    async insert(row: SigningKeyRow): Promise<void> {
      await db.insertInto('signing_keys').values(row).execute()
    },

    /**
     * Makes `kid` the only active key; the previous active keys start retiring now.
     * `alsoInTransaction` runs last in the same transaction (the audit event, audit/audit-log.ts).
     */
    async activate(
      kid: string,
      now: number,
      alsoInTransaction?: (trx: Transaction<Database>) => Promise<void>,
    ): Promise<void> {
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
        await alsoInTransaction?.(trx)
      })
    },

    /**
     * Publishes `row` as the next key unless a next key exists already. Serialized on
     * the active key's row, so instances running this at once publish one key, not one each.
     */
    async insertNextKey(row: SigningKeyRow, activeKid: string): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        if (!(await lockActiveKey(trx, activeKid))) return false
        const existing = await trx
          .selectFrom('signing_keys')
          .select('kid')
          .where('status', '=', 'next')
          .executeTakeFirst()
        if (existing) return false
        await trx.insertInto('signing_keys').values(row).execute()
        return true
      })
    },

    /**
     * Promotes `nextKid` and starts retiring `activeKid`, only if `activeKid` is still the
     * active key and `nextKid` still next: of several instances racing, exactly one rotates.
     */
    async activateNext(
      activeKid: string,
      nextKid: string,
      now: number,
      alsoInTransaction?: (trx: Transaction<Database>) => Promise<void>,
    ): Promise<boolean> {
      try {
        await db.transaction().execute(async (trx) => {
          const retiring = await trx
            .updateTable('signing_keys')
            .set({ status: 'retiring', retiring_at: now })
            .where('kid', '=', activeKid)
            .where('status', '=', 'active')
            .executeTakeFirst()
          if (Number(retiring.numUpdatedRows) !== 1) throw new LostRace()
          const activated = await trx
            .updateTable('signing_keys')
            .set({ status: 'active', activated_at: now })
            .where('kid', '=', nextKid)
            .where('status', '=', 'next')
            .executeTakeFirst()
          if (Number(activated.numUpdatedRows) !== 1) throw new LostRace()
          await alsoInTransaction?.(trx)
        })
        return true
      } catch (error) {
        if (error instanceof LostRace) return false
        throw error
      }
    },

    /** Starts retiring active keys other than `keepKid` (two rotations that raced both activated a key). */
    async retireOtherActive(keepKid: string, now: number): Promise<number> {
      const result = await db
        .updateTable('signing_keys')
        .set({ status: 'retiring', retiring_at: now })
        .where('status', '=', 'active')
        .where('kid', '!=', keepKid)
        .executeTakeFirst()
      return Number(result.numUpdatedRows)
    },

    /** Replaces a stored private key only if it is still `expected` (sealing a plaintext key once). */
    async replacePrivateKey(kid: string, expected: string, replacement: string): Promise<boolean> {
      const result = await db
        .updateTable('signing_keys')
        .set({ private_jwk: replacement })
        .where('kid', '=', kid)
        .where('private_jwk', '=', expected)
        .executeTakeFirst()
      return Number(result.numUpdatedRows) === 1
    },

    /** Retires retiring keys whose last possible token has expired. Returns how many. */
    async retireExpired(retiringBefore: number, now: number): Promise<number> {
      const result = await db
        .updateTable('signing_keys')
        .set({ status: 'retired', retired_at: now })
        .where('status', '=', 'retiring')
        .where('retiring_at', '<', retiringBefore)
        .executeTakeFirst()
      return Number(result.numUpdatedRows)
    },
  }
}

export type KeyRepository = ReturnType<typeof createKeyRepository>
