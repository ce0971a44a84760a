import type { FastifyInstance } from 'fastify'
import { notFound } from '../../src/errors.js'
import { clearRefreshCookie } from '../../src/oauth/cookie.js'
import { requireScopes } from '../../src/verify/authenticate.js'

// GET /v1/me/sessions, DELETE /v1/me/sessions/{id} and DELETE /v1/me/sessions as CONTRACT §3 words
// them, for the browser tests only: the real routes are built on another branch.
// Registered only when the app has no such route, so once the real ones are merged
// the tests run against them and this file can go.

export function addSessionRoutesIfMissing(app: FastifyInstance): void {
  if (app.hasRoute({ method: 'GET', url: '/v1/me/sessions' })) return
  const { sessions, clock, config } = app.services

  app.get(
    '/v1/me/sessions',
    { onRequest: [app.authenticate, requireScopes('profile:read')] },
    async (request) => {
      const { sub, sid } = request.auth!.claims
      const rows = await sessions.listActiveForUser(sub, clock(), config.refreshTokenIdleTtl * 1000)
      return rows.map((s) => ({
        id: s.id,
        created_at: new Date(s.created_at).toISOString(),
        last_used_at: new Date(s.last_used_at).toISOString(),
        expires_at: new Date(s.expires_at).toISOString(),
        user_agent: s.user_agent,
        current: s.id === sid,
      }))
    },
  )

  app.delete<{ Params: { id: string } }>(
    '/v1/me/sessions/:id',
    { onRequest: [app.authenticate, requireScopes('profile:write')] },
    async (request, reply) => {
      const session = await sessions.findById(request.params.id)
      if (!session || session.user_id !== request.auth!.claims.sub) throw notFound('No such session.')
      await sessions.revoke(session.id, clock())
      return reply.code(204).send()
    },
  )

  // "Log out everywhere": the one place outside /oauth that clears the refresh cookie.
  app.delete<{ Querystring: { except?: string } }>(
    '/v1/me/sessions',
    { onRequest: [app.authenticate, requireScopes('profile:write')] },
    async (request, reply) => {
      const { sub, sid } = request.auth!.claims
      const keepCurrent = request.query.except === 'current'
      await sessions.revokeAllForUser(sub, clock(), keepCurrent ? sid : undefined)
      if (!keepCurrent) clearRefreshCookie(reply)
      return reply.code(204).send()
    },
  )
}
