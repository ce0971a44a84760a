import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { requestAuditContext } from '../audit/request-context.js'
import { SIGNING_ALGS, type SigningAlg } from '../config.js'
import { errorResponses } from '../http/schemas.js'
import type { KeyStore } from './key-store.js'

const algSchema = z.enum(SIGNING_ALGS)

const rotatedKeySchema = z
  .object({ kid: z.string().max(255), alg: algSchema })
  .meta({ id: 'RotatedKey', example: { kid: 'gN9-3c7cNmg2i1T9fcsbIbcG1BRQVA6H-FxeLcZFyLU', alg: 'EdDSA' } })

/** A bounded answer (OWASP API4): years of daily rotation stay under it. */
const MAX_LISTED_KEYS = 1000

const isoOrNull = z.iso.datetime().max(32).nullable()

const keyInfoSchema = z
  .object({
    kid: z.string().max(255),
    alg: z.string().max(16),
    status: z.enum(['next', 'active', 'retiring', 'retired']),
    created_at: z.iso.datetime().max(32),
    activated_at: isoOrNull,
    retiring_at: isoOrNull.describe('When it stopped signing; it stays in the JWKS until its tokens expire.'),
    retired_at: isoOrNull,
  })
  .meta({ id: 'SigningKey' })

export interface KeyRouteOptions {
  keys: KeyStore
  /** SIGNING_ALG: what a rotation without an explicit alg generates. */
  signingAlg: SigningAlg
}

export const keyRoutes: FastifyPluginAsyncZod<KeyRouteOptions> = async (app, { keys, signingAlg }) => {
  app.post(
    '/v1/admin/keys/rotate',
    {
      config: { scopes: ['admin'] },
      schema: {
        operationId: 'rotateSigningKey',
        summary: 'Rotate the signing key',
        description:
          'Creates a new signing key and makes it active at once; every instance picks it up on its next reload ' +
          '(within a minute, or on the first token naming it). The previous key stops signing but stays in the ' +
          "JWKS until every token it signed has expired. `alg` picks this key's algorithm (default SIGNING_ALG); " +
          'automatic rotations always use SIGNING_ALG. HS256 keys are never published in the JWKS. ' +
          '409 conflict while 20 keys are still published (retiring keys stay until their tokens expire).',
        tags: ['admin'],
        body: z
          .object({ alg: algSchema.optional().describe('Algorithm of the new key; default SIGNING_ALG.') })
          .strict()
          // No body at all is fine (fastify hands the schema null for it).
          .nullish(),
        'x-body-optional': true,
        response: {
          201: rotatedKeySchema,
          ...errorResponses(400, 401, 403, { 409: ['conflict'] }, 413, 415, 503),
        },
      },
    },
    async (request, reply) => {
      const rotated = await keys.rotate(request.body?.alg ?? signingAlg, requestAuditContext(request))
      request.log.info({ kid: rotated.kid, by: request.auth!.claims.sub }, 'signing key rotated by an admin')
      return reply.code(201).header('cache-control', 'no-store').send(rotated)
    },
  )

  app.get(
    '/v1/admin/keys',
    {
      config: { scopes: ['admin'] },
      schema: {
        operationId: 'listSigningKeys',
        summary: 'List signing keys',
        description:
          'Every signing key, newest first, with its lifecycle status and times. Never private material.',
        tags: ['admin'],
        response: {
          200: z
            .object({
              items: z.array(keyInfoSchema).max(MAX_LISTED_KEYS).describe('Newest first; at most 1000'),
            })
            .meta({ id: 'SigningKeyList' }),
          ...errorResponses(400, 401, 403, 503),
        },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'no-store')
      return { items: (await keys.listKeys()).slice(0, MAX_LISTED_KEYS) }
    },
  )
}
