import { normalizeEmail, toAdminUser } from '../users/service.js'
import { type CliContext, type Command, CommandError, optionalString, UsageError } from './command.js'
import { table } from './output.js'

// Account-lifecycle commands (docs/account.md): support staff verify an address or hand a
// user a reset link; operators look at the mail outbox and retry what was given up.

/** A user named by email or by id. */
async function findUser(ctx: CliContext, idOrEmail: string) {
  if (!idOrEmail.includes('@')) return ctx.services.adminUsers.getUser(idOrEmail)
  const user = await ctx.services.users.findByEmail(normalizeEmail(idOrEmail))
  if (!user) throw new CommandError(`No user has the email ${normalizeEmail(idOrEmail)}.`)
  return user
}

const verify: Command = {
  name: 'users verify',
  summary: "Mark a user's email address verified (as if they had used the mailed link)",
  args: ['<id|email>'],
  async run(ctx, input) {
    const user = await findUser(ctx, input.positionals[0]!)
    const shown = toAdminUser(await ctx.services.account.markEmailVerified(user.id))
    return { json: shown, text: `Verified the email of ${shown.email} (${shown.id}).` }
  },
}

const resetLink: Command = {
  name: 'users reset-link',
  summary: 'Print a password reset link to hand to the user (not mailed, never logged)',
  args: ['<id|email>'],
  notes: [
    'The link works once, for PASSWORD_RESET_TTL seconds, and replaces any earlier reset link.',
    'Hand it over only to the account holder: whoever opens it can set the password.',
  ],
  async run(ctx, input) {
    const user = await findUser(ctx, input.positionals[0]!)
    const { url, expiresAt } = await ctx.services.account.createResetLink(user.id)
    const expires_at = new Date(expiresAt).toISOString()
    return { json: { url, expires_at }, text: `${url}\n(valid once, until ${expires_at})` }
  },
}

const outboxList: Command = {
  name: 'outbox list',
  summary: 'List unsent mail, newest first: pending (retrying) and given up',
  options: {
    limit: { type: 'string', placeholder: 'N', description: 'messages to show, 1-1000 (default 100)' },
  },
  async run(ctx, input) {
    const limitText = optionalString(input, 'limit') ?? '100'
    const limit = Number(limitText)
    if (!/^[0-9]+$/.test(limitText) || limit < 1 || limit > 1000)
      throw new UsageError('--limit must be a whole number from 1 to 1000')
    const rows = await ctx.services.outbox.listUnsent(limit)
    const items = rows.map((m) => ({
      id: m.id,
      recipient: m.recipient,
      template: m.template,
      status: m.failed_at === null ? 'pending' : 'failed',
      attempts: Number(m.attempts),
      created_at: new Date(m.created_at).toISOString(),
      next_attempt_at: m.failed_at === null ? new Date(m.next_attempt_at).toISOString() : null,
      last_error: m.last_error,
    }))
    const text = items.length
      ? table(
          ['ID', 'RECIPIENT', 'TEMPLATE', 'STATUS', 'ATTEMPTS', 'NEXT ATTEMPT', 'LAST ERROR'],
          items.map((m) => [
            m.id,
            m.recipient,
            m.template,
            m.status,
            String(m.attempts),
            m.next_attempt_at,
            m.last_error,
          ]),
        )
      : 'No unsent mail.'
    return { json: { items }, text }
  },
}

const outboxRetry: Command = {
  name: 'outbox retry',
  summary: 'Send given-up mail again: one message by --id, or every one',
  options: { id: { type: 'string', placeholder: 'ID', description: 'the message (default: all given up)' } },
  notes: ['A running server sends them within seconds; links in them may have expired meanwhile.'],
  async run(ctx, input) {
    const id = optionalString(input, 'id')
    const count = await ctx.services.outbox.retry(ctx.services.clock(), id)
    if (id !== undefined && count === 0) throw new CommandError(`No given-up message has the id ${id}.`)
    return { json: { retried: count }, text: `Queued ${count} message(s) for another round of attempts.` }
  },
}

export const accountCommands: Command[] = [verify, resetLink, outboxList, outboxRetry]
