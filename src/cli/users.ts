import { CLI_CONTEXT } from '../audit/events.js'
import { emailSchema, passwordSchema } from '../http/schemas.js'
import { ADMIN_SCOPES } from '../users/bootstrap.js'
import { normalizeEmail, toAdminUser } from '../users/service.js'
import {
  type CliContext,
  type Command,
  CommandError,
  type CommandInput,
  optionalString,
  parseScopes,
  requireString,
  UsageError,
} from './command.js'
import { fields, table } from './output.js'

async function readPassword(ctx: CliContext, input: CommandInput): Promise<string> {
  const password = optionalString(input, 'password') ?? (await ctx.readStdin())
  if (password === undefined) {
    throw new UsageError('give the password on standard input (or with --password)')
  }
  const checked = passwordSchema.safeParse(password)
  if (!checked.success) throw new UsageError(`password ${checked.error.issues[0]!.message}`)
  return password
}

/** A user named by email or by id. */
async function findUser(ctx: CliContext, idOrEmail: string) {
  if (!idOrEmail.includes('@')) return ctx.services.adminUsers.getUser(idOrEmail)
  const user = await ctx.services.users.findByEmail(normalizeEmail(idOrEmail))
  if (!user) throw new CommandError(`No user has the email ${normalizeEmail(idOrEmail)}.`)
  return user
}

const create: Command = {
  name: 'users create',
  summary: 'Create a user (the password is read from standard input)',
  options: {
    email: { type: 'string', placeholder: 'EMAIL', description: 'email address (required)' },
    name: { type: 'string', placeholder: 'NAME', description: 'display name' },
    scopes: {
      type: 'string',
      placeholder: 'SCOPES',
      description: 'space-separated scopes from SCOPES (default DEFAULT_USER_SCOPES)',
    },
    admin: { type: 'boolean', description: `shorthand for --scopes "${ADMIN_SCOPES.join(' ')}"` },
    password: {
      type: 'string',
      placeholder: 'PASSWORD',
      description: 'the password; prefer standard input, arguments are visible to other local users',
    },
  },
  notes: [
    "example: printf '%s' 'correct horse battery staple' | badge users create --email ada@example.com --admin",
  ],
  async run(ctx, input) {
    const email = emailSchema.safeParse(requireString(input, 'email'))
    if (!email.success) throw new UsageError(`--email ${email.error.issues[0]!.message}`)
    const scopesText = optionalString(input, 'scopes')
    if (input.values.admin && scopesText !== undefined)
      throw new UsageError('give --admin or --scopes, not both')
    const scopes = input.values.admin
      ? ADMIN_SCOPES
      : scopesText !== undefined
        ? parseScopes(scopesText, ctx.config.scopes)
        : undefined
    const password = await readPassword(ctx, input)
    const row = await ctx.services.users.createUser(
      {
        email: email.data,
        password,
        name: optionalString(input, 'name') ?? null,
        ...(scopes ? { scopes } : {}),
      },
      CLI_CONTEXT,
    )
    const user = toAdminUser(row)
    return {
      json: user,
      text: `Created user ${user.email} (${user.id}) with scopes: ${user.scopes.join(' ')}`,
    }
  },
}

const list: Command = {
  name: 'users list',
  summary: 'List users, oldest first, a page at a time',
  options: {
    limit: { type: 'string', placeholder: 'N', description: 'users per page, 1-1000 (default 100)' },
    cursor: { type: 'string', placeholder: 'CURSOR', description: 'continue after a previous page' },
  },
  async run(ctx, input) {
    const limitText = optionalString(input, 'limit') ?? '100'
    const limit = Number(limitText)
    if (!/^[0-9]+$/.test(limitText) || limit < 1 || limit > 1000) {
      throw new UsageError('--limit must be a whole number from 1 to 1000')
    }
    const cursor = optionalString(input, 'cursor')
    const page = await ctx.services.adminUsers.listUsers({ limit, ...(cursor ? { cursor } : {}) })
    const items = page.users.map(toAdminUser)
    const rows = items.map((u) => [
      u.id,
      u.email,
      u.name,
      u.scopes.join(' '),
      u.disabled ? 'yes' : 'no',
      u.created_at,
    ])
    let text = items.length
      ? table(['ID', 'EMAIL', 'NAME', 'SCOPES', 'DISABLED', 'CREATED'], rows)
      : 'No users.'
    if (page.nextCursor) text += `\nMore users: badge users list --cursor ${page.nextCursor}`
    return { json: { items, next_cursor: page.nextCursor }, text }
  },
}

function setDisabled(disabled: boolean): Command {
  const verb = disabled ? 'disable' : 'enable'
  return {
    name: `users ${verb}`,
    summary: disabled
      ? 'Disable a user: logins fail and every session is revoked (issued access tokens are refused: GET /v1/revocations)'
      : 'Re-enable a disabled user',
    args: ['<id|email>'],
    async run(ctx, input) {
      const user = await findUser(ctx, input.positionals[0]!)
      const shown = toAdminUser(await ctx.services.adminUsers.updateUser(user.id, { disabled }, CLI_CONTEXT))
      const text = disabled
        ? `Disabled user ${shown.email} (${shown.id}); their sessions are revoked.`
        : `Enabled user ${shown.email} (${shown.id}).`
      return { json: shown, text }
    },
  }
}

const show: Command = {
  name: 'users show',
  summary: 'Show one user',
  args: ['<id|email>'],
  async run(ctx, input) {
    const user = toAdminUser(await findUser(ctx, input.positionals[0]!))
    const text = fields([
      ['id', user.id],
      ['email', user.email],
      ['name', user.name],
      ['scopes', user.scopes.join(' ')],
      ['disabled', user.disabled ? 'yes' : 'no'],
      ['created_at', user.created_at],
    ])
    return { json: user, text }
  },
}

const showMfa: Command = {
  name: 'users mfa',
  summary: "Show a user's second factors (TOTP, passkeys, recovery codes left)",
  args: ['<id|email>'],
  async run(ctx, input) {
    const user = await findUser(ctx, input.positionals[0]!)
    const status = await ctx.services.mfa.status(user.id)
    const text = fields([
      ['email', user.email],
      ['totp', status.totp ? 'yes' : 'no'],
      ['passkeys', String(status.passkeys)],
      ['recovery_codes_left', String(status.recovery_codes_left)],
    ])
    return { json: { id: user.id, email: user.email, ...status }, text }
  },
}

const resetMfa: Command = {
  name: 'users reset-mfa',
  summary: 'Remove every second factor of a user (their sessions end; they log in with the password)',
  args: ['<id|email>'],
  async run(ctx, input) {
    const user = await findUser(ctx, input.positionals[0]!)
    const removed = await ctx.services.mfa.removeSecondFactors(user.id, CLI_CONTEXT)
    const text = removed
      ? `Removed the second factors of ${user.email} (${user.id}); their sessions are revoked.`
      : `${user.email} (${user.id}) had no second factor.`
    return { json: { id: user.id, email: user.email, removed }, text }
  },
}

export const userCommands: Command[] = [
  create,
  list,
  show,
  setDisabled(true),
  setDisabled(false),
  showMfa,
  resetMfa,
]
