import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { BADGE_VERSION } from '../openapi/version.js'

// GET /: whoever opens the bare address (a person, curl) learns where to go next
// instead of meeting a 404. Links are relative, so they hold behind any proxy.

const rootSchema = z
  .object({
    name: z.literal('Badge'),
    version: z.string().max(64).describe('The package version, as in the OpenAPI document'),
    docs: z.literal('/docs').describe('Interactive documentation (Swagger UI)'),
    openapi: z.literal('/openapi.json').describe('The OpenAPI 3.1 document'),
    metadata: z.literal('/.well-known/oauth-authorization-server').describe('RFC 8414 server metadata'),
    jwks: z.literal('/.well-known/jwks.json').describe('The public signing keys'),
  })
  .meta({ id: 'Root' })

export const rootRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/',
    {
      schema: {
        operationId: 'getRoot',
        summary: 'Where to start: links to the docs, the OpenAPI document and the metadata',
        description: 'Needs nothing and touches no database.',
        tags: ['discovery'],
        response: { 200: rootSchema },
      },
    },
    async () => ({
      name: 'Badge' as const,
      version: BADGE_VERSION,
      docs: '/docs' as const,
      openapi: '/openapi.json' as const,
      metadata: '/.well-known/oauth-authorization-server' as const,
      jwks: '/.well-known/jwks.json' as const,
    }),
  )
}
