import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { requestAuditContext } from '../audit/request-context.js'
import { errorResponses, scopeListSchema } from '../http/schemas.js'
import { type ClientService, toPublicClient } from './service.js'

// Registered clients for service-to-service calls (scope `admin`, docs/contract.md §3).

const clientSchema = z
  .object({
    client_id: z.string().max(64),
    name: z.string().max(200),
    scopes: scopeListSchema,
    created_at: z.iso.datetime().max(32),
  })
  .meta({ id: 'Client' })

const createdClientSchema = clientSchema
  .extend({
    client_secret: z
      .string()
      .max(512)
      .describe('Shown once, in this response only; Badge keeps just a hash.'),
  })
  .meta({ id: 'CreatedClient' })

export interface ClientRouteOptions {
  clients: ClientService
}

export const clientRoutes: FastifyPluginAsyncZod<ClientRouteOptions> = async (app, { clients }) => {
  const admin = { config: { scopes: ['admin'] } }

  app.post(
    '/v1/admin/clients',
    {
      ...admin,
      schema: {
        operationId: 'createClient',
        summary: 'Register a client for the client_credentials grant',
        description:
          'Returns the client_secret once; store it now. Every scope must be listed in SCOPES (else 400 invalid_scope).',
        tags: ['admin'],
        body: z.strictObject({
          name: z.string().trim().min(1).max(200).describe('Who this client is, for people'),
          // No scopes is a client that only introspects (or revokes): it authenticates, never acts.
          scopes: z
            .array(z.string().min(1).max(200))
            .max(100)
            .describe('Scopes from SCOPES it may request; [] for a client that only introspects'),
        }),
        response: {
          201: createdClientSchema,
          ...errorResponses(400, { 400: ['invalid_scope'] }, 401, 403, 413, 415, 503),
        },
      },
    },
    async (request, reply) => {
      const { client, clientSecret } = await clients.createClient(request.body, requestAuditContext(request))
      // The secret must not linger in any cache.
      reply.code(201).header('cache-control', 'no-store')
      return { ...toPublicClient(client), client_secret: clientSecret }
    },
  )

  app.get(
    '/v1/admin/clients',
    {
      ...admin,
      schema: {
        operationId: 'listClients',
        summary: 'List registered clients, oldest first (never their secrets)',
        description:
          'Every registered client with its scopes; secrets are stored hashed and never shown again.',
        tags: ['admin'],
        response: {
          200: z.object({ items: z.array(clientSchema).max(1000) }).meta({ id: 'ClientList' }),
          ...errorResponses(400, 401, 403, 503),
        },
      },
    },
    async () => ({ items: (await clients.listClients()).map(toPublicClient) }),
  )

  app.delete(
    '/v1/admin/clients/:id',
    {
      ...admin,
      schema: {
        operationId: 'deleteClient',
        summary: 'Delete a client',
        description:
          'Its credentials stop working at once and sessions users opened through it are revoked; their access tokens are refused from then on (GET /v1/revocations); client_credentials access tokens stay valid until they expire.',
        tags: ['admin'],
        params: z.object({ id: z.string().max(200).describe('The client_id') }),
        response: { 204: z.null().describe('Deleted'), ...errorResponses(400, 401, 403, 404, 503) },
      },
    },
    async (request, reply) => {
      await clients.deleteClient(request.params.id, requestAuditContext(request))
      return reply.code(204).send(null)
    },
  )
}
