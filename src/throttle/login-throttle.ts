import { createHash } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { Limit } from '../config.js'
import { tooManyRequests } from '../errors.js'
import type { CounterStore, Hit } from './counters.js'

// docs/contract.md §7: failed password logins are limited per (account, client address), so one
// account cannot be guessed at more than RATE_LIMIT_LOGIN_ACCOUNT times per window from
// one address, and per address, so one address cannot spray a password over many
// accounts. Counters hold failures plus attempts still in flight: an attempt counts
// before bcrypt runs (so a burst of parallel guesses cannot slip past the check) and is
// taken back when it succeeds. Unknown emails count exactly like real ones, so the
// throttle reveals nothing about which accounts exist. If the counter store fails
// (Redis down), logins go ahead: a broken limiter must never lock everyone out.

export interface LoginThrottleOptions {
  store: CounterStore
  account: Limit
  address: Limit
  log: FastifyBaseLogger
  enabled: boolean
  /** Told which limit refused an attempt (the metrics' badge_rate_limited_total). */
  onRefused?: (limit: 'login_account' | 'login_address') => void
}

export interface LoginAttempt {
  /** The password was right: the account's failures are forgotten. */
  succeeded(): Promise<void>
  /** The password was wrong: the attempt stays counted. */
  failed(): void
  /** The check could not run (database down, overload): the attempt is taken back. */
  abandoned(): Promise<void>
}

const NOOP: LoginAttempt = { succeeded: async () => {}, failed: () => {}, abandoned: async () => {} }

/** Emails are hashed in counter keys: a shared Redis need not hold a list of addresses. */
function accountKey(email: string, address: string): string {
  const digest = createHash('sha256').update(`${email}\n${address}`).digest('base64url').slice(0, 27)
  return `login:account:${digest}`
}

/**
 * 429 for the failed-login limit. Its X-RateLimit-* headers replace the ones the token
 * endpoint's own per-address limit already set on this reply: the headers of a response
 * describe the limit that answered it, not another one the request also passed.
 */
function loginLimitReached(limit: Limit, waitMs: number) {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000))
  const error = tooManyRequests(seconds, 'Too many failed sign-in attempts; retry later.')
  Object.assign(error.headers, {
    'x-ratelimit-limit': String(limit.max),
    'x-ratelimit-remaining': '0',
    'x-ratelimit-reset': String(seconds),
  })
  return error
}

export function createLoginThrottle({
  store,
  account,
  address,
  log,
  enabled,
  onRefused,
}: LoginThrottleOptions) {
  let warned = false
  const failOpen = <T>(promise: Promise<T>): Promise<T | undefined> =>
    promise.catch((err) => {
      // The Redis client logs outages once; this notes that limits were skipped.
      if (!warned) log.warn({ err }, 'login throttle unavailable: allowing the attempt')
      warned = true
      return undefined
    })

  /**
   * Call before checking a password for `email` (normalized) from `clientAddress`
   * (already grouped, see clientAddress()). Throws 429 too_many_requests when either
   * limit is reached, before any bcrypt work is spent.
   */
  async function begin(email: string, clientAddress: string): Promise<LoginAttempt> {
    if (!enabled) return NOOP
    const keys = [accountKey(email, clientAddress), `login:address:${clientAddress}`] as const
    const [perAccount, perAddress] = await Promise.all([
      failOpen(store.hit(keys[0], account.windowMs)),
      failOpen(store.hit(keys[1], address.windowMs)),
    ])
    if (perAccount && perAddress) warned = false
    const undoAll = async () => {
      await Promise.all([
        perAccount && failOpen(store.undo(keys[0])),
        perAddress && failOpen(store.undo(keys[1])),
      ])
    }
    const over = (hit: Hit | undefined, limit: Limit) => hit !== undefined && hit.count > limit.max
    if (over(perAccount, account) || over(perAddress, address)) {
      // A refused attempt is not a failure: it does not push the window further.
      await undoAll()
      // The limit that answered is the one that makes the caller wait longest.
      const refusals = [
        over(perAccount, account) ? { limit: account, waitMs: perAccount!.resetMs } : undefined,
        over(perAddress, address) ? { limit: address, waitMs: perAddress!.resetMs } : undefined,
      ].filter((r) => r !== undefined)
      const answered = refusals.reduce((a, b) => (b.waitMs > a.waitMs ? b : a))
      log.info({ address: clientAddress }, 'sign-in refused: too many failed attempts')
      onRefused?.(answered.limit === account ? 'login_account' : 'login_address')
      throw loginLimitReached(answered.limit, answered.waitMs)
    }
    return {
      // A success forgets the account's failures but stays counted per address: one
      // address cannot open sessions without bound either (issue 13).
      async succeeded() {
        await (perAccount && failOpen(store.clear(keys[0])))
      },
      failed() {},
      abandoned: undoAll,
    }
  }

  /**
   * One guess (a password, a code, a passkey assertion) as one attempt under `key`: `check`
   * answers whether it was right (truthy). A right guess forgets the key's failures, a wrong
   * one stays counted, and a check that throws (the database down) is taken back, so an
   * outage cannot lock anyone out. Every credential check goes through here.
   */
  async function guess<T>(key: string, clientAddress: string, check: () => Promise<T>): Promise<T> {
    const attempt = await begin(key, clientAddress)
    let result: T
    try {
      result = await check()
    } catch (error) {
      await attempt.abandoned()
      throw error
    }
    if (result) await attempt.succeeded()
    else attempt.failed()
    return result
  }

  return { guess }
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>
