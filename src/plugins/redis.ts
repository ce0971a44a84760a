import type { FastifyBaseLogger } from 'fastify'
import { Redis } from 'ioredis'

// The Redis connection behind shared rate-limit counters. Redis is an optimisation of
// abuse limits, never a dependency of signing in: every command fails fast while
// Redis is away (no offline queue, short timeouts) and callers fail open.

const COMMAND_TIMEOUT_MS = 1000
const CONNECT_WAIT_MS = 2000

export async function connectRedis(url: string, log: FastifyBaseLogger): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: CONNECT_WAIT_MS,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  })
  // Log changes of state, not every failed reconnect attempt.
  let down = false
  redis.on('error', (err) => {
    if (down) return
    down = true
    log.warn({ err }, 'Redis is unreachable: rate limits fail open until it returns')
  })
  redis.on('ready', () => {
    if (!down) return
    down = false
    log.info('Redis is reachable again: rate limits are shared again')
  })
  // Start serving even when Redis is down; it reconnects in the background.
  await redis.connect().catch(() => {})
  return redis
}
