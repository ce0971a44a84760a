import swagger from '@fastify/swagger'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod'
import { securitySchemes } from '../openapi/components.js'
import { finishDocument } from '../openapi/document.js'
import { BADGE_VERSION } from '../openapi/version.js'

// The OpenAPI 3.1 document is generated from the routes' zod schemas: one source of
// truth for validation, types and docs. `npm run openapi` writes it to openapi.yaml;
// /openapi.json serves it; src/openapi/document.ts adds what holds for every route.

const DESCRIPTION = `Stateless JWT authentication: RFC 9068 access tokens, rotated refresh tokens, a JWKS for resource servers.

- **Log in** with \`POST /oauth/token\` (the OAuth 2.0 password grant), form-encoded or JSON, and call the other routes with \`Authorization: Bearer <access_token>\`.
- **Any OAuth 2.0 library** can be pointed at the server metadata, \`/.well-known/oauth-authorization-server\` (RFC 8414).
- **Errors** are always \`{"error", "error_description"}\`; each response below lists the \`error\` codes it can carry.
- **Rate limits**: operations that can answer 429 send \`X-RateLimit-*\` headers and \`Retry-After\`.
- **CORS** is off unless \`CORS_ORIGINS\` lists your app's origins; then \`/oauth/*\` and \`/v1/*\` answer those origins only.`

// Relative: the document describes whichever server serves it. x-internal: false says
// the API is meant for the public (OWASP API9 inventory).
const SERVERS = [
  { url: '/', description: 'This Badge server (local, staging or production)', 'x-internal': false },
]

declare module 'fastify' {
  interface FastifySchema {
    /** The JSON body may be left out entirely (@fastify/swagger otherwise marks every body required). */
    'x-body-optional'?: boolean
  }
}

type Operation = { 'x-body-optional'?: boolean; requestBody?: { required?: boolean; content?: object } }

/** Routes marked `'x-body-optional': true` get `requestBody.required: false` and no `null` alternative. */
function markOptionalBodies<T>(document: T): T {
  const paths = (document as { paths?: Record<string, Record<string, Operation>> }).paths ?? {}
  for (const operation of Object.values(paths).flatMap((p) => Object.values(p))) {
    if (!operation?.['x-body-optional']) continue
    delete operation['x-body-optional']
    if (!operation.requestBody) continue
    operation.requestBody.required = false
    for (const media of Object.values(operation.requestBody.content ?? {}) as Array<{
      schema?: { anyOf?: object[] }
    }>) {
      const options = media.schema?.anyOf?.filter((s) => (s as { type?: string }).type !== 'null')
      if (options?.length === 1) media.schema = options[0]!
    }
  }
  return document
}

export interface OpenApiOptions {
  /** SCOPES, listed in the oauth2 security scheme. */
  scopes: readonly string[]
}

async function openapi(app: FastifyInstance, { scopes }: OpenApiOptions) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Badge',
        version: BADGE_VERSION,
        description: DESCRIPTION,
        license: { name: 'MIT', identifier: 'MIT' },
      },
      servers: SERVERS,
      components: { securitySchemes: securitySchemes(scopes) },
      tags: [
        { name: 'oauth', description: 'OAuth 2.0 token, revocation and introspection endpoints' },
        {
          name: 'discovery',
          description: 'Server metadata and the signing keys resource servers verify tokens with',
        },
        { name: 'users', description: 'Sign-up' },
        { name: 'me', description: 'The calling user: profile, password, sessions' },
        {
          name: 'account',
          description: 'Account lifecycle by emailed link: email verification, password reset',
        },
        { name: 'admin', description: 'Administration (scope admin): users, clients, signing keys' },
        { name: 'health', description: 'Liveness and readiness probes' },
      ],
    },
    transform: jsonSchemaTransform,
    transformObject: (document) => finishDocument(markOptionalBodies(jsonSchemaTransformObject(document))),
  })

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}

export const openapiPlugin = fp(openapi, { name: 'badge-openapi', fastify: '5.x' })
