import type { Kysely } from 'kysely'
import type { Clock } from '../clock.js'
import { isUuid } from '../db/ids.js'
import type { Database, UserRow, UserUpdate } from '../db/schema.js'
import { invalidScope, notFound } from '../errors.js'
import { decodeCursor, encodeCursor } from '../http/cursor.js'
import type { SessionRepository } from '../sessions/repository.js'
import type { UserRepository } from './repository.js'

// Minimal admin user operations for the CLI, with the same API as the admin HTTP API's
// service on the issue3-api branch: when both land, keep that version.

export interface AdminUserServiceDeps {
  db: Kysely<Database>
  users: UserRepository
  sessions: SessionRepository
  clock: Clock
  /** SCOPES: the only scopes an admin may give a user. */
  knownScopes: readonly string[]
}

export interface UserPage {
  users: UserRow[]
  /** Null on the last page. */
  nextCursor: string | null
}

export interface AdminUserChanges {
  scopes?: readonly string[]
  disabled?: boolean
}

export function createAdminUserService({ db, users, sessions, clock, knownScopes }: AdminUserServiceDeps) {
  const userNotFound = () => notFound('No user has this id.')

  /** One page of users in (created_at, id) order: new users land after every cursor. */
  async function listUsers({ limit, cursor }: { limit: number; cursor?: string }): Promise<UserPage> {
    const after = cursor === undefined ? undefined : decodeCursor(cursor)
    let query = db.selectFrom('users').selectAll()
    if (after) {
      query = query.where((eb) =>
        eb.or([
          eb('created_at', '>', after.createdAt),
          eb.and([eb('created_at', '=', after.createdAt), eb('id', '>', after.id)]),
        ]),
      )
    }
    const rows = await query
      .orderBy('created_at')
      .orderBy('id')
      .limit(limit + 1)
      .execute()
    const page = rows.slice(0, limit)
    const last = page.at(-1)
    return {
      users: page,
      nextCursor:
        rows.length > limit && last ? encodeCursor({ createdAt: last.created_at, id: last.id }) : null,
    }
  }

  async function getUser(id: string): Promise<UserRow> {
    const user = isUuid(id) ? await users.findById(id) : undefined
    if (!user) throw userNotFound()
    return user
  }

  /** Sets scopes and/or the disabled flag. Disabling ends every session of the user. */
  async function updateUser(id: string, changes: AdminUserChanges): Promise<UserRow> {
    const current = await getUser(id)
    const now = clock()
    const update: UserUpdate = { updated_at: now }
    if (changes.scopes !== undefined) {
      const unknown = changes.scopes.filter((s) => !knownScopes.includes(s))
      if (unknown.length)
        throw invalidScope(`Unknown scope: ${unknown.join(' ')}. Known scopes are listed in SCOPES.`)
      update.scopes = [...new Set(changes.scopes)].join(' ')
    }
    if (changes.disabled !== undefined)
      update.disabled_at = changes.disabled ? (current.disabled_at ?? now) : null
    const updated = await users.update(id, update)
    if (!updated) throw userNotFound()
    if (changes.disabled) await sessions.revokeAllForUser(id, now)
    return updated
  }

  return { listUsers, getUser, updateUser }
}

export type AdminUserService = ReturnType<typeof createAdminUserService>
