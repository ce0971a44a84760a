import type { Kysely } from 'kysely'
import type { AuditLog } from '../audit/audit-log.js'
import type { AuditContext } from '../audit/events.js'
import type { Clock } from '../clock.js'
import { isUuid } from '../db/ids.js'
import type { Database, UserRow, UserUpdate } from '../db/schema.js'
import { conflict, notFound } from '../errors.js'
import { decodeCursor, encodeCursor } from '../http/cursor.js'
import { assertKnownScopes, splitScopes } from '../scopes.js'
import type { RevocationRecorder, SessionRepository } from '../sessions/repository.js'
import { bumpCredentialVersion } from './credential-fence.js'
import type { UserRepository } from './repository.js'

// What an admin may do to users (scope `admin`). Shared by the HTTP API and the CLI.

export interface AdminUserServiceDeps {
  db: Kysely<Database>
  users: UserRepository
  sessions: SessionRepository
  /** Where disabling and deleting record the user's cut-off (docs/contract.md §11). */
  revocations: RevocationRecorder
  clock: Clock
  /** SCOPES: the only scopes an admin may give a user. */
  knownScopes: readonly string[]
  audit: AuditLog
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

export function createAdminUserService({
  db,
  users,
  revocations,
  clock,
  knownScopes,
  audit,
}: AdminUserServiceDeps) {
  const userNotFound = () => notFound('No user has this id.')

  /** One page of users in (created_at, id) order; `cursor` is a previous page's nextCursor. */
  async function listUsers({ limit, cursor }: { limit: number; cursor?: string }): Promise<UserPage> {
    const after = cursor === undefined ? undefined : decodeCursor(cursor)
    // One extra row tells whether there is a next page without a second query.
    const rows = await users.listAfter(after, limit + 1)
    const page = rows.slice(0, limit)
    const last = page.at(-1)
    return {
      users: page,
      nextCursor:
        rows.length > limit && last ? encodeCursor({ createdAt: last.created_at, id: last.id }) : null,
    }
  }

  /** The user, or 404 (ids that are not even UUIDs included). */
  async function getUser(id: string): Promise<UserRow> {
    const user = isUuid(id) ? await users.findById(id) : undefined
    if (!user) throw userNotFound()
    return user
  }

  /** Sets scopes and/or the disabled flag. Disabling ends every session of the user at once. */
  /**
   * `keepAnAdmin` (the HTTP API): refuse a change that leaves no enabled admin, which no
   * token could undo. The operator CLI may, since it needs no token to undo it.
   */
  async function updateUser(
    id: string,
    changes: AdminUserChanges,
    who: AuditContext,
    { keepAnAdmin = false } = {},
  ): Promise<UserRow> {
    const current = await getUser(id)
    const now = clock()
    const update: UserUpdate = { updated_at: now }
    if (changes.scopes !== undefined) update.scopes = assertKnownScopes(changes.scopes, knownScopes).join(' ')
    if (changes.disabled !== undefined) {
      // Keep the original time when an already disabled user is disabled again.
      update.disabled_at = changes.disabled ? (current.disabled_at ?? now) : null
    }
    const keepsAdmin =
      (update.scopes ?? current.scopes).split(' ').includes('admin') && !(update.disabled_at ?? null)
    const wasAdmin = splitScopes(current.scopes).includes('admin') && current.disabled_at === null
    if (keepAnAdmin && !keepsAdmin && wasAdmin) {
      // Nobody could undo this one: the last usable admin cannot demote or disable themself.
      if (!(await users.anotherActiveAdmin(id)))
        throw conflict('This is the last active admin: keep the admin scope.')
    }
    const updated = await db.transaction().execute(async (trx) => {
      const row = await users.update(id, update, trx)
      // Disabling bumps the credential fence: a login already past its password check
      // cannot commit a session afterwards, even if the user is re-enabled meanwhile.
      let ended = 0
      if (row && changes.disabled) ended = await bumpCredentialVersion(trx, revocations, id, now)
      if (row) {
        if (update.scopes !== undefined && update.scopes !== current.scopes)
          await audit.record(trx, who, {
            type: 'user.updated',
            userId: id,
            details: { scopes: splitScopes(update.scopes), previous_scopes: splitScopes(current.scopes) },
          })
        if (changes.disabled === true && current.disabled_at === null)
          await audit.record(trx, who, {
            type: 'user.disabled',
            userId: id,
            details: { sessions_revoked: ended },
          })
        if (changes.disabled === false && current.disabled_at !== null)
          await audit.record(trx, who, { type: 'user.enabled', userId: id })
      }
      return row
    })
    if (!updated) throw userNotFound()
    return updated
  }

  /**
   * Deletes the user with their sessions and refresh tokens. The fence is bumped first, in
   * the same transaction, so the deletion is recorded in the revocation feed like a disable.
   */
  async function deleteUser(id: string, who: AuditContext): Promise<void> {
    if (!isUuid(id)) throw userNotFound()
    await db.transaction().execute(async (trx) => {
      await bumpCredentialVersion(trx, revocations, id, clock())
      // Thrown inside: an unknown id leaves no entry behind.
      if (!(await users.delete(id, trx))) throw userNotFound()
      await audit.record(trx, who, { type: 'user.deleted', userId: id })
    })
  }

  return { listUsers, getUser, updateUser, deleteUser }
}

export type AdminUserService = ReturnType<typeof createAdminUserService>
