import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { BadgeError, notFound } from '../errors.js'
import { emailSchema, errorResponses, nameSchema, passwordSchema, userSchema } from '../http/schemas.js'
import type { Services } from '../services.js'
import { requireScopes } from '../verify/authenticate.js'
import { toPublicUser } from './service.js'

const claimsSchema = z
  .object({
    iss: z.string(),
    sub: z.string(),
    aud: z.string(),
    exp: z.number().int(),
    iat: z.number().int(),
    jti: z.string(),
    scope: z.string(),
    client_id: z.string(),
    sid: z.string().optional(),
  })
  .meta({ id: 'AccessTokenClaims' })

export const userRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  const { users, config } = services

  app.post(
    '/v1/users',
    {
      schema: {
        operationId: 'createUser',
        summary: 'Sign up',
        description:
          'Creates a user holding DEFAULT_USER_SCOPES. 403 signup_disabled when SIGNUP_ENABLED=false.',
        tags: ['users'],
        body: z.object({ email: emailSchema, password: passwordSchema, name: nameSchema.optional() }),
        response: { 201: userSchema, ...errorResponses(400, 403, 409, 413, 415, 429, 503) },
      },
    },
    async (request, reply) => {
      if (!config.signupEnabled)
        throw new BadgeError(403, 'signup_disabled', 'Sign-up is disabled on this server.')
      const user = await users.createUser(request.body)
      return reply.code(201).send(toPublicUser(user))
    },
  )

  app.get(
    '/v1/me',
    {
      onRequest: [app.authenticate, requireScopes('profile:read')],
      schema: {
        operationId: 'getMe',
        summary: 'The calling user',
        tags: ['me'],
        security: [{ bearerAuth: ['profile:read'] }],
        response: { 200: userSchema, ...errorResponses(400, 401, 403, 404, 429, 503) },
      },
    },
    async (request) => {
      const user = await users.findById(request.auth!.claims.sub)
      if (!user || user.disabled_at !== null) throw notFound('The user of this token no longer exists.')
      return toPublicUser(user)
    },
  )

  app.patch(
    '/v1/me',
    {
      onRequest: [app.authenticate, requireScopes('profile:write')],
      schema: {
        operationId: 'updateMe',
        summary: 'Update the calling user',
        tags: ['me'],
        security: [{ bearerAuth: ['profile:write'] }],
        body: z.object({ name: nameSchema }),
        response: { 200: userSchema, ...errorResponses(400, 401, 403, 404, 413, 415, 429, 503) },
      },
    },
    async (request) => {
      const user = await users.updateProfile(request.auth!.claims.sub, { name: request.body.name })
      if (!user) throw notFound('The user of this token no longer exists.')
      return toPublicUser(user)
    },
  )

  app.post(
    '/v1/me/password',
    {
      onRequest: [app.authenticate, requireScopes('profile:write')],
      schema: {
        operationId: 'changeMyPassword',
        summary: "Change the calling user's password",
        description:
          'Checks current_password, stores new_password and revokes every session of the user, the calling one included: log in again with the new password. A wrong current_password is 400 invalid_grant. Access tokens already issued stay valid until they expire.',
        tags: ['me'],
        security: [{ bearerAuth: ['profile:write'] }],
        body: z.object({ current_password: z.string().max(1024), new_password: passwordSchema }),
        response: {
          204: z.null().describe('Changed; every session revoked'),
          ...errorResponses(400, 401, 403, 404, 413, 415, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const { current_password, new_password } = request.body
      await users.changePassword(request.auth!.claims.sub, current_password, new_password)
      return reply.code(204).send(null)
    },
  )

  app.get(
    '/v1/me/claims',
    {
      onRequest: [app.authenticate],
      schema: {
        operationId: 'getMyClaims',
        summary: 'The verified claims of the presented access token',
        description: 'Touches no database: answers while the database is down.',
        tags: ['me'],
        security: [{ bearerAuth: [] }],
        response: { 200: claimsSchema, ...errorResponses(400, 401, 429) },
      },
    },
    async (request) => request.auth!.claims,
  )
}
