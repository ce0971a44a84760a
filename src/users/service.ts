import { randomUUID } from 'node:crypto'
import type { Kysely, Transaction } from 'kysely'
import type { AuditLog } from '../audit/audit-log.js'
import type { AuditContext } from '../audit/events.js'
import type { Clock } from '../clock.js'
import type { Database, UserRow } from '../db/schema.js'
import { BadgeError, emailTaken, invalidGrant, notFound } from '../errors.js'
import { splitScopes } from '../scopes.js'
import type { RevocationRecorder } from '../sessions/repository.js'
import { bumpCredentialVersion } from './credential-fence.js'
import type { PasswordCheck } from './password-check.js'
import type { PasswordHasher } from './passwords.js'
import { isUniqueViolation, type UserRepository } from './repository.js'
import { isUserUsable } from './user-usable.js'

export interface PublicUser {
  id: string
  email: string
  name: string | null
  scopes: string[]
  created_at: string
  email_verified: boolean
}

export interface AdminUser extends PublicUser {
  disabled: boolean
}

export function toPublicUser(row: UserRow): PublicUser {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    scopes: splitScopes(row.scopes),
    created_at: new Date(row.created_at).toISOString(),
    email_verified: row.email_verified_at !== null,
  }
}

export function toAdminUser(row: UserRow): AdminUser {
  return { ...toPublicUser(row), disabled: row.disabled_at !== null }
}

/** Emails are compared trimmed and lower-cased (docs/contract.md §3). */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase()
}

export interface UserServiceDeps {
  db: Kysely<Database>
  users: UserRepository
  passwords: PasswordHasher
  /** Every password check goes through it (users/password-check.ts). */
  passwordCheck: PasswordCheck
  clock: Clock
  defaultScopes: readonly string[]
  audit: AuditLog
  /** Where a password change records the user's cut-off (docs/contract.md §11). */
  revocations: RevocationRecorder
}

/** Who is logging in, for the failed-attempt throttle and the audit log. */
export interface LoginAttemptContext {
  /** clientAddress(request): the throttle's and the failure sampling's key. */
  address: string
  clientId: string
  who: AuditContext
}

export function createUserService({
  db,
  users,
  passwords,
  passwordCheck,
  revocations,
  clock,
  defaultScopes,
  audit,
}: UserServiceDeps) {
  async function createUser(
    input: {
      email: string
      password: string
      name?: string | null
      scopes?: readonly string[]
      /** Runs in the transaction that inserts the user (the sign-up verification mail, docs/account.md). */
      onCreated?: (trx: Transaction<Database>, row: UserRow) => Promise<void>
    },
    who: AuditContext,
  ): Promise<UserRow> {
    const email = normalizeEmail(input.email)
    if (await users.findByEmail(email)) throw emailTaken()
    const now = clock()
    const row: UserRow = {
      id: randomUUID(),
      email,
      name: input.name?.trim() || null,
      password_hash: await passwords.hash(input.password),
      scopes: (input.scopes ?? defaultScopes).join(' '),
      disabled_at: null,
      created_at: now,
      updated_at: now,
      credential_version: 0,
      email_verified_at: null,
    }
    try {
      await db.transaction().execute(async (trx) => {
        await users.insert(row, trx)
        await audit.record(trx, signUpContext(who, row.id), {
          type: 'user.created',
          userId: row.id,
          details: { scopes: splitScopes(row.scopes) },
        })
        await input.onCreated?.(trx, row)
      })
    } catch (error) {
      // Two signups racing for one email: the unique index decides.
      if (isUniqueViolation(error)) throw emailTaken()
      throw error
    }
    return row
  }

  /**
   * The user these credentials name, or undefined. Unknown emails, wrong passwords and
   * disabled users all cost one bcrypt compare, so timing reveals nothing (docs/contract.md §4).
   * Throttled per account and address (users/password-check.ts). The row returned was read
   * before the check: its credential_version fences the session opened with it.
   */
  async function checkPassword(
    email: string,
    password: string,
    attempt: LoginAttemptContext,
  ): Promise<UserRow | undefined> {
    const account = normalizeEmail(email)
    const user = await users.findByEmail(account)
    // Every refusal is a login.failed event (docs/audit.md), sampled per address.
    const failed = (reason: string) =>
      audit.recordLoginFailure(attempt.who, {
        userId: user?.id ?? null,
        clientId: attempt.clientId,
        reason,
        address: attempt.address,
      })
    let ok: boolean
    try {
      ok = await passwordCheck.checkPassword(
        { account, address: attempt.address },
        password,
        user?.password_hash,
      )
    } catch (error) {
      if (error instanceof BadgeError) await failed(error.code)
      throw error
    }
    if (!user || !ok) {
      await failed('invalid_credentials')
      return undefined
    }
    if (passwords.needsRehash(user.password_hash)) await rehash(user, password)
    if (isUserUsable(user)) return user
    await failed('user_disabled')
    return undefined
  }

  /**
   * Upgrades a hash made at another BCRYPT_COST after a successful check. Conditional on
   * the hash being unchanged, so a concurrent password change is never overwritten; the
   * credential version stays (the password is the same), so no session is fenced out.
   */
  async function rehash(user: UserRow, password: string): Promise<void> {
    const passwordHash = await passwords.hash(password)
    await users.replaceHash(user.id, user.password_hash, passwordHash)
  }

  /** Undefined for a deleted or disabled user: their still-valid tokens change nothing (as GET /v1/me). */
  async function updateProfile(
    id: string,
    changes: { name?: string | null },
    who: AuditContext,
  ): Promise<UserRow | undefined> {
    if (!isUserUsable(await users.findById(id))) return undefined
    return db.transaction().execute(async (trx) => {
      const row = await users.update(
        id,
        {
          ...(changes.name !== undefined ? { name: changes.name?.trim() || null } : {}),
          updated_at: clock(),
        },
        trx,
      )
      if (row)
        await audit.record(trx, who, {
          type: 'user.updated',
          userId: id,
          details: { changed: Object.keys(changes) },
        })
      return row
    })
  }

  /**
   * The signed-in user `id`, after checking their current password (changing the password,
   * enrolling or removing a second factor). A wrong one is invalid_grant, as on login.
   */
  async function verifyCurrentPassword(id: string, currentPassword: string, address: string) {
    const user = await users.findById(id)
    if (!isUserUsable(user)) throw notFound('The user of this token no longer exists.')
    // The same throttle as the token endpoint, keyed by the account's email: a stolen
    // access token is no better a password oracle than the login form.
    const ok = await passwordCheck.checkPassword(
      { account: user.email, address },
      currentPassword,
      user.password_hash,
    )
    if (!ok) throw invalidGrant('The current password is incorrect.')
    return user
  }

  /**
   * Checks the current password, stores a hash of the new one and ends every session of
   * the user (this one included), in one transaction: whoever knew the old password is
   * logged out everywhere. A wrong current password is invalid_grant, as on login.
   */
  async function changePassword(
    id: string,
    currentPassword: string,
    newPassword: string,
    address: string,
    who: AuditContext,
  ): Promise<void> {
    await verifyCurrentPassword(id, currentPassword, address)
    const passwordHash = await passwords.hash(newPassword)
    const now = clock()
    await db.transaction().execute(async (trx) => {
      await users.update(id, { password_hash: passwordHash, updated_at: now }, trx)
      const ended = await bumpCredentialVersion(trx, revocations, id, now)
      await audit.record(trx, who, {
        type: 'password.changed',
        userId: id,
        details: { sessions_revoked: ended },
      })
    })
  }

  return {
    createUser,
    checkPassword,
    changePassword,
    verifyCurrentPassword,
    updateProfile,
    findById: users.findById,
    findByEmail: users.findByEmail,
  }
}

/** A sign-up is its own actor: the new user, from the caller's address. */
function signUpContext(who: AuditContext, userId: string): AuditContext {
  return who.actor === null ? { ...who, actor: userId } : who
}

export type UserService = ReturnType<typeof createUserService>
