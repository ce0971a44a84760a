import type { Kysely } from 'kysely'
import type { AuditEventRow, Database, Db } from '../db/schema.js'

/** A position in the (at, id) order events are listed in, newest first. */
export interface AuditPosition {
  createdAt: number
  id: string
}

export interface AuditFilter {
  type?: string | readonly string[]
  userId?: string
  /** Inclusive lower bound, epoch ms. */
  since?: number
  /** Exclusive upper bound, epoch ms. */
  until?: number
}

export function createAuditRepository(db: Kysely<Database>) {
  return {
    async insert(row: AuditEventRow, trx: Db = db): Promise<void> {
      await trx.insertInto('audit_events').values(row).execute()
    },

    /**
     * Up to `limit` events before `before` in (at, id) order, newest first: keyset
     * pagination like the user list (users/repository.ts), served by the at and user_id indexes.
     */
    list(filter: AuditFilter, before: AuditPosition | undefined, limit: number): Promise<AuditEventRow[]> {
      let query = db.selectFrom('audit_events').selectAll()
      if (typeof filter.type === 'string') query = query.where('type', '=', filter.type)
      else if (filter.type) query = query.where('type', 'in', [...filter.type])
      if (filter.userId !== undefined) query = query.where('user_id', '=', filter.userId)
      if (filter.since !== undefined) query = query.where('at', '>=', filter.since)
      if (filter.until !== undefined) query = query.where('at', '<', filter.until)
      if (before) {
        query = query.where((eb) =>
          eb.or([
            eb('at', '<', before.createdAt),
            eb.and([eb('at', '=', before.createdAt), eb('id', '<', before.id)]),
          ]),
        )
      }
      return query.orderBy('at', 'desc').orderBy('id', 'desc').limit(limit).execute()
    },

    /** Deletes every event older than `cutoff` (epoch ms); returns how many. */
    async deleteBefore(cutoff: number): Promise<number> {
      const result = await db.deleteFrom('audit_events').where('at', '<', cutoff).executeTakeFirst()
      return Number(result.numDeletedRows)
    },
  }
}

export type AuditRepository = ReturnType<typeof createAuditRepository>
