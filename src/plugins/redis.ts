import type { FastifyBaseLogger } from 'fastify'
import { Redis } from 'ioredis'

// The Redis connection behind shared rate-limit counters. Redis is never a dependency
// of signing in: every command fails fast while Redis is away (no offline queue, short
// timeouts); failed-login counters then fall back to memory (per instance) and the
// per-address request limits are skipped (fail open).

const COMMAND_TIMEOUT_MS = 1000
const CONNECT_WAIT_MS = 2000
const WATCHDOG_INTERVAL_MS = 5000

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
  const wentDown = (err: unknown) => {
    if (down) return
    down = true
    log.warn(
      { err },
      'Redis is unreachable: until it returns, failed logins are limited per instance and request limits are skipped',
    )
  }
  redis.on('error', wentDown)
  redis.on('ready', () => {
    if (!down) return
    down = false
    log.info('Redis is reachable again: rate limits are shared again')
  })
  // A connection that went silent (a partition, a firewall forgetting the flow) times
  // out every command but is never closed by itself: ping it, and reconnect if it does
  // not answer, so counters are shared again as soon as Redis is reachable.
  const watchdog = setInterval(() => {
    if (redis.status !== 'ready') return
    redis.ping().catch((err) => {
      wentDown(err)
      if (redis.status === 'ready') redis.disconnect(true)
    })
  }, WATCHDOG_INTERVAL_MS).unref()
  redis.once('end', () => clearInterval(watchdog))
  // Start serving even when Redis is down; it reconnects in the background.
  await redis.connect().catch(() => {})
  return redis
}
