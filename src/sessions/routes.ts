import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { requestAuditContext } from '../audit/request-context.js'
import { errorResponses } from '../http/schemas.js'
import type { SessionService } from './service.js'

// The caller's sessions (docs/contract.md §3). "Current" is the session the calling access
// token's `sid` names; tokens without one (client_credentials) have no current session.

const sessionSchema = z
  .object({
    id: z.uuid().max(36),
    client_id: z.string().max(64).describe('The app the session was opened through ("badge" by default).'),
    created_at: z.iso.datetime().max(32).describe('When the user logged in.'),
    last_used_at: z.iso
      .datetime()
      .max(32)
      .describe('When the session last refreshed (using an access token does not count).'),
    expires_at: z.iso
      .datetime()
      .max(32)
      .describe('When the session ends unless refreshed: the sooner of its absolute and idle lifetimes.'),
    user_agent: z.string().max(16384).nullable().describe('User-Agent of the login request.'),
    current: z.boolean().describe("True for the session the calling token's sid names."),
  })
  .meta({ id: 'Session' })

const sessionListSchema = z
  .object({ items: z.array(sessionSchema).max(100).describe('Newest first; at most the 100 newest') })
  .meta({ id: 'SessionList' })

export interface SessionRouteOptions {
  sessionService: SessionService
}

export const sessionRoutes: FastifyPluginAsyncZod<SessionRouteOptions> = async (app, { sessionService }) => {
  app.get(
    '/v1/me/sessions',
    {
      config: { scopes: ['profile:read'] },
      schema: {
        operationId: 'listMySessions',
        summary: "The caller's active sessions, newest first",
        description:
          'Where you are logged in: one entry per session (refresh-token family); `current` marks the one the calling token belongs to.',
        tags: ['me'],
        response: { 200: sessionListSchema, ...errorResponses(400, 401, 403, 503) },
      },
    },
    async (request) => {
      const { sub, sid } = request.auth!.claims
      return { items: await sessionService.listSessions(sub, sid) }
    },
  )

  app.delete(
    '/v1/me/sessions/:id',
    {
      config: { scopes: ['profile:write'] },
      schema: {
        operationId: 'revokeMySession',
        summary: 'Log out one of your sessions',
        description:
          'Ends the session: its refresh token stops working. 404 not_found for an id that is not one of your sessions.',
        tags: ['me'],
        params: z.object({
          id: z.string().max(200).describe('The session id (the sid claim of its tokens)'),
        }),
        response: {
          204: z.null().describe('Revoked'),
          ...errorResponses(400, 401, 403, 404, 503),
        },
      },
    },
    async (request, reply) => {
      const { sub, sid } = request.auth!.claims
      await sessionService.revokeSession(sub, request.params.id, requestAuditContext(request))
      // Ending the caller's own session also drops its browser-mode cookie (docs/contract.md §8).
      if (request.params.id === sid) reply.clearRefreshCookie()
      return reply.code(204).send(null)
    },
  )

  app.delete(
    '/v1/me/sessions',
    {
      config: { scopes: ['profile:write'] },
      schema: {
        operationId: 'revokeMySessions',
        summary: 'Log out everywhere',
        description:
          'Ends every session of the caller, or with ?except=current every session but the one the calling token belongs to.',
        tags: ['me'],
        querystring: z.object({
          except: z.enum(['current']).optional().describe('"current" keeps the calling session.'),
        }),
        response: {
          204: z.null().describe('Revoked'),
          ...errorResponses(400, 401, 403, 503),
        },
      },
    },
    async (request, reply) => {
      const { sub, sid } = request.auth!.claims
      const keep = request.query.except === 'current' ? sid : undefined
      await sessionService.revokeAllSessions(sub, requestAuditContext(request), keep)
      // Browser mode (docs/contract.md §8): the calling session ended too, so its cookie goes.
      if (keep === undefined) reply.clearRefreshCookie()
      return reply.code(204).send(null)
    },
  )
}
