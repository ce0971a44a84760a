import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { errorResponses } from '../http/schemas.js'
import { authenticationOptionsSchema } from './schemas.js'
import type { PasskeyService } from './service.js'

// POST /oauth/passkey/options (docs/contract.md §10): the first step of a passkey login.
// No authentication: the user is whoever's discoverable credential signs the challenge.

export interface PasskeyLoginRouteOptions {
  passkeys: Pick<PasskeyService, 'loginOptions'>
}

export const passkeyLoginRoutes: FastifyPluginAsyncZod<PasskeyLoginRouteOptions> = async (
  app,
  { passkeys },
) => {
  app.post(
    '/oauth/passkey/options',
    {
      config: { limit: 'token' },
      schema: {
        operationId: 'passkeyLoginOptions',
        summary: 'Start a passkey login',
        description:
          'WebAuthn request options for a discoverable credential, and passkey_session, an opaque handle for them (5 minutes, one use). Sign with navigator.credentials.get() and send passkey_session and the JSON of the response as credential to POST /oauth/token with grant_type=urn:badge:grant-type:passkey (or, after mfa_required, with the mfa grant).',
        tags: ['oauth'],
        response: {
          200: z
            .object({
              options: authenticationOptionsSchema,
              passkey_session: z
                .string()
                .max(64)
                .regex(/^[A-Za-z0-9_-]+$/)
                .describe('Send back with the credential; one use, 5 minutes.'),
            })
            .meta({ id: 'PasskeyLoginOptions' }),
          ...errorResponses(503),
        },
      },
    },
    async (_request, reply) => {
      const { options, passkey_session } = await passkeys.loginOptions()
      // The library's option types are interfaces (no index signature); the schema checks the value.
      return reply
        .header('cache-control', 'no-store')
        .header('pragma', 'no-cache')
        .send({
          options: options as unknown as z.input<typeof authenticationOptionsSchema>,
          passkey_session,
        })
    },
  )
}
