import type { FastifyBaseLogger } from 'fastify'
import type { Clock } from '../clock.js'
import type { SigningKeyRow } from '../db/schema.js'
import { type KeyStore, RETIRE_GRACE_MS } from './key-store.js'
import type { KeyRepository } from './repository.js'
import { bySignerOrder } from './signer-order.js'

// The key lifecycle over time, run by every instance on a timer (src/maintenance.ts).
// Every step is a conditional update, so instances running it at once agree:
//   retiring → retired  once every token the key signed has expired;
//   (KEY_ROTATION_DAYS) publish a `next` key ahead of time, so Badge instances and
//   resource servers caching the JWKS know it before it signs anything, then activate it.

const DAY_MS = 86_400_000

/**
 * A next key is activated only after it has been in the JWKS this long: the JWKS is
 * cacheable for 5 minutes (+60 s stale-while-revalidate) and instances reload every minute.
 */
export const NEXT_KEY_MIN_PUBLISHED_MS = 10 * 60_000

/** How long before the rotation is due its next key is published: a day, or half a short period. */
export function nextKeyLead(rotationDays: number): number {
  return Math.min(DAY_MS, (rotationDays * DAY_MS) / 2)
}

export interface KeyMaintenanceDeps {
  keys: KeyStore
  repo: KeyRepository
  clock: Clock
  log: FastifyBaseLogger
  accessTokenTtl: number
  rotationDays: number | undefined
}

const byActivation = (a: SigningKeyRow, b: SigningKeyRow) =>
  bySignerOrder({ kid: a.kid, activatedAt: a.activated_at }, { kid: b.kid, activatedAt: b.activated_at })

export function createKeyMaintenance({
  keys,
  repo,
  clock,
  log,
  accessTokenTtl,
  rotationDays,
}: KeyMaintenanceDeps) {
  async function retireExpired(now: number): Promise<number> {
    const retired = await repo.retireExpired(now - accessTokenTtl * 1000 - RETIRE_GRACE_MS, now)
    if (retired > 0) log.info({ count: retired }, 'retired signing keys whose tokens have all expired')
    return retired
  }

  async function rotateIfDue(now: number, rows: SigningKeyRow[]): Promise<void> {
    if (!rotationDays) return
    const active = rows.filter((r) => r.status === 'active').sort(byActivation)[0]
    if (!active) return
    const age = now - (active.activated_at ?? active.created_at)
    const period = rotationDays * DAY_MS
    // Oldest first, then kid: racing instances pick the same one; a duplicate stays harmlessly published.
    const next = rows
      .filter((r) => r.status === 'next')
      .sort((a, b) => a.created_at - b.created_at || (a.kid < b.kid ? -1 : 1))[0]
    if (!next) {
      if (age >= period - nextKeyLead(rotationDays)) await keys.publishNextKey(active.kid)
      return
    }
    if (age >= period && now - next.created_at >= NEXT_KEY_MIN_PUBLISHED_MS) {
      await keys.activateNextKey(active.kid, next.kid)
    }
  }

  /** One pass of the lifecycle, then a reload so this instance serves the result. */
  async function run(): Promise<void> {
    const now = clock()
    await retireExpired(now)
    const rows = await repo.listUsable()
    const actives = rows.filter((r) => r.status === 'active').sort(byActivation)
    // Two rotations that raced may both have activated a key: keep the one every instance signs with.
    if (actives.length > 1) await repo.retireOtherActive(actives[0]!.kid, now)
    await rotateIfDue(now, actives.length > 1 ? await repo.listUsable() : rows)
    await keys.reload()
  }

  return { run, retireExpired }
}

export type KeyMaintenance = ReturnType<typeof createKeyMaintenance>
