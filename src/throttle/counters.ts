import type { Redis } from 'ioredis'
import type { Clock } from '../clock.js'

// Fixed-window counters behind the failed-login throttle: in memory for one instance,
// in Redis when several instances must share them (docs/contract.md §7).

export interface Hit {
  /** Hits in the current window, this one included. */
  count: number
  /** Milliseconds until the window ends and the count starts again from zero. */
  resetMs: number
}

export interface CounterStore {
  /** Counts one hit on `key`; the first hit opens a window of `windowMs`. Atomic. */
  hit(key: string, windowMs: number): Promise<Hit>
  /** Takes back one hit (a login that turned out to succeed, or never ran). */
  undo(key: string): Promise<void>
  /** Forgets `key` entirely. */
  clear(key: string): Promise<void>
}

/** Entries kept at most, so that an attacker cycling addresses and emails cannot exhaust memory. */
const MEMORY_MAX_KEYS = 100_000

export function createMemoryCounterStore(clock: Clock, maxKeys = MEMORY_MAX_KEYS): CounterStore {
  const counters = new Map<string, { count: number; resetAt: number }>()

  function evict(now: number) {
    for (const [key, entry] of counters) if (entry.resetAt <= now) counters.delete(key)
    // Still full: drop the oldest windows (a Map iterates in insertion order).
    for (const key of counters.keys()) {
      if (counters.size < maxKeys) break
      counters.delete(key)
    }
  }

  return {
    async hit(key, windowMs) {
      const now = clock()
      let entry = counters.get(key)
      if (!entry || entry.resetAt <= now) {
        counters.delete(key)
        if (counters.size >= maxKeys) evict(now)
        entry = { count: 0, resetAt: now + windowMs }
        counters.set(key, entry)
      }
      entry.count++
      return { count: entry.count, resetMs: entry.resetAt - now }
    },
    async undo(key) {
      const entry = counters.get(key)
      if (entry && --entry.count <= 0) counters.delete(key)
    },
    async clear(key) {
      counters.delete(key)
    },
  }
}

// INCR and PEXPIRE in one script, so a crash between them cannot leave a key that never expires.
const HIT = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if count == 1 or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`

const UNDO = `
if redis.call('EXISTS', KEYS[1]) == 1 and redis.call('DECR', KEYS[1]) <= 0 then
  redis.call('DEL', KEYS[1])
end
return 0
`

export function createRedisCounterStore(redis: Redis, prefix: string): CounterStore {
  return {
    async hit(key, windowMs) {
      const [count, ttl] = (await redis.eval(HIT, 1, prefix + key, String(windowMs))) as [number, number]
      return { count, resetMs: ttl }
    },
    async undo(key) {
      await redis.eval(UNDO, 1, prefix + key)
    },
    async clear(key) {
      await redis.del(prefix + key)
    },
  }
}

/**
 * Counts in `primary` (Redis) and, whenever it fails, in `fallback` (memory): while
 * Redis is away, failed logins are still limited, per instance instead of across all.
 */
export function withFallback(
  primary: CounterStore,
  fallback: CounterStore,
  onFailure: (error: unknown) => void,
): CounterStore {
  const attempt = async <T>(run: (store: CounterStore) => Promise<T>): Promise<T> => {
    try {
      return await run(primary)
    } catch (error) {
      onFailure(error)
      return run(fallback)
    }
  }
  return {
    hit: (key, windowMs) => attempt((store) => store.hit(key, windowMs)),
    async undo(key) {
      await Promise.all([primary.undo(key).catch(() => {}), fallback.undo(key)])
    },
    async clear(key) {
      await Promise.all([primary.clear(key).catch(() => {}), fallback.clear(key)])
    },
  }
}
