import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { errorResponses } from '../http/schemas.js'
import { type AuditLog, toPublicAuditEvent } from './audit-log.js'
import { AUDIT_EVENT_TYPES, OWN_EVENT_TYPES } from './events.js'

// The audit log, read (docs/contract.md §12): every event for admins, a user's own security
// history for that user. Newest first, a page at a time, as the user list pages.

const detailValue = z.union([
  z.string().max(1000),
  z.number(),
  z.boolean(),
  z.null(),
  z.array(z.string().max(200)).max(100),
])

const auditEventSchema = z
  .object({
    id: z.uuid().max(36),
    type: z
      .string()
      .max(64)
      .describe(`What happened: ${AUDIT_EVENT_TYPES.join(', ')} (more may be added).`),
    at: z.iso.datetime().max(32).describe('When it happened.'),
    actor: z
      .string()
      .max(64)
      .nullable()
      .describe(
        'Who acted: a user id, "cli" (the operator CLI), "system" (Badge itself) or null (anonymous).',
      ),
    user_id: z.string().max(36).nullable().describe('The user the event is about.'),
    client_id: z.string().max(64).nullable().describe('The app (client_id) involved, if any.'),
    ip: z.string().max(64).nullable().describe("The caller's address as the server saw it."),
    user_agent: z.string().max(512).nullable().describe("The caller's User-Agent."),
    details: z
      .record(z.string().max(64), detailValue)
      .describe(
        'Non-secret facts about the event (ids, counts, reasons); never a password, token or secret.',
      ),
  })
  .meta({ id: 'AuditEvent' })

const auditPageSchema = z
  .object({
    items: z.array(auditEventSchema).max(100).describe('Newest first'),
    next_cursor: z
      .string()
      .max(200)
      .nullable()
      .describe('Pass as ?cursor= for the next page; null on the last page. Opaque.'),
  })
  .meta({ id: 'AuditEventPage' })

const page = {
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(100)
    .default(20)
    .meta({ format: 'int32' })
    .describe('Page size, 1 to 100'),
  cursor: z.string().max(200).optional().describe('next_cursor from the previous page'),
}

const instant = (what: string) => z.iso.datetime({ offset: true }).max(40).optional().describe(what)

export interface AuditRouteOptions {
  audit: Pick<AuditLog, 'list'>
}

export const auditRoutes: FastifyPluginAsyncZod<AuditRouteOptions> = async (app, { audit }) => {
  app.get(
    '/v1/admin/audit',
    {
      config: { scopes: ['admin'] },
      schema: {
        operationId: 'listAuditEvents',
        summary: 'The audit log, newest first, a page at a time',
        description:
          'Security events: logins, refresh-token reuse, sessions ended, password changes, user, client and key administration. Filters combine; a malformed cursor is 400 invalid_request.',
        tags: ['admin'],
        querystring: z.object({
          type: z.enum(AUDIT_EVENT_TYPES).optional().describe('Only events of this type'),
          user_id: z.uuid().max(36).optional().describe('Only events about this user'),
          since: instant('Only events at or after this time (ISO 8601)'),
          until: instant('Only events before this time (ISO 8601)'),
          ...page,
        }),
        response: { 200: auditPageSchema, ...errorResponses(400, 401, 403, 503) },
      },
    },
    async (request) => {
      const { type, user_id, since, until, limit, cursor } = request.query
      const result = await audit.list(
        {
          ...(type ? { type } : {}),
          ...(user_id ? { userId: user_id } : {}),
          ...(since ? { since: Date.parse(since) } : {}),
          ...(until ? { until: Date.parse(until) } : {}),
        },
        { limit, ...(cursor ? { cursor } : {}) },
      )
      return { items: result.events.map(toPublicAuditEvent), next_cursor: result.nextCursor }
    },
  )

  app.get(
    '/v1/me/events',
    {
      config: { scopes: ['profile:read'] },
      schema: {
        operationId: 'listMyEvents',
        summary: "The caller's security history, newest first",
        description: `Your own security events (${OWN_EVENT_TYPES.join(', ')}), with the address and User-Agent of each. Only events about the calling user.`,
        tags: ['me'],
        querystring: z.object(page),
        response: { 200: auditPageSchema, ...errorResponses(400, 401, 403, 503) },
      },
    },
    async (request) => {
      const { limit, cursor } = request.query
      const result = await audit.list(
        { userId: request.auth!.claims.sub, type: OWN_EVENT_TYPES },
        { limit, ...(cursor ? { cursor } : {}) },
      )
      return { items: result.events.map(toPublicAuditEvent), next_cursor: result.nextCursor }
    },
  )
}
