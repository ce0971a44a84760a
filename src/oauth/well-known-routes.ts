import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { scopeListSchema } from '../http/schemas.js'
import type { KeyStore } from '../keys/key-store.js'
import { DPOP_ALGS } from '../verify/dpop/proof-key.js'

// Served from memory only, so both keep answering while the database is down.

const JWKS_MAX_AGE = 300

// The public JWK members Badge publishes per key type (RFC 7517, RFC 7518, RFC 8037).
const b64url = z
  .string()
  .max(1024)
  .regex(/^[A-Za-z0-9_-]+$/)
const jwkSchema = z
  .object({
    kty: z.enum(['OKP', 'EC', 'RSA']),
    kid: b64url.max(255),
    alg: z.enum(['EdDSA', 'ES256', 'RS256']),
    use: z.literal('sig'),
    crv: z.enum(['Ed25519', 'P-256']).optional().describe('OKP and EC keys'),
    x: b64url.optional().describe('OKP and EC keys'),
    y: b64url.optional().describe('EC keys'),
    n: b64url.optional().describe('RSA keys'),
    e: b64url.optional().describe('RSA keys'),
  })
  .meta({ id: 'JWK' })

const url = z.string().max(2048).meta({ format: 'uri' })
const authMethods = z.array(z.enum(['client_secret_basic', 'client_secret_post', 'none'])).max(3)

export const metadataSchema = z
  .object({
    issuer: url,
    token_endpoint: url,
    jwks_uri: url,
    revocation_endpoint: url,
    introspection_endpoint: url,
    grant_types_supported: z
      .array(
        z.enum([
          'password',
          'refresh_token',
          'client_credentials',
          'urn:badge:grant-type:mfa',
          'urn:badge:grant-type:passkey',
        ]),
      )
      .max(5),
    response_types_supported: z
      .array(z.string().max(64))
      .max(0)
      .describe('Empty: Badge has no authorization endpoint'),
    scopes_supported: scopeListSchema,
    token_endpoint_auth_methods_supported: authMethods,
    revocation_endpoint_auth_methods_supported: authMethods,
    introspection_endpoint_auth_methods_supported: authMethods,
    service_documentation: url,
    dpop_signing_alg_values_supported: z
      .array(z.enum(DPOP_ALGS))
      .max(DPOP_ALGS.length)
      .describe('RFC 9449 §5.1: the JWS algorithms Badge accepts in DPoP proofs'),
  })
  .meta({ id: 'AuthorizationServerMetadata' })

export interface WellKnownRouteOptions {
  keys: KeyStore
  /** ISSUER */
  issuer: string
  /** SCOPES */
  scopes: readonly string[]
}

export const wellKnownRoutes: FastifyPluginAsyncZod<WellKnownRouteOptions> = async (
  app,
  { keys, issuer, scopes },
) => {
  const base = issuer

  app.get(
    '/.well-known/jwks.json',
    {
      schema: {
        operationId: 'getJwks',
        summary: 'JSON Web Key Set (RFC 7517): public keys that verify access tokens',
        description:
          'Every key that may still have unexpired tokens. Resource servers cache it and fetch it again when a token names an unknown kid. Answers from memory, also while the database is down.',
        tags: ['discovery'],
        response: {
          // Far above MAX_USABLE_KEYS (keys/key-store.ts): the JWKS must never fail its own schema.
          200: z.object({ keys: z.array(jwkSchema).max(10000) }).meta({
            id: 'JWKS',
            examples: [
              {
                keys: [
                  {
                    kty: 'OKP',
                    crv: 'Ed25519',
                    x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
                    kid: 'QmzC1s0aTjW1CqgS6Fq3dJ7c7yJb8v6d2kQ0Xo0o9pA',
                    alg: 'EdDSA',
                    use: 'sig',
                  },
                ],
              },
            ],
          }),
        },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', `public, max-age=${JWKS_MAX_AGE}, stale-while-revalidate=60`)
      // HS256 keys are never in the set (docs/contract.md §2), so every published key has one of these shapes.
      return keys.jwks() as { keys: Array<z.infer<typeof jwkSchema>> }
    },
  )

  const metadata: z.output<typeof metadataSchema> = {
    issuer,
    token_endpoint: `${base}/oauth/token`,
    jwks_uri: `${base}/.well-known/jwks.json`,
    revocation_endpoint: `${base}/oauth/revoke`,
    introspection_endpoint: `${base}/oauth/introspect`,
    grant_types_supported: [
      'password',
      'refresh_token',
      'client_credentials',
      'urn:badge:grant-type:mfa',
      'urn:badge:grant-type:passkey',
    ],
    response_types_supported: [],
    scopes_supported: [...scopes],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    service_documentation: `${base}/docs`,
    dpop_signing_alg_values_supported: [...DPOP_ALGS],
  }

  app.get(
    '/.well-known/oauth-authorization-server',
    {
      schema: {
        operationId: 'getAuthorizationServerMetadata',
        summary: 'Authorization server metadata (RFC 8414)',
        description:
          'Endpoints, grants, scopes and client authentication methods, for OAuth 2.0 client libraries.',
        tags: ['discovery'],
        response: {
          200: metadataSchema,
        },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=3600')
      return metadata
    },
  )
}
