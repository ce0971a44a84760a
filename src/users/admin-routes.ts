import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { requestAuditContext } from '../audit/request-context.js'
import { adminUserSchema, errorResponses } from '../http/schemas.js'
import type { AdminUserService } from './admin-service.js'
import { toAdminUser } from './service.js'

// User administration (scope `admin`, docs/contract.md §3). Unknown ids, including ones that
// are not UUIDs, are 404 not_found.

const userIdParams = z.object({
  id: z.string().max(200).describe('The user id (a UUID; anything else is 404)'),
})

const userPageSchema = z
  .object({
    items: z.array(adminUserSchema).max(100),
    next_cursor: z
      .string()
      .max(200)
      .nullable()
      .describe('Pass as ?cursor= for the next page; null on the last page. Opaque.'),
  })
  .meta({ id: 'AdminUserPage' })

const scopeListSchema = z
  .array(z.string().min(1).max(200))
  .max(100)
  .describe('Every scope must be listed in SCOPES (else 400 invalid_scope); replaces the current list.')

export interface AdminUserRouteOptions {
  adminUsers: AdminUserService
}

export const adminUserRoutes: FastifyPluginAsyncZod<AdminUserRouteOptions> = async (app, { adminUsers }) => {
  const admin = { config: { scopes: ['admin'] } }

  app.get(
    '/v1/admin/users',
    {
      ...admin,
      schema: {
        operationId: 'listUsers',
        summary: 'List users, oldest first, a page at a time',
        description:
          'Ordered by (created_at, id). Following next_cursor walks every user exactly once, even while users are being added. A malformed cursor is 400 invalid_request.',
        tags: ['admin'],
        querystring: z.object({
          limit: z.coerce
            .number()
            .int()
            .min(1)
            .max(100)
            .default(20)
            .meta({ format: 'int32' })
            .describe('Page size, 1 to 100'),
          cursor: z.string().max(200).optional().describe('next_cursor from the previous page'),
        }),
        response: { 200: userPageSchema, ...errorResponses(400, 401, 403, 503) },
      },
    },
    async (request) => {
      const page = await adminUsers.listUsers(request.query)
      return { items: page.users.map(toAdminUser), next_cursor: page.nextCursor }
    },
  )

  app.get(
    '/v1/admin/users/:id',
    {
      ...admin,
      schema: {
        operationId: 'getUser',
        summary: 'One user',
        description:
          'The user with this id, including whether it is disabled. 404 not_found for an unknown id.',
        tags: ['admin'],
        params: userIdParams,
        response: { 200: adminUserSchema, ...errorResponses(400, 401, 403, 404, 503) },
      },
    },
    async (request) => toAdminUser(await adminUsers.getUser(request.params.id)),
  )

  app.patch(
    '/v1/admin/users/:id',
    {
      ...admin,
      schema: {
        operationId: 'updateUser',
        summary: "Change a user's scopes or disable them",
        description:
          'Disabling revokes every session of the user; logging in and refreshing then fail with invalid_grant, exactly as for a wrong password. Access tokens already issued are refused from then on (GET /v1/revocations). 409 conflict when the change would leave no enabled user holding admin.',
        tags: ['admin'],
        params: userIdParams,
        body: z.strictObject({
          scopes: scopeListSchema.optional(),
          disabled: z.boolean().optional().describe('true disables the user, false enables them again'),
        }),
        response: {
          200: adminUserSchema,
          ...errorResponses(
            400,
            { 400: ['invalid_scope'] },
            401,
            403,
            404,
            { 409: ['conflict'] },
            413,
            415,
            503,
          ),
        },
      },
    },
    async (request) =>
      toAdminUser(
        await adminUsers.updateUser(request.params.id, request.body, requestAuditContext(request), {
          keepAnAdmin: true,
        }),
      ),
  )

  app.delete(
    '/v1/admin/users/:id',
    {
      ...admin,
      schema: {
        operationId: 'deleteUser',
        summary: 'Delete a user and their sessions',
        description:
          'Removes the user and revokes every session; access tokens already issued are refused from then on (GET /v1/revocations). 404 not_found for an unknown id.',
        tags: ['admin'],
        params: userIdParams,
        response: { 204: z.null().describe('Deleted'), ...errorResponses(400, 401, 403, 404, 503) },
      },
    },
    async (request, reply) => {
      await adminUsers.deleteUser(request.params.id, requestAuditContext(request))
      return reply.code(204).send(null)
    },
  )
}
