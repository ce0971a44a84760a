import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { BadgeDatabase } from '../db/index.js'
import { UnavailableError } from '../errors.js'
import { errorResponses } from '../http/schemas.js'

const READY_TIMEOUT_MS = 2000

const statusSchema = z
  .object({ status: z.literal('ok') })
  .meta({ id: 'HealthStatus', examples: [{ status: 'ok' }] })

export interface HealthRouteOptions {
  database: Pick<BadgeDatabase, 'ping'>
  /** True once a graceful shutdown began: load balancers must stop sending traffic here. */
  draining?: () => boolean
}

export const healthRoutes: FastifyPluginAsyncZod<HealthRouteOptions> = async (
  app,
  { database, draining = () => false },
) => {
  app.get(
    '/health/live',
    {
      schema: {
        operationId: 'getLiveness',
        summary: 'The process is up',
        description: 'For liveness probes: answers without touching the database.',
        tags: ['health'],
        response: { 200: statusSchema },
      },
    },
    async () => ({ status: 'ok' as const }),
  )

  app.get(
    '/health/ready',
    {
      schema: {
        operationId: 'getReadiness',
        summary: 'Ready to serve: the database answers',
        description:
          'For readiness probes and load balancers: 503 while the database is unreachable, and from the moment a graceful shutdown (SIGTERM) begins.',
        tags: ['health'],
        response: { 200: statusSchema, ...errorResponses(503) },
      },
    },
    async () => {
      if (draining()) throw new UnavailableError('Badge is shutting down.')
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new UnavailableError('The database does not answer.')),
          READY_TIMEOUT_MS,
        )
      })
      try {
        await Promise.race([database.ping(), timeout])
      } catch {
        throw new UnavailableError('The database does not answer.')
      } finally {
        clearTimeout(timer)
      }
      return { status: 'ok' as const }
    },
  )
}
