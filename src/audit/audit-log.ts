import { randomUUID } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { Kysely } from 'kysely'
import type { Clock } from '../clock.js'
import type { AuditEventRow, Database, Db } from '../db/schema.js'
import { decodeCursor, encodeCursor } from '../http/cursor.js'
import type { AuditContext, AuditDetails, AuditEventInput } from './events.js'
import { isLoginFailureRecorded } from './login-failure-sampling.js'
import type { AuditFilter, AuditRepository } from './repository.js'

// The one writer of audit events (docs/audit.md). Every path that changes something
// calls record() with its own transaction, as that transaction's last statement, so the
// event commits or rolls back with the change it records; the same event goes to the log
// as one structured line (`audit` object), written after the row. A failed login changes
// nothing: recordLoginFailure() writes it on its own, sampled per address.

/** The counters the failed-login sampling counts with (throttle/counters.ts CounterStore, shared in Redis when configured). */
export interface AuditCounters {
  hit(key: string, windowMs: number): Promise<{ count: number }>
}

export interface AuditLogDeps {
  db: Kysely<Database>
  repo: AuditRepository
  clock: Clock
  log: FastifyBaseLogger
  counters: AuditCounters
  /** AUDIT_LOGIN_FAILURES_BURST */
  loginFailuresBurst: number
  /** AUDIT_RETENTION_DAYS */
  retentionDays: number
}

/** The window failed logins from one address are counted in, for sampling. */
export const LOGIN_FAILURE_WINDOW_MS = 15 * 60_000
const DAY_MS = 86_400_000

export interface AuditPage {
  events: AuditEventRow[]
  /** Null on the last page. */
  nextCursor: string | null
}

export interface LoginFailure {
  /** The account the attempt named, when it exists (never the email typed: it may be a password). */
  userId: string | null
  clientId: string | null
  /** Why: the error code the caller got (invalid_grant, too_many_requests, invalid_client, ...). */
  reason: string
  /** The address failures are counted per (clientAddress(request): IPv6 by /64). */
  address: string
}

export function createAuditLog({
  db,
  repo,
  clock,
  log,
  counters,
  loginFailuresBurst,
  retentionDays,
}: AuditLogDeps) {
  /** Writes one event in `trx` (or on its own) and logs it. Call last in the transaction. */
  async function record(trx: Db, who: AuditContext, event: AuditEventInput): Promise<void> {
    const details: AuditDetails = event.details ?? {}
    const row: AuditEventRow = {
      id: randomUUID(),
      type: event.type,
      at: clock(),
      actor: who.actor,
      user_id: event.userId ?? null,
      client_id: event.clientId ?? null,
      ip: who.ip,
      user_agent: who.userAgent,
      details: JSON.stringify(details),
    }
    await repo.insert(row, trx)
    log.info({ audit: { ...row, details } }, `audit: ${row.type}`)
  }

  /**
   * A failed login, on its own (it changes nothing). Never throws: an audit write that
   * fails must not turn the caller's 400 or 429 into a 500.
   */
  async function recordLoginFailure(who: AuditContext, failure: LoginFailure): Promise<void> {
    try {
      const { count } = await counters.hit(`audit:login-failed:${failure.address}`, LOGIN_FAILURE_WINDOW_MS)
      if (!isLoginFailureRecorded(count, loginFailuresBurst)) return
      await record(db, who, {
        type: 'login.failed',
        userId: failure.userId,
        clientId: failure.clientId,
        details: {
          reason: failure.reason,
          failures_from_address: count,
          ...(count > loginFailuresBurst ? { sampled: true } : {}),
        },
      })
    } catch (err) {
      log.warn({ err }, 'could not record a failed login in the audit log')
    }
  }

  /** One page of events, newest first; `cursor` is a previous page's nextCursor. */
  async function list(filter: AuditFilter, { limit, cursor }: { limit: number; cursor?: string }) {
    const before = cursor === undefined ? undefined : decodeCursor(cursor)
    // One extra row tells whether there is a next page without a second query.
    const rows = await repo.list(filter, before, limit + 1)
    const events = rows.slice(0, limit)
    const last = events.at(-1)
    const page: AuditPage = {
      events,
      nextCursor: rows.length > limit && last ? encodeCursor({ createdAt: last.at, id: last.id }) : null,
    }
    return page
  }

  /** Deletes the events older than AUDIT_RETENTION_DAYS; returns how many. */
  function purgeExpired(): Promise<number> {
    return repo.deleteBefore(clock() - retentionDays * DAY_MS)
  }

  return { record, recordLoginFailure, list, purgeExpired }
}

export type AuditLog = ReturnType<typeof createAuditLog>

/** An event as the API shows it (GET /v1/admin/audit, GET /v1/me/events, badge audit). */
export function toPublicAuditEvent(row: AuditEventRow) {
  return {
    id: row.id,
    type: row.type,
    at: new Date(row.at).toISOString(),
    actor: row.actor,
    user_id: row.user_id,
    client_id: row.client_id,
    ip: row.ip,
    user_agent: row.user_agent,
    details: JSON.parse(row.details) as AuditDetails,
  }
}

export type PublicAuditEvent = ReturnType<typeof toPublicAuditEvent>
