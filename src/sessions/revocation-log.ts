import type { Kysely } from 'kysely'
import type { Clock } from '../clock.js'
import type { Database, Db } from '../db/schema.js'
import type { RevocationEntry, RevokedSet } from '../verify/revoked-set.js'

// The revocation feed (docs/contract.md §11, docs/revocation.md). Every event that must cut
// off access tokens before they expire — a session ended, a user's credentials or account
// changed — is written by `record`, in the transaction that makes the change, and kept until
// ACCESS_TOKEN_TTL after it. `record` also applies it to this instance's revoked set at once
// and tells the other instances through the bus; `sync` (the catch-up poll) reads what the
// bus may have missed. `seq` orders the feed; cursors are seqs.

/** How long a writing transaction may take between taking its seq and committing (see settledCursor). */
export const SETTLE_MS = 10_000
/** The verifier's clock leeway: an entry outlives its last token by this much. */
const LEEWAY_SECONDS = 5
const PAGE = 1000
/** PostgreSQL NOTIFY payloads must stay under 8000 bytes; a bigger event is announced as "sync". */
const MAX_PAYLOAD = 7000

export interface RevocationBus {
  /** Tells the other instances; called inside the writing transaction (PostgreSQL NOTIFY is sent at commit). */
  publish(trx: Db, payload: string): Promise<void>
}

export interface RevocationRow {
  seq: number
  type: 'session' | 'user'
  subject: string
  at: number
  created_at: number
  expires_at: number
}

export interface RevocationPage {
  entries: RevocationEntry[]
  cursor: string
}

export interface RevocationLogDeps {
  db: Kysely<Database>
  clock: Clock
  accessTokenTtl: number
  set: RevokedSet
  bus?: RevocationBus
}

/** What a revoking transaction ended: session ids, and users whose every token must go. */
export interface Revocations {
  sessions?: readonly string[]
  users?: readonly string[]
}

export function toEntry(row: Pick<RevocationRow, 'type' | 'subject' | 'at' | 'expires_at'>): RevocationEntry {
  const at = Math.floor(row.at / 1000)
  const expires_at = Math.ceil(row.expires_at / 1000)
  return row.type === 'session'
    ? { type: 'session', sid: row.subject, revoked_at: at, expires_at }
    : { type: 'user', sub: row.subject, not_before: at, expires_at }
}

/**
 * The cursor after reading `rows` (ascending seq) from `since`. On PostgreSQL a seq is
 * taken at insert but seen at commit, so a lower seq can appear after a higher one; the
 * cursor only moves past rows older than SETTLE_MS, and a reader sees recent rows again
 * (adding an entry twice changes nothing).
 */
export function settledCursor(since: number, rows: readonly RevocationRow[], now: number): number {
  let cursor = since
  for (const row of rows) {
    if (row.created_at > now - SETTLE_MS) break
    cursor = row.seq
  }
  return cursor
}

export function parseCursor(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return 0
  return /^\d{1,15}$/.test(value) ? Number(value) : undefined
}

export function createRevocationLog({ db, clock, accessTokenTtl, set, bus }: RevocationLogDeps) {
  const listeners = new Set<(entries: RevocationEntry[], cursor: string) => void>()
  let cursor = 0
  let syncing: Promise<void> | undefined
  let lastSync = 0

  function apply(entries: readonly RevocationEntry[]): void {
    const changed = entries.filter((entry) => set.add(entry))
    if (changed.length === 0) return
    for (const listener of listeners) listener(changed, String(cursor))
  }

  /**
   * The one function every revoking path calls, in its transaction (`trx`): writes the
   * entries, applies them to this instance at once and publishes them. Applied before
   * commit: should the transaction then fail, this instance errs toward refusing those
   * tokens until the entry would have expired.
   */
  async function record(trx: Db, what: Revocations, now: number): Promise<void> {
    const expires_at = now + (accessTokenTtl + LEEWAY_SECONDS) * 1000
    const rows = [
      ...(what.sessions ?? []).map((subject) => ({ type: 'session' as const, subject })),
      ...(what.users ?? []).map((subject) => ({ type: 'user' as const, subject })),
    ].map((r) => ({ ...r, at: now, created_at: now, expires_at }))
    if (rows.length === 0) return
    for (let i = 0; i < rows.length; i += PAGE)
      await trx
        .insertInto('revocations')
        .values(rows.slice(i, i + PAGE))
        .execute()
    const entries = rows.map(toEntry)
    apply(entries)
    if (bus) {
      const payload = JSON.stringify(entries)
      await bus.publish(trx, payload.length <= MAX_PAYLOAD ? payload : 'sync')
    }
  }

  /** Entries after `since` (a seq), oldest first, with the cursor to ask from next. */
  async function list(since: number, limit = PAGE): Promise<RevocationPage & { more: boolean }> {
    const now = clock()
    const rows = (await db
      .selectFrom('revocations')
      .selectAll()
      .where('seq', '>', since)
      .where('expires_at', '>', now)
      .orderBy('seq')
      .limit(limit + 1)
      .execute()) as RevocationRow[]
    const more = rows.length > limit
    if (more) rows.pop()
    return { entries: rows.map(toEntry), cursor: String(settledCursor(since, rows, now)), more }
  }

  /** Reads what this instance has not seen yet (the catch-up poll, and a bus "sync"). Joins a running read. */
  function sync(): Promise<void> {
    syncing ??= (async () => {
      try {
        for (;;) {
          const page = await list(cursor)
          cursor = Number(page.cursor)
          apply(page.entries)
          if (!page.more) break
        }
        lastSync = clock()
      } finally {
        syncing = undefined
      }
    })()
    return syncing
  }

  /** A message from the bus: entries published by another instance, or "sync". */
  function receive(payload: string): Promise<void> {
    if (payload === 'sync') return sync()
    try {
      const entries = JSON.parse(payload) as RevocationEntry[]
      if (Array.isArray(entries)) apply(entries.filter(isEntry))
    } catch {
      // Not ours, or garbled: the catch-up poll reads the truth from the database.
    }
    return Promise.resolve()
  }

  /** Deletes entries no token can outlive any more, and forgets them here too. */
  async function purge(): Promise<number> {
    const now = clock()
    set.prune(Math.floor(now / 1000))
    const result = await db.deleteFrom('revocations').where('expires_at', '<=', now).executeTakeFirst()
    return Number(result.numDeletedRows)
  }

  /** Calls `listener` with every entry that changes this instance's set (the live stream). */
  function subscribe(listener: (entries: RevocationEntry[], cursor: string) => void): () => void {
    listeners.add(listener)
    return () => listeners.delete(listener)
  }

  return {
    record,
    list,
    sync,
    receive,
    purge,
    subscribe,
    set,
    /** When this instance last read the whole feed (epoch ms; 0 = never). */
    lastSync: () => lastSync,
  }
}

function isEntry(value: unknown): value is RevocationEntry {
  if (typeof value !== 'object' || value === null) return false
  const e = value as Record<string, unknown>
  if (typeof e.expires_at !== 'number') return false
  if (e.type === 'session') return typeof e.sid === 'string' && typeof e.revoked_at === 'number'
  return e.type === 'user' && typeof e.sub === 'string' && typeof e.not_before === 'number'
}

export type RevocationLog = ReturnType<typeof createRevocationLog>
