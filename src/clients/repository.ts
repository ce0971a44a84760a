import type { Kysely, Transaction } from 'kysely'
import { precompile } from '../db/precompiled.js'
import { CLIENT_COLUMNS, type ClientRow, type Database } from '../db/schema.js'

export function createClientRepository(db: Kysely<Database>) {
  // Every client authentication reads this: compiled once (db/precompiled.ts).
  const byClientId = precompile(db, 1, (db, clientId: string) =>
    db.selectFrom('clients').select(CLIENT_COLUMNS).where('client_id', '=', clientId),
  )
  return {
    async findByClientId(clientId: string): Promise<ClientRow | undefined> {
      return (await byClientId(db, clientId)).rows[0]
    },

    /** Oldest first; clients are few (one per calling service), so there is no paging. */
    list(): Promise<ClientRow[]> {
      return db.selectFrom('clients').selectAll().orderBy('created_at').orderBy('id').limit(1000).execute() // bounded: GET /v1/admin/clients lists at most 1000
    },

    async insert(row: ClientRow, trx: Kysely<Database> | Transaction<Database> = db): Promise<void> {
      await trx.insertInto('clients').values(row).execute()
    },

    /** True if a client was deleted. */
    async delete(clientId: string, trx: Kysely<Database> | Transaction<Database> = db): Promise<boolean> {
      const result = await trx.deleteFrom('clients').where('client_id', '=', clientId).executeTakeFirst()
      return Number(result.numDeletedRows) > 0
    },
  }
}

export type ClientRepository = ReturnType<typeof createClientRepository>

/**
 * True while the registered client `clientId` exists; locks its row until `trx` ends, so
 * a deletion (which revokes the client's sessions in its own transaction) either commits
 * first and this is false, or waits and then revokes the session being opened.
 */
export async function lockClient(trx: Transaction<Database>, clientId: string): Promise<boolean> {
  const result = await trx
    .updateTable('clients')
    .set({ client_id: clientId })
    .where('client_id', '=', clientId)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) === 1
}
