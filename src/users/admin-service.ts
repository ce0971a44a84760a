import type { Kysely } from 'kysely'
import type { Clock } from '../clock.js'
import type { Database, UserRow } from '../db/schema.js'
import { invalidRequest } from '../errors.js'
import type { SessionRepository } from '../sessions/repository.js'
import type { UserRepository } from './repository.js'
import { normalizeEmail } from './service.js'

// Operator views of users (the CLI; the admin HTTP API can share them): keyset
// pagination in creation order, so new users land after every cursor and a walk sees
// each user exactly once; disabling ends every session of the user.

export interface UserPage {
  items: UserRow[]
  next_cursor: string | null
}

function encodeCursor(row: UserRow): string {
  return Buffer.from(JSON.stringify([row.created_at, row.id])).toString('base64url')
}

function decodeCursor(cursor: string): [number, string] {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (Array.isArray(value) && typeof value[0] === 'number' && typeof value[1] === 'string') {
      return [value[0], value[1]]
    }
  } catch {}
  throw invalidRequest('cursor is not a cursor this server returned.')
}

export interface UserAdminDeps {
  db: Kysely<Database>
  users: UserRepository
  sessions: SessionRepository
  clock: Clock
}

export function createUserAdminService({ db, users, sessions, clock }: UserAdminDeps) {
  async function listUsers({ limit, cursor }: { limit: number; cursor?: string }): Promise<UserPage> {
    let query = db.selectFrom('users').selectAll().orderBy('created_at', 'asc').orderBy('id', 'asc')
    if (cursor !== undefined) {
      const [createdAt, id] = decodeCursor(cursor)
      query = query.where((eb) =>
        eb.or([
          eb('created_at', '>', createdAt),
          eb.and([eb('created_at', '=', createdAt), eb('id', '>', id)]),
        ]),
      )
    }
    const rows = await query.limit(limit + 1).execute()
    const items = rows.slice(0, limit)
    return { items, next_cursor: rows.length > limit ? encodeCursor(items[items.length - 1]!) : null }
  }

  /** A user by id or by email. */
  function findUser(idOrEmail: string): Promise<UserRow | undefined> {
    return idOrEmail.includes('@') ? users.findByEmail(normalizeEmail(idOrEmail)) : users.findById(idOrEmail)
  }

  /** Disables (revoking every session) or re-enables a user; undefined if there is no such user. */
  async function setDisabled(id: string, disabled: boolean): Promise<UserRow | undefined> {
    const now = clock()
    const user = await users.update(id, { disabled_at: disabled ? now : null, updated_at: now })
    if (user && disabled) await sessions.revokeAllForUser(id, now)
    return user
  }

  return { listUsers, findUser, setDisabled }
}

export type UserAdminService = ReturnType<typeof createUserAdminService>
