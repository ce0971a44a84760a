import { tooManyRequests } from '../errors.js'
import type { LoginThrottle } from '../throttle/login-throttle.js'
import type { PasswordHasher } from './passwords.js'

// Every password check goes through checkPassword() below: the token endpoint's password
// grant, POST /v1/me/password, and any later one (reset, step-up, MFA codes checked the
// same way). Two defences, in order:
// 1. A fair share of the bcrypt capacity (LOGIN_CONCURRENCY running + LOGIN_QUEUE
//    waiting, per instance). One account may hold at most half of the running slots
//    and one client address at most a quarter of the whole capacity; beyond that the
//    check is refused at once with 429, before it can take a slot, so one signed-up
//    user (or one address) flooding wrong passwords cannot make every other login 503.
//    A real user has one or two checks in flight, never more.
// 2. The failed-attempt limits per (account, address) and per address
//    (throttle/login-throttle.ts, docs/contract.md §7): 429 before any bcrypt work once reached.
// Both follow RATE_LIMIT_ENABLED, like every other limit.

export interface PasswordCheckDeps {
  throttle: LoginThrottle
  hasher: PasswordHasher
  concurrency: number
  queue: number
  enabled: boolean
}

export interface PasswordCheckWho {
  /** The normalized email the attempt is for (known or not): the per-account key. */
  account: string
  /** clientAddress(request): the per-address key. */
  address: string
}

/** 429 whose X-RateLimit-* headers describe the fair share that answered (as throttle/login-throttle.ts does). */
function fairShareReached(max: number, description: string) {
  const error = tooManyRequests(1, description)
  Object.assign(error.headers, {
    'x-ratelimit-limit': String(max),
    'x-ratelimit-remaining': '0',
    'x-ratelimit-reset': '1',
  })
  return error
}

export function createPasswordCheck({ throttle, hasher, concurrency, queue, enabled }: PasswordCheckDeps) {
  const perAccount = Math.max(1, Math.floor(concurrency / 2))
  const perAddress = Math.max(perAccount, Math.floor((concurrency + queue) / 4))
  const inFlight = new Map<string, number>()

  function take(key: string, max: number): boolean {
    const held = inFlight.get(key) ?? 0
    if (held >= max) return false
    inFlight.set(key, held + 1)
    return true
  }
  function give(key: string) {
    const held = (inFlight.get(key) ?? 1) - 1
    if (held <= 0) inFlight.delete(key)
    else inFlight.set(key, held)
  }

  /**
   * Checks `password` against `hash` (undefined: an unknown account, checked against a
   * dummy hash at the same cost). Throws 429 too_many_requests when this account or
   * address has too many checks in flight or too many recent failures, 503 when the
   * bcrypt queue is full.
   */
  async function checkPassword(
    who: PasswordCheckWho,
    password: string,
    hash: string | undefined,
  ): Promise<boolean> {
    const accountKey = `a\n${who.account}`
    const addressKey = `i\n${who.address}`
    if (enabled) {
      if (!take(accountKey, perAccount))
        throw fairShareReached(
          perAccount,
          'Too many sign-ins for this account are in progress; retry in a moment.',
        )
      if (!take(addressKey, perAddress)) {
        give(accountKey)
        throw fairShareReached(
          perAddress,
          'Too many sign-ins from this address are in progress; retry in a moment.',
        )
      }
    }
    try {
      return await throttle.guess(who.account, who.address, async () => {
        const ok =
          hash === undefined ? await hasher.verifyDummy(password) : await hasher.verify(password, hash)
        // A hash from an older, cheaper BCRYPT_COST answers a wrong guess faster than an
        // unknown account does: pad with a compare at the configured cost, so timing does
        // not tell which accounts exist (a right password pays the same in its rehash).
        if (!ok && hash !== undefined && hasher.needsRehash(hash)) await hasher.verifyDummy(password)
        return ok
      })
    } finally {
      if (enabled) {
        give(accountKey)
        give(addressKey)
      }
    }
  }

  return { checkPassword }
}

export type PasswordCheck = ReturnType<typeof createPasswordCheck>
