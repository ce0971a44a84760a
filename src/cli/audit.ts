import { toPublicAuditEvent } from '../audit/audit-log.js'
import { AUDIT_EVENT_TYPES } from '../audit/events.js'
import { normalizeEmail } from '../users/service.js'
import { type Command, CommandError, optionalString, UsageError } from './command.js'
import { table } from './output.js'

// `badge audit`: the audit log from the operator's shell, the same pages GET /v1/admin/audit
// serves (audit/audit-log.ts list).

function instant(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined
  const ms = Date.parse(text)
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(ms))
    throw new UsageError(`--${name} must be an ISO 8601 date or time, e.g. 2026-01-31T12:00:00Z`)
  return ms
}

const audit: Command = {
  name: 'audit',
  summary: 'Show the audit log, newest first, a page at a time',
  options: {
    type: {
      type: 'string',
      placeholder: 'TYPE',
      description: `only this event type (${AUDIT_EVENT_TYPES.join(', ')})`,
    },
    user: { type: 'string', placeholder: 'ID|EMAIL', description: 'only events about this user' },
    since: { type: 'string', placeholder: 'TIME', description: 'only events at or after this ISO 8601 time' },
    until: { type: 'string', placeholder: 'TIME', description: 'only events before this ISO 8601 time' },
    limit: { type: 'string', placeholder: 'N', description: 'events per page, 1-1000 (default 50)' },
    cursor: { type: 'string', placeholder: 'CURSOR', description: 'continue after a previous page' },
  },
  notes: [`Events older than AUDIT_RETENTION_DAYS are purged by the running server.`],
  async run(ctx, input) {
    const type = optionalString(input, 'type')
    if (type !== undefined && !(AUDIT_EVENT_TYPES as readonly string[]).includes(type))
      throw new UsageError(`--type must be one of ${AUDIT_EVENT_TYPES.join(', ')}`)
    const limitText = optionalString(input, 'limit') ?? '50'
    const limit = Number(limitText)
    if (!/^[0-9]+$/.test(limitText) || limit < 1 || limit > 1000)
      throw new UsageError('--limit must be a whole number from 1 to 1000')
    let userId = optionalString(input, 'user')
    if (userId?.includes('@')) {
      const user = await ctx.services.users.findByEmail(normalizeEmail(userId))
      if (!user) throw new CommandError(`No user has the email ${normalizeEmail(userId)}.`)
      userId = user.id
    }
    const since = instant(optionalString(input, 'since'), 'since')
    const until = instant(optionalString(input, 'until'), 'until')
    const cursor = optionalString(input, 'cursor')
    const page = await ctx.services.audit.list(
      {
        ...(type ? { type } : {}),
        ...(userId ? { userId } : {}),
        ...(since !== undefined ? { since } : {}),
        ...(until !== undefined ? { until } : {}),
      },
      { limit, ...(cursor ? { cursor } : {}) },
    )
    const items = page.events.map(toPublicAuditEvent)
    const rows = items.map((e) => [
      e.at,
      e.type,
      e.actor,
      e.user_id,
      e.client_id,
      e.ip,
      Object.keys(e.details).length ? JSON.stringify(e.details) : '',
    ])
    let text = items.length
      ? table(['AT', 'TYPE', 'ACTOR', 'USER', 'CLIENT', 'IP', 'DETAILS'], rows)
      : 'No audit events.'
    if (page.nextCursor) text += `\nMore events: badge audit --cursor ${page.nextCursor}`
    return { json: { items, next_cursor: page.nextCursor }, text }
  },
}

export const auditCommands: Command[] = [audit]
