import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { requestAuditContext } from '../audit/request-context.js'
import { isUuid } from '../db/ids.js'
import { notFound } from '../errors.js'
import { errorResponses } from '../http/schemas.js'
import { mfaStatusSchema } from './routes.js'
import type { MfaService } from './service.js'

// An admin sees and resets a user's second factors (docs/contract.md §10), e.g. for a user
// who lost both the authenticator and the recovery codes. Every reset is logged.

const userIdParams = z.object({
  id: z.string().max(200).describe('The user id (a UUID; anything else is 404)'),
})

export interface MfaAdminRouteOptions {
  mfa: MfaService
  users: { findById(id: string): Promise<unknown> }
}

export const mfaAdminRoutes: FastifyPluginAsyncZod<MfaAdminRouteOptions> = async (app, { mfa, users }) => {
  const userExists = async (id: string) => {
    if (!isUuid(id) || !(await users.findById(id))) throw notFound('No user has this id.')
  }

  app.get(
    '/v1/admin/users/:id/mfa',
    {
      config: { scopes: ['admin'] },
      schema: {
        operationId: 'getUserMfa',
        summary: "A user's second factors",
        description: 'The same view as GET /v1/me/mfa, for support. 404 for an unknown id.',
        tags: ['admin'],
        params: userIdParams,
        response: { 200: mfaStatusSchema, ...errorResponses(400, 401, 403, 404, 503) },
      },
    },
    async (request) => {
      await userExists(request.params.id)
      return mfa.status(request.params.id)
    },
  )

  app.delete(
    '/v1/admin/users/:id/mfa',
    {
      config: { scopes: ['admin'] },
      schema: {
        operationId: 'resetUserMfa',
        summary: 'Remove every second factor of a user',
        description:
          'Removes the TOTP authenticator and recovery codes; when there were any, every session of the user ends. The user then logs in with the password alone. Logged with the admin and user ids.',
        tags: ['admin'],
        params: userIdParams,
        response: { 204: z.null().describe('Reset'), ...errorResponses(400, 401, 403, 404, 503) },
      },
    },
    async (request, reply) => {
      await userExists(request.params.id)
      const removed = await mfa.removeSecondFactors(request.params.id, requestAuditContext(request))
      request.log.info(
        { admin: request.auth!.claims.sub, user: request.params.id, removed },
        'admin reset second factors',
      )
      return reply.code(204).send(null)
    },
  )
}
