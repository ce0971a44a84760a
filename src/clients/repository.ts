import type { Kysely } from 'kysely'
import type { ClientRow, Database } from '../db/schema.js'

export function createClientRepository(db: Kysely<Database>) {
  return {
    findByClientId(clientId: string): Promise<ClientRow | undefined> {
      return db.selectFrom('clients').selectAll().where('client_id', '=', clientId).executeTakeFirst()
    },

    /** Oldest first; clients are few (one per calling service), so there is no paging. */
    list(): Promise<ClientRow[]> {
      return db.selectFrom('clients').selectAll().orderBy('created_at').orderBy('id').execute()
    },

    async insert(row: ClientRow): Promise<void> {
      await db.insertInto('clients').values(row).execute()
    },

    /** True if a client was deleted. */
    async delete(clientId: string): Promise<boolean> {
      const result = await db.deleteFrom('clients').where('client_id', '=', clientId).executeTakeFirst()
      return Number(result.numDeletedRows) > 0
    },
  }
}

export type ClientRepository = ReturnType<typeof createClientRepository>
