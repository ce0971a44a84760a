import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { Services } from '../services.js'

// Served from memory only, so both keep answering while the database is down.

const JWKS_MAX_AGE = 300

const jwkSchema = z.looseObject({
  kty: z.string(),
  kid: z.string(),
  alg: z.string(),
  use: z.string().optional(),
})

export const wellKnownRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  const { keys, config } = services
  const base = config.issuer

  app.get(
    '/.well-known/jwks.json',
    {
      schema: {
        operationId: 'getJwks',
        summary: 'JSON Web Key Set (RFC 7517): public keys that verify access tokens',
        tags: ['discovery'],
        response: { 200: z.object({ keys: z.array(jwkSchema) }).meta({ id: 'JWKS' }) },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', `public, max-age=${JWKS_MAX_AGE}, stale-while-revalidate=60`)
      return keys.jwks() as { keys: Array<z.infer<typeof jwkSchema>> }
    },
  )

  const metadata = {
    issuer: config.issuer,
    token_endpoint: `${base}/oauth/token`,
    jwks_uri: `${base}/.well-known/jwks.json`,
    revocation_endpoint: `${base}/oauth/revoke`,
    introspection_endpoint: `${base}/oauth/introspect`,
    grant_types_supported: ['password', 'refresh_token', 'client_credentials'],
    response_types_supported: [] as string[],
    scopes_supported: [...config.scopes],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    service_documentation: `${base}/docs`,
  }

  app.get(
    '/.well-known/oauth-authorization-server',
    {
      schema: {
        operationId: 'getAuthorizationServerMetadata',
        summary: 'Authorization server metadata (RFC 8414)',
        tags: ['discovery'],
        response: {
          200: z
            .object({
              issuer: z.string(),
              token_endpoint: z.string(),
              jwks_uri: z.string(),
              revocation_endpoint: z.string(),
              introspection_endpoint: z.string(),
              grant_types_supported: z.array(z.string()),
              response_types_supported: z.array(z.string()),
              scopes_supported: z.array(z.string()),
              token_endpoint_auth_methods_supported: z.array(z.string()),
              revocation_endpoint_auth_methods_supported: z.array(z.string()),
              introspection_endpoint_auth_methods_supported: z.array(z.string()),
              service_documentation: z.string(),
            })
            .meta({ id: 'AuthorizationServerMetadata' }),
        },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=3600')
      return metadata
    },
  )
}
