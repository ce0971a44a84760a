import type { RegistrationResponseJSON } from '@simplewebauthn/server'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { requestAuditContext } from '../audit/request-context.js'
import { errorResponses } from '../http/schemas.js'
import {
  passkeyNameSchema,
  passkeySchema,
  registrationOptionsSchema,
  registrationResponseSchema,
} from './schemas.js'
import type { PasskeyService } from './service.js'

// The caller's passkeys (docs/contract.md §10). Registering one makes it a second factor
// for password logins and a way to log in without a password.

const idParams = z.object({ id: z.string().max(64).describe('The passkey id') })

export interface PasskeyRouteOptions {
  passkeys: PasskeyService
}

export const passkeyRoutes: FastifyPluginAsyncZod<PasskeyRouteOptions> = async (app, { passkeys }) => {
  app.post(
    '/v1/me/passkeys/options',
    {
      config: { scopes: ['profile:write'] },
      schema: {
        operationId: 'passkeyRegistrationOptions',
        summary: 'Start registering a passkey',
        description:
          'WebAuthn creation options for the calling user. The challenge is stored server-side, bound to this user, lives 5 minutes and is spent by the next POST /v1/me/passkeys that signs it.',
        tags: ['me'],
        response: { 200: registrationOptionsSchema, ...errorResponses(400, 401, 403, 404, 503) },
      },
    },
    async (request, reply) => {
      const options = await passkeys.registrationOptions(request.auth!.claims.sub)
      // The library's option types are interfaces (no index signature); the schema checks the value.
      return reply
        .header('cache-control', 'no-store')
        .send(options as unknown as z.input<typeof registrationOptionsSchema>)
    },
  )

  app.post(
    '/v1/me/passkeys',
    {
      config: { scopes: ['profile:write'] },
      schema: {
        operationId: 'registerPasskey',
        summary: 'Finish registering a passkey',
        description:
          "The authenticator's response to the options of POST /v1/me/passkeys/options. A response that does not verify (wrong origin or RP ID, unknown, expired or spent challenge, another user's challenge, a credential already registered) is 400 invalid_grant. Every other session of the user ends, as when TOTP is turned on; the calling session stays.",
        tags: ['me'],
        body: z.object({ response: registrationResponseSchema, name: passkeyNameSchema.optional() }),
        response: {
          201: passkeySchema,
          ...errorResponses(400, { 400: ['invalid_grant'] }, 401, 403, 413, 415, 503),
        },
      },
    },
    async (request, reply) => {
      const passkey = await passkeys.register(
        request.auth!.claims.sub,
        request.body.response as RegistrationResponseJSON,
        request.body.name,
        request.auth!.claims.sid,
        requestAuditContext(request),
      )
      return reply.code(201).send(passkey)
    },
  )

  app.get(
    '/v1/me/passkeys',
    {
      config: { scopes: ['profile:read'] },
      schema: {
        operationId: 'listPasskeys',
        summary: "The calling user's passkeys",
        description: 'Name, creation time and last use of each; never a key or credential id.',
        tags: ['me'],
        response: {
          200: z.object({ passkeys: z.array(passkeySchema).max(1000) }),
          ...errorResponses(400, 401, 403, 503),
        },
      },
    },
    async (request) => ({ passkeys: await passkeys.list(request.auth!.claims.sub) }),
  )

  app.patch(
    '/v1/me/passkeys/:id',
    {
      config: { scopes: ['profile:write'] },
      schema: {
        operationId: 'renamePasskey',
        summary: 'Rename a passkey',
        description: "404 not_found for an unknown id or another user's.",
        tags: ['me'],
        params: idParams,
        body: z.object({ name: passkeyNameSchema }),
        response: { 200: passkeySchema, ...errorResponses(400, 401, 403, 404, 413, 415, 503) },
      },
    },
    async (request) => passkeys.rename(request.auth!.claims.sub, request.params.id, request.body.name),
  )

  app.delete(
    '/v1/me/passkeys/:id',
    {
      config: { scopes: ['profile:write'] },
      schema: {
        operationId: 'deletePasskey',
        summary: 'Remove a passkey',
        description:
          "404 not_found for an unknown id or another user's. Every other session of the user ends; the calling session stays.",
        tags: ['me'],
        params: idParams,
        response: {
          204: z.null().describe('The passkey is removed'),
          ...errorResponses(400, 401, 403, 404, 503),
        },
      },
    },
    async (request, reply) => {
      await passkeys.remove(
        request.auth!.claims.sub,
        request.params.id,
        request.auth!.claims.sid,
        requestAuditContext(request),
      )
      return reply.code(204).send(null)
    },
  )
}
