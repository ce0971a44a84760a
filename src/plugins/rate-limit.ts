import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Redis } from 'ioredis'
import type { Config, Limit } from '../config.js'
import { tooManyRequests } from '../errors.js'
import { clientAddress } from '../http/client-address.js'
import type { RouteLimit } from './route-security.js'

// docs/contract.md §7 per-address limits on the endpoints anyone can call without a token.
// Counters live in Redis when REDIS_URL is set (shared by every instance), in memory
// otherwise. A Redis failure skips the limit (fail open): abuse limits must not turn
// a Redis outage into a sign-in outage. The failed-login limit per account lives in
// throttle/login-throttle.ts; this file only counts requests per address.

export interface RateLimitOptions {
  limits: Config['rateLimits']
  redis?: Redis
  keyPrefix: string
  /** Told the name of the limit that refused a request (the metrics' badge_rate_limited_total). */
  onLimited?: (limit: RouteLimit) => void
}

async function rateLimits(app: FastifyInstance, { limits, redis, keyPrefix, onLimited }: RateLimitOptions) {
  // Each route names its limit once, in its config (plugins/route-security.ts). Runs
  // before @fastify/rate-limit's own onRoute hook (registered next), which reads config.rateLimit.
  app.addHook('onRoute', (route) => {
    const name = (route.config as { limit?: RouteLimit } | undefined)?.limit
    if (!name) return
    const limit: Limit = limits[name]
    route.config = { ...route.config, rateLimit: { max: limit.max, timeWindow: limit.windowMs } }
  })
  await app.register(rateLimit, {
    global: false,
    hook: 'onRequest',
    keyGenerator: clientAddress,
    ...(redis ? { redis, nameSpace: `${keyPrefix}rl:` } : {}),
    skipOnError: true,
    // Only on a refusal, so reading the route's options (an object per call) costs nothing otherwise.
    ...(onLimited && {
      onExceeded: (request) => {
        const limit = (request.routeOptions.config as { limit?: RouteLimit }).limit
        if (limit) onLimited(limit)
      },
    }),
    errorResponseBuilder: (_request, context) =>
      tooManyRequests(context.ttl / 1000, `Too many requests from this address; retry in ${context.after}.`),
  })
}

export const rateLimitPlugin = fp(rateLimits, {
  name: 'badge-rate-limit',
  fastify: '5.x',
  // Its 429s are BadgeErrors, written by the error handler.
  dependencies: ['badge-error-handler'],
})
