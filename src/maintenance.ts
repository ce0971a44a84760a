import type { FastifyBaseLogger } from 'fastify'
import type { Clock } from './clock.js'
import type { KeyMaintenance } from './keys/maintenance.js'
import type { PurgeResult } from './sessions/purge.js'

// Periodic housekeeping every instance runs on a timer (src/app.ts): the signing-key
// lifecycle (which also reloads the key set, so keys rotated elsewhere arrive within a
// minute) and, less often, purging ended sessions and expired audit events. Each step fails on its own: a purge
// that cannot run must not stop key reloads.

export const MAINTENANCE_INTERVAL_MS = 60_000
export const SESSION_PURGE_INTERVAL_MS = 3_600_000

export interface MaintenanceDeps {
  keyMaintenance: KeyMaintenance
  purgeSessions: () => Promise<PurgeResult>
  /** Deletes audit events past AUDIT_RETENTION_DAYS (audit/audit-log.ts); returns how many. */
  purgeAuditEvents: () => Promise<number>
  /** Deletes revocation entries no access token can outlive any more (sessions/revocation-log.ts). */
  purgeRevocations?: () => Promise<number>
  clock: Clock
  log: FastifyBaseLogger
}

export function createMaintenance({
  keyMaintenance,
  purgeSessions,
  purgeAuditEvents,
  purgeRevocations,
  clock,
  log,
}: MaintenanceDeps) {
  let lastPurge = Number.NEGATIVE_INFINITY
  let running: Promise<void> | undefined

  async function step(name: string, work: () => Promise<unknown>): Promise<void> {
    try {
      await work()
    } catch (error) {
      log.warn({ err: error }, `maintenance: ${name} failed`)
    }
  }

  async function pass(): Promise<void> {
    await step('signing key lifecycle', keyMaintenance.run)
    if (purgeRevocations) await step('revocation purge', purgeRevocations)
    if (clock() - lastPurge >= SESSION_PURGE_INTERVAL_MS) {
      lastPurge = clock()
      await step('session purge', async () => {
        const purged = await purgeSessions()
        if (purged.sessions > 0) log.info(purged, 'purged ended sessions')
      })
      await step('audit retention purge', async () => {
        const count = await purgeAuditEvents()
        if (count > 0) log.info({ count }, 'purged audit events past AUDIT_RETENTION_DAYS')
      })
    }
  }

  /** One maintenance pass; a call while one is running joins it rather than overlapping. */
  function run(): Promise<void> {
    running ??= pass().finally(() => {
      running = undefined
    })
    return running
  }

  /** Resolves once no pass is running (each step catches its own errors), so closing can wait for it. */
  function settle(): Promise<void> {
    return running ?? Promise.resolve()
  }

  return { run, settle }
}

export type Maintenance = ReturnType<typeof createMaintenance>
