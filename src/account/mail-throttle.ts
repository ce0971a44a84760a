import { createHash } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { Limit } from '../config.js'
import { tooManyRequests } from '../errors.js'
import type { CounterStore } from '../throttle/counters.js'

// RATE_LIMIT_MAIL (docs/contract.md §9): requests that would mail an address are counted
// per recipient, so nobody can use Badge to flood someone's inbox. Unknown addresses
// count exactly like known ones (forgot-password must not reveal which exist). The
// per-client-address limit is the route limit `mail` (plugins/rate-limit.ts). Counters
// are shared through Redis when configured; a failing store lets the request through.

export interface MailThrottleOptions {
  store: CounterStore
  perRecipient: Limit
  enabled: boolean
  log: FastifyBaseLogger
}

/** Addresses are hashed in counter keys: a shared Redis need not hold a list of them. */
const recipientKey = (email: string) =>
  `mail:recipient:${createHash('sha256').update(email).digest('base64url').slice(0, 27)}`

export function createMailThrottle({ store, perRecipient, enabled, log }: MailThrottleOptions) {
  /** Counts one mail request for `email` (normalized); 429 once the recipient's limit is reached. */
  async function admit(email: string): Promise<void> {
    if (!enabled) return
    const hit = await store.hit(recipientKey(email), perRecipient.windowMs).catch((err) => {
      log.warn({ err }, 'mail throttle unavailable: allowing the request')
      return undefined
    })
    if (hit && hit.count > perRecipient.max) {
      throw tooManyRequests(hit.resetMs / 1000, 'Too many emails requested for this address; retry later.')
    }
  }
  return { admit }
}

export type MailThrottle = ReturnType<typeof createMailThrottle>
