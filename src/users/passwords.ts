import { createHmac } from 'node:crypto'
import bcrypt from 'bcrypt'
import { UnavailableError } from '../errors.js'
import { bcryptCompare, bcryptHash, reserveBcryptThreads } from './bcrypt-pool.js'

// bcrypt reads only the first 72 bytes of its input, so two long passphrases sharing
// a 72-byte prefix would collide. Every password is therefore pre-hashed with
// HMAC-SHA256 (a fixed, Badge-specific key, so hashes leaked from elsewhere as plain
// SHA-256 cannot be "shucked" against ours) and base64-encoded (44 bytes, no NULs).
const PREHASH_KEY = 'badge/bcrypt-prehash/v1'

function prehash(password: string): string {
  return createHmac('sha256', PREHASH_KEY).update(password.normalize('NFC'), 'utf8').digest('base64')
}

export interface PasswordHasherOptions {
  cost: number
  /** bcrypt compares in flight at once; the rest wait in a queue. */
  concurrency: number
  /** Waiting compares beyond this are shed with 503 rather than queued. */
  queue: number
}

/**
 * bcrypt runs off the event loop, on threads of lowered priority (users/bcrypt-pool.ts).
 * Bounding compares in flight keeps protected routes fast while logins saturate, and
 * shedding the excess answers quickly instead of tripling latency.
 */
export function createPasswordHasher({ cost, concurrency, queue }: PasswordHasherOptions) {
  reserveBcryptThreads(concurrency)
  let running = 0
  const waiting: Array<() => void> = []

  async function limited<T>(work: () => Promise<T>): Promise<T> {
    if (running >= concurrency) {
      if (waiting.length >= queue) {
        throw new UnavailableError('Too many sign-ins are in progress; retry in a moment.', 1)
      }
      await new Promise<void>((resolve) => waiting.push(resolve))
    } else {
      running++
    }
    try {
      return await work()
    } finally {
      const next = waiting.shift()
      if (next) next()
      else running--
    }
  }

  // Unknown emails are checked against this hash, so they cost what a real check costs.
  const dummyHash = bcrypt.hashSync(prehash('badge dummy password'), cost)

  return {
    hash: (password: string) => limited(() => bcryptHash(prehash(password), cost)),
    verify: (password: string, hash: string) => limited(() => bcryptCompare(prehash(password), hash)),
    /** True when `hash` was made at another BCRYPT_COST: rehash it after a successful check. */
    needsRehash: (hash: string) => bcrypt.getRounds(hash) !== cost,
    /** Compares waiting for a slot and running now, for the metrics (metrics/registry.ts). */
    load: () => ({ waiting: waiting.length, running }),
    /** Same work as verify(), for a user that does not exist; always false. */
    verifyDummy: async (password: string) => {
      await limited(() => bcryptCompare(prehash(password), dummyHash))
      return false
    },
  }
}

export type PasswordHasher = ReturnType<typeof createPasswordHasher>
