import swagger from '@fastify/swagger'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod'

// The OpenAPI 3.1 document is generated from the routes' zod schemas: one source of
// truth for validation, types and docs. `npm run openapi` writes it to openapi.yaml.

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

async function openapi(app: FastifyInstance, { issuer }: { issuer: string }) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Badge',
        version: '1.0.0',
        description:
          'Stateless JWT authentication API: RFC 9068 access tokens, rotated refresh tokens, JWKS for resource servers.',
        license: { name: 'MIT', identifier: 'MIT' },
      },
      servers: [{ url: issuer }],
      tags: [
        { name: 'oauth', description: 'OAuth 2.0 token, revocation and introspection endpoints' },
        { name: 'discovery', description: 'Server metadata and signing keys' },
        { name: 'users', description: 'Sign-up' },
        { name: 'me', description: 'The calling user' },
        { name: 'admin', description: 'Administration (scope admin): users and clients' },
        { name: 'health', description: 'Liveness and readiness' },
      ],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          clientBasic: {
            type: 'http',
            scheme: 'basic',
            description:
              'A registered client: client_id and client_secret (client_secret_basic, RFC 6749 §2.3.1)',
          },
        },
      },
    },
    transform: jsonSchemaTransform,
    transformObject: (input) => markOptionalBodies(jsonSchemaTransformObject(input)),
  })

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}

export const openapiPlugin = fp(openapi, { name: 'badge-openapi', fastify: '5.x' })
