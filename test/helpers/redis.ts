import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'

// Redis tests run when TEST_REDIS_URL is set (CI sets it) and are reported as skipped
// otherwise. Each test uses a key prefix of its own and deletes its keys afterwards.

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL

export const REDIS_SKIP_REASON = 'Redis tests run when TEST_REDIS_URL is set'

/** A fresh key prefix for one test; its keys are deleted when the test ends. */
export function redisPrefix(t: { teardown(fn: () => unknown): void }): string {
  const prefix = `badge-test:${randomBytes(6).toString('hex')}:`
  t.teardown(async () => {
    if (!TEST_REDIS_URL) return
    const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true })
    await redis.connect()
    try {
      const keys = await redis.keys(`${prefix}*`)
      if (keys.length) await redis.del(...keys)
    } finally {
      redis.disconnect()
    }
  })
  return prefix
}

/** Keys under `prefix` now: lets a test prove its counters really live in Redis. */
export async function redisKeys(prefix: string): Promise<string[]> {
  const redis = new Redis(TEST_REDIS_URL!, { lazyConnect: true })
  await redis.connect()
  try {
    return await redis.keys(`${prefix}*`)
  } finally {
    redis.disconnect()
  }
}
