import type { Kysely } from 'kysely'
import type { AuditLog } from '../audit/audit-log.js'
import type { AuditContext } from '../audit/events.js'
import type { Clock } from '../clock.js'
import type { Config } from '../config.js'
import type { Database, Db, LinkTokenRow, UserRow } from '../db/schema.js'
import { emailTaken, invalidLink, invalidRequest } from '../errors.js'
import type { OutboxRepository } from '../mail/outbox-repository.js'
import type { MailTemplates } from '../mail/templates.js'
import { isUniqueViolation, type UserRepository } from '../users/repository.js'
import { normalizeEmail, type UserService } from '../users/service.js'
import { generateLinkToken, linkUrl } from './link-token.js'
import type { LinkTokenRepository } from './link-token-repository.js'
import type { MailThrottle } from './mail-throttle.js'

// Email change (docs/contract.md §9, docs/account.md): the request mails a link to the
// new address, and the email changes only when that link is used. Like every mail of the
// account lifecycle, both mails are committed to the outbox in the request's transaction
// and the sender is kicked after the commit.

/**
 * In `trx`: spends `link` and applies `changes` to its user if the account is still in the
 * state the link was issued for, else invalid_link (account/service.ts, shared with the
 * other links).
 */
export type SpendLink = (
  trx: Db,
  link: LinkTokenRow,
  changes: Partial<Pick<UserRow, 'email_verified_at' | 'email'>> & { updated_at: number },
) => Promise<UserRow>

export interface EmailChangeDeps {
  db: Kysely<Database>
  users: UserRepository
  links: LinkTokenRepository
  outbox: OutboxRepository
  mailThrottle: MailThrottle
  clock: Clock
  mail: Config['mail']
  templates: MailTemplates
  /** The current-password check of users/service.ts (throttled like a login). */
  verifyCurrentPassword: UserService['verifyCurrentPassword']
  /** Called after a transaction that queued mail has committed: starts a sending pass. */
  kickSender: () => void
  spendLink: SpendLink
  audit: AuditLog
}

export function createEmailChange(deps: EmailChangeDeps) {
  const { db, users, links, outbox, mailThrottle, clock, mail, templates } = deps
  const { verifyCurrentPassword, kickSender, spendLink, audit } = deps

  /**
   * POST /v1/me/email: checks the current password (throttled like a login), then mails a
   * confirmation link to the new address and a notice without a link to the current one,
   * in one transaction. Nothing about the account changes until the link is used
   * (changeEmail). The caller proved their password, so a taken address may be named:
   * 409 email_taken, as at sign-up.
   */
  async function requestEmailChange(
    userId: string,
    input: { newEmail: string; currentPassword: string },
    address: string,
  ): Promise<void> {
    const user = await verifyCurrentPassword(userId, input.currentPassword, address)
    const newEmail = normalizeEmail(input.newEmail)
    if (newEmail === user.email) throw invalidRequest('new_email is already the email of this account.')
    if (await users.findByEmail(newEmail)) throw emailTaken()
    await mailThrottle.admit(newEmail)
    const { token, hash } = generateLinkToken()
    const now = clock()
    await db.transaction().execute(async (trx) => {
      await links.issue(trx, {
        user,
        purpose: 'change_email',
        hash,
        now,
        ttlSeconds: mail.verifyTtl,
        newEmail,
      })
      const confirm = templates.linkMail('change_email', newEmail, {
        link: linkUrl(mail.verifyUrl, token),
        ttl: mail.verifyTtl,
      })
      await outbox.enqueue(trx, confirm, 'change_email', now)
      await outbox.enqueue(
        trx,
        templates.notice('email_change_notice', user.email),
        'email_change_notice',
        now,
      )
    })
    kickSender()
  }

  /**
   * POST /v1/email/verify with a change_email link: the email becomes the link's new
   * address, verified (the link proved it), provided the account is still in the state
   * the link was issued for. Uniqueness is checked again now; under a race the unique
   * index decides, and the loser is 409 email_taken with nothing changed and the link
   * unspent (the transaction rolls back). Links bound to the old address (a pending
   * verification or reset) die with it (account/link-usable.ts).
   */
  async function changeEmail(link: LinkTokenRow, who: AuditContext): Promise<UserRow> {
    const newEmail = link.new_email
    if (newEmail === null) throw invalidLink()
    if (await users.findByEmail(newEmail)) throw emailTaken()
    const now = clock()
    try {
      return await db.transaction().execute(async (trx) => {
        const user = await spendLink(trx, link, { email: newEmail, email_verified_at: now, updated_at: now })
        await links.deleteUnused(trx, user.id)
        await audit.record(trx, who, { type: 'email.changed', userId: user.id })
        return user
      })
    } catch (error) {
      if (isUniqueViolation(error)) throw emailTaken()
      throw error
    }
  }

  return { requestEmailChange, changeEmail }
}

export type EmailChange = ReturnType<typeof createEmailChange>
