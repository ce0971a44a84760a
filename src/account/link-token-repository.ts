import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import type { Database, Db, LinkPurpose, LinkTokenRow, UserRow } from '../db/schema.js'

// The link_tokens table: one row per mailed link, by hash.

export function createLinkTokenRepository(db: Kysely<Database>) {
  return {
    /**
     * Stores a new link for `user`, bound to its current email and credential version.
     * Earlier unused links of the same purpose are deleted: only the newest one works.
     * A change_email link also carries the address it confirms (`newEmail`).
     */
    async issue(
      trx: Db,
      input: {
        user: UserRow
        purpose: LinkPurpose
        hash: string
        now: number
        ttlSeconds: number
        newEmail?: string
      },
    ): Promise<void> {
      const { user, purpose, hash, now, ttlSeconds, newEmail = null } = input
      await trx
        .deleteFrom('link_tokens')
        .where('user_id', '=', user.id)
        .where('purpose', '=', purpose)
        .execute()
      await trx
        .insertInto('link_tokens')
        .values({
          id: randomUUID(),
          user_id: user.id,
          purpose,
          token_hash: hash,
          email: user.email,
          credential_version: Number(user.credential_version),
          created_at: now,
          expires_at: now + ttlSeconds * 1000,
          used_at: null,
          new_email: newEmail,
        })
        .execute()
    },

    findByHash(hash: string): Promise<LinkTokenRow | undefined> {
      return db.selectFrom('link_tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst()
    },

    /**
     * Spends the link, atomically: true for exactly one of any number of concurrent
     * callers. On PostgreSQL the loser waits for the winner's row lock and then
     * re-evaluates used_at (READ COMMITTED); on SQLite the write lock serializes them.
     */
    async spend(trx: Db, link: LinkTokenRow, now: number): Promise<boolean> {
      const result = await trx
        .updateTable('link_tokens')
        .set({ used_at: now })
        .where('id', '=', link.id)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst()
      return Number(result.numUpdatedRows) === 1
    },

    /** In `trx`: deletes every unused link of `userId` (they were bound to a state that just ended). */
    async deleteUnused(trx: Db, userId: string): Promise<void> {
      await trx.deleteFrom('link_tokens').where('user_id', '=', userId).where('used_at', 'is', null).execute()
    },

    /** Removes used and expired links (housekeeping). */
    async purge(now: number): Promise<number> {
      const result = await db
        .deleteFrom('link_tokens')
        .where((eb) => eb.or([eb('used_at', 'is not', null), eb('expires_at', '<=', now)]))
        .executeTakeFirst()
      return Number(result.numDeletedRows)
    },
  }
}

export type LinkTokenRepository = ReturnType<typeof createLinkTokenRepository>
