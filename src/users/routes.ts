import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { AuditContext } from '../audit/events.js'
import { requestAuditContext } from '../audit/request-context.js'
import type { UserRow } from '../db/schema.js'
import { notFound, signupDisabled } from '../errors.js'
import { clientAddress } from '../http/client-address.js'
import {
  emailSchema,
  errorResponses,
  nameSchema,
  passwordSchema,
  scopeStringSchema,
  userSchema,
} from '../http/schemas.js'
import { toPublicUser, type UserService } from './service.js'
import { isUserUsable } from './user-usable.js'

const epochSeconds = z.int().min(0).meta({ format: 'int64' })

const claimsSchema = z
  .object({
    iss: z.string().max(2048).meta({ format: 'uri' }),
    sub: z.string().max(255).describe('The user id, or the client id for client_credentials'),
    aud: z.string().max(2048),
    exp: epochSeconds,
    iat: epochSeconds,
    jti: z.uuid().max(36),
    scope: scopeStringSchema,
    client_id: z.string().max(64),
    sid: z.uuid().max(36).optional().describe('The session the token came from (user tokens only)'),
    amr: z
      .array(z.string().max(16))
      .max(10)
      .optional()
      .describe(
        'RFC 8176 methods of the login (user tokens only): ["pwd"], ["pwd","otp","mfa"], or with a passkey ["hwk","user","mfa"] (swk for a synced passkey)',
      ),
    auth_time: epochSeconds
      .optional()
      .describe('When the user logged in (user tokens only); refreshes keep it'),
  })
  .meta({
    id: 'AccessTokenClaims',
    examples: [
      {
        iss: 'https://auth.example.com',
        sub: '0b6f4c7e-5a0d-4d1e-9a53-6b2f0e8a7c11',
        aud: 'https://auth.example.com',
        exp: 1735733700,
        iat: 1735732800,
        jti: '5f0c2d1e-8a47-4b6e-b1f3-2c9d7e6a4b10',
        scope: 'profile:read profile:write',
        client_id: 'badge',
        sid: 'c3a1e7b2-9d4f-4e2a-8b6c-1f5d3a7e9c20',
        amr: ['pwd', 'otp', 'mfa'],
        auth_time: 1735732790,
      },
    ],
  })

export interface UserRouteOptions {
  users: UserService
  /** Creates the user and queues its verification mail (account/service.ts). */
  signUp: (
    input: { email: string; password: string; name?: string | null },
    who: AuditContext,
  ) => Promise<UserRow>
  /** SIGNUP_ENABLED */
  signupEnabled: boolean
}

export const userRoutes: FastifyPluginAsyncZod<UserRouteOptions> = async (
  app,
  { users, signUp, signupEnabled },
) => {
  app.post(
    '/v1/users',
    {
      config: { limit: 'signup' },
      schema: {
        operationId: 'createUser',
        summary: 'Sign up',
        description:
          'Creates a user holding DEFAULT_USER_SCOPES. 403 signup_disabled when SIGNUP_ENABLED=false. With EMAIL_VERIFICATION optional or required, also mails a verification link.',
        tags: ['users'],
        body: z.object({ email: emailSchema, password: passwordSchema, name: nameSchema.optional() }).meta({
          'x-examples': {
            signup: {
              summary: 'Sign up',
              value: {
                email: 'ada@example.com',
                password: 'correct horse battery staple',
                name: 'Ada Lovelace',
              },
            },
          },
        }),
        response: {
          201: userSchema,
          ...errorResponses(400, { 403: ['signup_disabled'], 409: ['email_taken'] }, 413, 415, 503),
        },
      },
    },
    async (request, reply) => {
      if (!signupEnabled) throw signupDisabled()
      const user = await signUp(request.body, requestAuditContext(request))
      return reply.code(201).send(toPublicUser(user))
    },
  )

  app.get(
    '/v1/me',
    {
      config: { scopes: ['profile:read'] },
      schema: {
        operationId: 'getMe',
        summary: 'The calling user',
        description:
          'The profile of the user the access token was issued to. 404 if that user was deleted or disabled.',
        tags: ['me'],
        response: { 200: userSchema, ...errorResponses(400, 401, 403, 404, 503) },
      },
    },
    async (request) => {
      const user = await users.findById(request.auth!.claims.sub)
      if (!isUserUsable(user)) throw notFound('The user of this token no longer exists.')
      return toPublicUser(user)
    },
  )

  app.patch(
    '/v1/me',
    {
      config: { scopes: ['profile:write'] },
      schema: {
        operationId: 'updateMe',
        summary: 'Update the calling user',
        description: 'Changes the display name; null clears it. Returns the updated user.',
        tags: ['me'],
        body: z.object({ name: nameSchema }).meta({
          'x-examples': { rename: { summary: 'Change the display name', value: { name: 'Ada King' } } },
        }),
        response: { 200: userSchema, ...errorResponses(400, 401, 403, 404, 413, 415, 503) },
      },
    },
    async (request) => {
      const user = await users.updateProfile(
        request.auth!.claims.sub,
        { name: request.body.name },
        requestAuditContext(request),
      )
      if (!user) throw notFound('The user of this token no longer exists.')
      return toPublicUser(user)
    },
  )

  app.post(
    '/v1/me/password',
    {
      config: { scopes: ['profile:write'] },
      schema: {
        operationId: 'changeMyPassword',
        summary: "Change the calling user's password",
        description:
          'Checks current_password, stores new_password and revokes every session of the user, the calling one included: log in again with the new password. A wrong current_password is 400 invalid_grant; wrong guesses count toward the same failed-sign-in limits as the token endpoint (429). Access tokens already issued are refused from then on (GET /v1/revocations).',
        tags: ['me'],
        body: z.object({ current_password: z.string().max(1024), new_password: passwordSchema }),
        response: {
          204: z.null().describe('Changed; every session revoked'),
          ...errorResponses(400, { 400: ['invalid_grant'] }, 401, 403, 404, 413, 415, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const { current_password, new_password } = request.body
      await users.changePassword(
        request.auth!.claims.sub,
        current_password,
        new_password,
        clientAddress(request),
        requestAuditContext(request),
      )
      return reply.code(204).send(null)
    },
  )

  app.get(
    '/v1/me/claims',
    {
      config: { scopes: [] },
      schema: {
        operationId: 'getMyClaims',
        summary: 'The verified claims of the presented access token',
        description: 'Touches no database: answers while the database is down.',
        tags: ['me'],
        response: { 200: claimsSchema, ...errorResponses(400, 401) },
      },
    },
    async (request) => request.auth!.claims,
  )
}
