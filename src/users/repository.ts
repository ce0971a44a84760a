import type { Kysely } from 'kysely'
import type { Database, NewUserRow, UserRow, UserUpdate } from '../db/schema.js'

export function createUserRepository(db: Kysely<Database>) {
  return {
    findById(id: string): Promise<UserRow | undefined> {
      return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
    },

    findByEmail(email: string): Promise<UserRow | undefined> {
      return db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst()
    },

    async insert(row: NewUserRow): Promise<void> {
      await db.insertInto('users').values(row).execute()
    },

    update(id: string, changes: UserUpdate): Promise<UserRow | undefined> {
      return db.updateTable('users').set(changes).where('id', '=', id).returningAll().executeTakeFirst()
    },
  }
}

export type UserRepository = ReturnType<typeof createUserRepository>

/** A unique-constraint violation from either dialect. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
}
