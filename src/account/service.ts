import type { FastifyBaseLogger } from 'fastify'
import type { Kysely } from 'kysely'
import type { AuditLog } from '../audit/audit-log.js'
import type { AuditContext } from '../audit/events.js'
import type { Clock } from '../clock.js'
import type { Config } from '../config.js'
import type { Database, Db, LinkPurpose, UserRow } from '../db/schema.js'
import { invalidLink, notFound } from '../errors.js'
import type { OutboxRepository } from '../mail/outbox-repository.js'
import type { MailTemplates } from '../mail/templates.js'
import type { RevocationRecorder } from '../sessions/repository.js'
import { bumpCredentialVersion } from '../users/credential-fence.js'
import type { PasswordHasher } from '../users/passwords.js'
import type { UserRepository } from '../users/repository.js'
import { normalizeEmail, type UserService } from '../users/service.js'
import { isUserUsable } from '../users/user-usable.js'
import { createEmailChange } from './email-change.js'
import { generateLinkToken, hashLinkToken, linkUrl } from './link-token.js'
import type { LinkTokenRepository } from './link-token-repository.js'
import { isLinkUsable } from './link-usable.js'
import type { MailThrottle } from './mail-throttle.js'

// Email verification, password reset and email change (docs/contract.md §9, docs/account.md);
// the email change itself is email-change.ts. Every mail is committed to the outbox in the
// transaction of the change it announces, and the sender is kicked after the commit; the
// request never waits for SMTP.

export interface AccountServiceDeps {
  db: Kysely<Database>
  users: UserRepository
  links: LinkTokenRepository
  outbox: OutboxRepository
  passwords: PasswordHasher
  mailThrottle: MailThrottle
  clock: Clock
  log: FastifyBaseLogger
  mail: Config['mail']
  /** The message texts, built-in or the operator's (MAIL_TEMPLATES_DIR). */
  templates: MailTemplates
  /** The current-password check of users/service.ts (throttled like a login). */
  verifyCurrentPassword: UserService['verifyCurrentPassword']
  /** Called after a transaction that queued mail has committed: starts a sending pass. */
  kickSender: () => void
  createUser: UserService['createUser']
  /** Where the credential fence records the sessions it ends (docs/contract.md §11). */
  revocations: RevocationRecorder
  /** Resets, verifications and deletions are audit events (docs/audit.md). */
  audit: AuditLog
}

export function createAccountService(deps: AccountServiceDeps) {
  const {
    db,
    users,
    links,
    outbox,
    passwords,
    verifyCurrentPassword,
    mailThrottle,
    clock,
    log,
    mail,
    templates,
    kickSender,
    createUser,
    revocations,
    audit,
  } = deps
  /** Forgot-password work still running after its 202 went out; closing waits for it. */
  const background = new Set<Promise<void>>()

  /** In `trx`: a fresh verification link for `user`'s current email, and its mail. */
  async function queueVerificationMail(trx: Db, user: UserRow, now: number): Promise<void> {
    const { token, hash } = generateLinkToken()
    await links.issue(trx, { user, purpose: 'verify_email', hash, now, ttlSeconds: mail.verifyTtl })
    const message = templates.linkMail('verify_email', user.email, {
      link: linkUrl(mail.verifyUrl, token),
      ttl: mail.verifyTtl,
    })
    await outbox.enqueue(trx, message, 'verify_email', now)
  }

  /** POST /v1/users: the user, and with EMAIL_VERIFICATION ≠ off a verification mail, in one transaction. */
  async function signUp(
    input: { email: string; password: string; name?: string | null },
    who: AuditContext,
  ): Promise<UserRow> {
    if (mail.verification === 'off') return createUser(input, who)
    const user = await createUser(
      {
        ...input,
        onCreated: (trx, row) => queueVerificationMail(trx, row, clock()),
      },
      who,
    )
    kickSender()
    return user
  }

  /** POST /v1/me/email/verification: a new link to the caller's current address (none if already verified). */
  async function resendVerification(userId: string): Promise<void> {
    const user = await users.findById(userId)
    if (!isUserUsable(user)) throw notFound('The user of this token no longer exists.')
    await mailThrottle.admit(user.email)
    if (user.email_verified_at !== null) return
    await db.transaction().execute((trx) => queueVerificationMail(trx, user, clock()))
    kickSender()
  }

  /**
   * Checks `token` for `purpose` without spending it, so a bad link costs no bcrypt work
   * and no write. The spend re-checks everything under lock.
   */
  async function usableLink(token: string, purposes: readonly LinkPurpose[]) {
    const link = await links.findByHash(hashLinkToken(token))
    const user = link && (await users.findById(link.user_id))
    if (!link || !purposes.includes(link.purpose)) throw invalidLink()
    if (!isLinkUsable(link, user, link.purpose, clock())) throw invalidLink()
    return link
  }

  /**
   * In `trx`: spends `link` and applies `changes` to its user, provided the user is still
   * in the state the link was issued for (the conditions of isLinkUsable, re-checked
   * under the row lock the UPDATE takes). Either both happen or neither: invalid_link.
   */
  async function spendLink(
    trx: Db,
    link: Awaited<ReturnType<typeof usableLink>>,
    changes: Partial<Pick<UserRow, 'password_hash' | 'email_verified_at' | 'email'>> & { updated_at: number },
  ): Promise<UserRow> {
    const now = changes.updated_at
    if (!(await links.spend(trx, link, now))) throw invalidLink()
    const user = await trx
      .updateTable('users')
      .set(changes)
      .where('id', '=', link.user_id)
      .where('email', '=', link.email)
      .where('credential_version', '=', link.credential_version)
      .where('disabled_at', 'is', null)
      .returningAll()
      .executeTakeFirst()
    if (!user) throw invalidLink()
    return user
  }

  const emailChange = createEmailChange({
    db,
    users,
    links,
    outbox,
    mailThrottle,
    clock,
    mail,
    templates,
    verifyCurrentPassword,
    kickSender,
    spendLink,
    audit,
  })

  /** POST /v1/email/verify: a verification link, or an email-change link (email-change.ts). */
  async function verifyEmail(token: string, who: AuditContext): Promise<UserRow> {
    const link = await usableLink(token, ['verify_email', 'change_email'])
    if (link.purpose === 'change_email') return emailChange.changeEmail(link, who)
    const now = clock()
    return db.transaction().execute(async (trx) => {
      const user = await spendLink(trx, link, { updated_at: now })
      if (user.email_verified_at !== null) return user
      await audit.record(trx, who, { type: 'email.verified', userId: user.id })
      return (await users.update(user.id, { email_verified_at: now }, trx)) ?? user
    })
  }

  /**
   * POST /v1/password/forgot, after its 202 has been sent: the answer never depends on
   * whether the account exists. Only an existing, enabled account gets a link.
   */
  async function forgotPassword(emailInput: string): Promise<void> {
    const email = normalizeEmail(emailInput)
    const user = await users.findByEmail(email)
    if (!isUserUsable(user)) return
    const { token, hash } = generateLinkToken()
    const now = clock()
    await db.transaction().execute(async (trx) => {
      await links.issue(trx, { user, purpose: 'reset_password', hash, now, ttlSeconds: mail.resetTtl })
      const message = templates.linkMail('reset_password', user.email, {
        link: linkUrl(mail.resetUrl, token),
        ttl: mail.resetTtl,
      })
      await outbox.enqueue(trx, message, 'reset_password', now)
    })
    kickSender()
  }

  /** Counts the request against the recipient's mail limit (429), then works in the background. */
  async function requestPasswordReset(email: string): Promise<void> {
    await mailThrottle.admit(normalizeEmail(email))
    // Not before the answer is on its way: on SQLite the queries run on this thread.
    const work = new Promise((resolve) => setImmediate(resolve))
      .then(() => forgotPassword(email))
      .catch((err) => log.error({ err }, 'password reset request failed'))
      .finally(() => background.delete(work))
    background.add(work)
  }

  /**
   * POST /v1/password/reset: sets the password, marks the email verified (the link proved
   * it) and, through the credential fence, revokes every session and kills every other
   * link — in one transaction with spending the link.
   */
  async function resetPassword(token: string, newPassword: string, who: AuditContext): Promise<void> {
    const link = await usableLink(token, ['reset_password'])
    const passwordHash = await passwords.hash(newPassword)
    const now = clock()
    await db.transaction().execute(async (trx) => {
      const user = await spendLink(trx, link, { password_hash: passwordHash, updated_at: now })
      if (user.email_verified_at === null) await users.update(user.id, { email_verified_at: now }, trx)
      const ended = await bumpCredentialVersion(trx, revocations, user.id, now)
      await audit.record(trx, who, {
        type: 'password.reset',
        userId: user.id,
        details: { sessions_revoked: ended },
      })
    })
  }

  /**
   * DELETE /v1/me: checks the current password (throttled like a login), then deletes the
   * account and mails a notice (no link) in one transaction. Sessions and links go with
   * the row (foreign-key cascade); a login in flight finds no row to fence against
   * (users/credential-fence.ts). The address can sign up again.
   */
  async function deleteOwnAccount(
    userId: string,
    currentPassword: string,
    address: string,
    who: AuditContext,
  ): Promise<void> {
    const user = await verifyCurrentPassword(userId, currentPassword, address)
    const now = clock()
    await db.transaction().execute(async (trx) => {
      // Fenced and revoked like an admin deletion: tokens already issued are cut off (§11).
      await bumpCredentialVersion(trx, revocations, user.id, now)
      if (!(await users.delete(user.id, trx))) throw notFound('The user of this token no longer exists.')
      await audit.record(trx, who, { type: 'user.deleted', userId: user.id, details: { by: 'self' } })
      await outbox.enqueue(trx, templates.notice('account_deleted', user.email), 'account_deleted', now)
    })
    kickSender()
  }

  /** Operator (badge users verify): marks the user's current email verified. */
  async function markEmailVerified(userId: string): Promise<UserRow> {
    const now = clock()
    await db
      .updateTable('users')
      .set({ email_verified_at: now, updated_at: now })
      .where('id', '=', userId)
      .where('email_verified_at', 'is', null)
      .execute()
    const user = await users.findById(userId)
    if (!user) throw notFound('No such user.')
    return user
  }

  /**
   * Operator (badge users reset-link): a reset link for support staff to hand over, not
   * mailed and never logged. It replaces any earlier reset link, like a forgot request.
   */
  async function createResetLink(userId: string): Promise<{ url: string; expiresAt: number }> {
    const user = await users.findById(userId)
    if (!isUserUsable(user)) throw notFound('No such enabled user.')
    const { token, hash } = generateLinkToken()
    const now = clock()
    await db
      .transaction()
      .execute((trx) =>
        links.issue(trx, { user, purpose: 'reset_password', hash, now, ttlSeconds: mail.resetTtl }),
      )
    return { url: linkUrl(mail.resetUrl, token), expiresAt: now + mail.resetTtl * 1000 }
  }

  /** Resolves once background forgot-password work has finished. */
  async function settle(): Promise<void> {
    await Promise.all([...background])
  }

  return {
    signUp,
    resendVerification,
    verifyEmail,
    requestEmailChange: emailChange.requestEmailChange,
    requestPasswordReset,
    resetPassword,
    markEmailVerified,
    createResetLink,
    deleteOwnAccount,
    settle,
  }
}

export type AccountService = ReturnType<typeof createAccountService>
