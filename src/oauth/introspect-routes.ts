import formbody from '@fastify/formbody'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { authenticateClient } from '../clients/authenticate.js'
import type { ClientService } from '../clients/service.js'
import { invalidClient } from '../errors.js'
import { errorResponses, scopeStringSchema } from '../http/schemas.js'
import type { Introspection } from './introspection.js'

// POST /oauth/introspect (RFC 7662). Only registered clients may ask (§2.1: the
// endpoint must be protected, or it would tell anyone whether a stolen token works).

const introspectionRequestSchema = z
  .object({
    token: z.string().max(8192).describe('An access token or a refresh token'),
    token_type_hint: z
      .enum(['access_token', 'refresh_token'])
      .optional()
      .describe('Accepted and not needed: the token is recognised by its shape'),
    client_id: z.string().max(64).optional().describe('client_secret_post authentication'),
    client_secret: z.string().max(512).optional().describe('client_secret_post authentication'),
  })
  .meta({ id: 'IntrospectionRequest' })

const introspectionResponseSchema = z
  .object({
    active: z.boolean(),
    scope: scopeStringSchema.optional(),
    client_id: z.string().max(64).optional(),
    sub: z.string().max(255).optional(),
    exp: z.int().min(0).meta({ format: 'int64' }).optional(),
    iat: z.int().min(0).meta({ format: 'int64' }).optional(),
    iss: z.string().max(2048).meta({ format: 'uri' }).optional(),
    aud: z.string().max(2048).optional(),
    jti: z.string().max(255).optional(),
    sid: z.uuid().max(36).optional().describe('The session (refresh-token family) the token belongs to'),
    amr: z
      .array(z.string().max(16))
      .max(10)
      .optional()
      .describe(
        'RFC 8176 methods of the login the token comes from: ["pwd"], ["pwd","otp","mfa"], or with a passkey ["hwk","user","mfa"] (swk for a synced passkey)',
      ),
    auth_time: z
      .int()
      .min(0)
      .meta({ format: 'int64' })
      .optional()
      .describe('When the user logged in (epoch seconds); refreshes keep it'),
    token_type: z
      .enum(['Bearer', 'DPoP'])
      .optional()
      .describe('Access tokens only (RFC 7662 §2.2): DPoP for a DPoP-bound token (RFC 9449 §6.2)'),
    cnf: z
      .object({ jkt: z.string().length(43).describe('RFC 7638 SHA-256 thumbprint of the bound key') })
      .optional()
      .describe('RFC 9449 §6.2: the DPoP key the access token is bound to'),
    token_use: z.enum(['access_token', 'refresh_token']).optional().describe('Which kind of token it is'),
  })
  .meta({
    id: 'IntrospectionResponse',
    description: 'RFC 7662 §2.2. An invalid, expired, revoked or unknown token is exactly {"active": false}.',
  })

export interface IntrospectRouteOptions {
  clients: ClientService
  introspection: Introspection
}

export const introspectRoutes: FastifyPluginAsyncZod<IntrospectRouteOptions> = async (
  app,
  { clients, introspection },
) => {
  await app.register(formbody, { bodyLimit: 65536 })

  app.post(
    '/oauth/introspect',
    {
      config: { limit: 'introspect' },
      schema: {
        operationId: 'introspectToken',
        summary: 'Introspection endpoint (RFC 7662): is this token active, and what does it carry?',
        description:
          'Needs a registered client: HTTP Basic (client_secret_basic) or client_id and client_secret in the body (client_secret_post); otherwise 401 invalid_client. Access tokens are checked like a bearer check, and are inactive once the session named by their sid is revoked; refresh tokens are active while a refresh with them would succeed, and only their own client sees those of a registered client.',
        tags: ['oauth'],
        consumes: ['application/x-www-form-urlencoded', 'application/json'],
        security: [{ clientBasic: [] }],
        body: introspectionRequestSchema,
        response: {
          200: introspectionResponseSchema,
          ...errorResponses(400, { 401: ['invalid_client'] }, 413, 415, 503),
        },
      },
    },
    async (request, reply) => {
      const client = await authenticateClient(request, clients)
      if (!client)
        throw invalidClient('Introspection needs client authentication (HTTP Basic or client_secret).')
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
      return introspection.introspect(request.body.token, client.client.client_id)
    },
  )
}
