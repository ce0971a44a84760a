import type { Kysely } from 'kysely'
import type { Database, Db, NewUserRow, UserRow, UserUpdate } from '../db/schema.js'

/** A position in the (created_at, id) order users are listed in. */
export interface UserPosition {
  createdAt: number
  id: string
}

export function createUserRepository(db: Kysely<Database>) {
  return {
    findById(id: string): Promise<UserRow | undefined> {
      return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
    },

    findByEmail(email: string): Promise<UserRow | undefined> {
      return db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst()
    },

    async insert(row: NewUserRow, trx: Db = db): Promise<void> {
      await trx.insertInto('users').values(row).execute()
    },

    update(id: string, changes: UserUpdate, trx: Db = db): Promise<UserRow | undefined> {
      return trx.updateTable('users').set(changes).where('id', '=', id).returningAll().executeTakeFirst()
    },

    /** Whether an enabled user other than `id` holds the admin scope. */
    async anotherActiveAdmin(id: string): Promise<boolean> {
      const row = await db
        .selectFrom('users')
        .select('id')
        .where('id', '!=', id)
        .where('disabled_at', 'is', null)
        .where((eb) =>
          eb.or([
            eb('scopes', '=', 'admin'),
            eb('scopes', 'like', 'admin %'),
            eb('scopes', 'like', '% admin'),
            eb('scopes', 'like', '% admin %'),
          ]),
        )
        .limit(1)
        .executeTakeFirst()
      return row !== undefined
    },

    /** Swaps `oldHash` for `newHash` (a rehash); does nothing if the password changed meanwhile. */
    async replaceHash(id: string, oldHash: string, newHash: string): Promise<void> {
      await db
        .updateTable('users')
        .set({ password_hash: newHash })
        .where('id', '=', id)
        .where('password_hash', '=', oldHash)
        .execute()
    },

    /** True if a user was deleted; their sessions and refresh tokens go with them (foreign-key cascade). */
    async delete(id: string, trx: Db = db): Promise<boolean> {
      const result = await trx.deleteFrom('users').where('id', '=', id).executeTakeFirst()
      return Number(result.numDeletedRows) > 0
    },

    /**
     * Up to `limit` users after `after` in (created_at, id) order: keyset pagination, so a
     * walk sees every user that existed when it started exactly once, however many are
     * added meanwhile (they sort after the walk's position, or are skipped, never repeated).
     * Served by the users_created_at_id index.
     */
    listAfter(after: UserPosition | undefined, limit: number): Promise<UserRow[]> {
      let query = db.selectFrom('users').selectAll()
      if (after) {
        query = query.where((eb) =>
          eb.or([
            eb('created_at', '>', after.createdAt),
            eb.and([eb('created_at', '=', after.createdAt), eb('id', '>', after.id)]),
          ]),
        )
      }
      return query.orderBy('created_at').orderBy('id').limit(limit).execute()
    },
  }
}

export type UserRepository = ReturnType<typeof createUserRepository>

/** A unique-constraint violation from either dialect. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
}
