import SQLite from 'better-sqlite3'
import {
  Kysely,
  PostgresDialect,
  type PostgresPool,
  type PostgresPoolClient,
  type SqliteDatabase,
  SqliteDialect,
  sql,
} from 'kysely'
import pg from 'pg'
import { type BackupResult, backupSqlite } from './backup.js'
import { isDatabaseUnavailable } from './errors.js'
import { securePrivateDatabaseFiles } from './file-permissions.js'
import { preparedStatementName } from './precompiled.js'
import type { Database } from './schema.js'

export type Dialect = 'sqlite' | 'postgres'

export interface BadgeDatabase {
  readonly db: Kysely<Database>
  readonly dialect: Dialect
  /** Queries sent since start: lets tests prove the bearer check sends none. */
  queryCount(): number
  /** One cheap round trip, for /health/ready. */
  ping(): Promise<void>
  /**
   * Runs `fn` while holding a database-wide lock named `name`, so that instances
   * starting at the same moment do one-time work (first signing key, bootstrap admin)
   * one after the other. A no-op wrapper on SQLite, which one process owns.
   */
  withLock<T>(name: string, fn: () => Promise<T>): Promise<T>
  /** PostgreSQL pool connections (for the metrics); undefined on SQLite, which has no pool. */
  poolStats(): { total: number; idle: number; waiting: number } | undefined
  /** SQLite only: a consistent copy to `file` while others write (db/backup.ts); PostgreSQL has pg_dump. */
  backup: ((file: string) => Promise<BackupResult>) | undefined
  close(): Promise<void>
}

export interface DatabaseOptions {
  url: string
  poolMax?: number
  /** Milliseconds; bounds every statement and connection attempt so an outage never hangs a request. */
  statementTimeout?: number
}

/** How long start-up waits for another instance's start-up lock (it runs migrations meanwhile). */
const LOCK_WAIT_MS = 120_000

const STATEMENT_CACHE_SIZE = 256

/**
 * Kysely prepares every query afresh; compiling the SQL was a fifth of a refresh
 * grant's CPU time (bench/). Badge's queries come from a small fixed set, so their
 * prepared statements are kept, bounded, by SQL text. Kysely runs one query at a time
 * per SQLite connection, so a cached statement is never busy when reused.
 */
function withStatementCache(sqlite: SQLite.Database, counted: () => void): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>()
  return {
    close: () => sqlite.close(),
    prepare(sql: string) {
      counted()
      // Every transaction takes the write lock when it begins (BEGIN IMMEDIATE), waiting on
      // the busy timeout: a deferred one that reads and then writes fails at once with
      // SQLITE_BUSY_SNAPSHOT when another process (the CLI, a second server) wrote
      // meanwhile, and no timeout can help it (https://sqlite.org/lang_transaction.html).
      if (sql === 'begin') sql = 'begin immediate'
      let statement = statements.get(sql)
      if (statement === undefined) {
        statement = sqlite.prepare(sql)
        if (statements.size >= STATEMENT_CACHE_SIZE) statements.delete(statements.keys().next().value!)
        statements.set(sql, statement)
      }
      return statement
    },
  }
}

function openSqlite(url: string): SQLite.Database {
  const path = url.slice('sqlite:'.length)
  if (path !== ':memory:') {
    // Loud on purpose: stderr at start, before any logger exists (db/file-permissions.ts).
    for (const warning of securePrivateDatabaseFiles(path))
      process.emitWarning(warning, 'BadgeSecurityWarning')
  }
  const sqlite = new SQLite(path, { timeout: 5000 })
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('foreign_keys = ON')
  sqlite.pragma('synchronous = NORMAL')
  return sqlite
}

// bigint columns hold epoch milliseconds, far below 2^53: read them as numbers.
const types = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') =>
    oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format ?? 'text'),
}

function connectionSettings(url: string, timeout: number): pg.ClientConfig {
  return {
    connectionString: url,
    connectionTimeoutMillis: timeout,
    statement_timeout: timeout,
    // Client-side backstop for a silent network (no RST, no answer): the server-side
    // statement_timeout cannot fire if its cancel never arrives.
    query_timeout: timeout + 1000,
    // A crashed instance must not hold row locks (a refresh rotation) for long.
    idle_in_transaction_session_timeout: timeout * 2,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    // Shows up in pg_stat_activity; an application_name in the URL wins.
    fallback_application_name: 'badge',
    types,
  }
}

/**
 * A connection that failed with an outage error (reset, timeout, server shutdown) is
 * destroyed instead of returned to the pool. A socket stuck behind a silent network
 * would otherwise stay pooled and time out every later query too, and the pool would
 * never recover by itself when the database comes back.
 */
function discardingBrokenClients(pool: pg.Pool, counted: () => void): PostgresPool {
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect()
      let broken = false
      // pg-pool listens for errors only on idle clients: a socket error between two
      // queries of a checked-out client would otherwise crash the process.
      const onError = () => {
        broken = true
      }
      client.on('error', onError)
      const noteFailure = (error: unknown) => {
        if (isDatabaseUnavailable(error)) broken = true
        throw error
      }
      return {
        query(...args: unknown[]) {
          counted()
          const name = typeof args[0] === 'string' ? preparedStatementName(args[0]) : undefined
          const result =
            name !== undefined
              ? client.query({ name, text: args[0] as string, values: args[1] as unknown[] })
              : // biome-ignore lint/suspicious/noExplicitAny: forwards both of kysely's query overloads unchanged
                (client.query as any)(...args)
          return typeof result?.then === 'function' ? result.catch(noteFailure) : result
        },
        release: (destroy?: boolean) => {
          client.removeListener('error', onError)
          client.release(destroy || broken)
        },
      } as PostgresPoolClient
    },
    end: () => pool.end(),
  }
}

function postgresDialect(pool: pg.Pool, counted: () => void): PostgresDialect {
  return new PostgresDialect({ pool: discardingBrokenClients(pool, counted) })
}

/** A session-level advisory lock on a connection of its own, outside the (possibly size-1) pool. */
async function withAdvisoryLock<T>(url: string, timeout: number, name: string, fn: () => Promise<T>) {
  const client = new pg.Client({ ...connectionSettings(url, timeout), statement_timeout: LOCK_WAIT_MS })
  client.on('error', () => {})
  await client.connect()
  try {
    await client.query('select pg_advisory_lock(hashtext($1))', [name])
    return await fn()
  } finally {
    // Ending the session releases the lock, even if the explicit unlock fails.
    await client.query('select pg_advisory_unlock(hashtext($1))', [name]).catch(() => {})
    await client.end().catch(() => {})
  }
}

export function createDatabase(options: DatabaseOptions): BadgeDatabase {
  const { url, poolMax = 10, statementTimeout = 5000 } = options
  const dialect: Dialect = url.startsWith('sqlite:') ? 'sqlite' : 'postgres'
  let pool: pg.Pool | undefined
  if (dialect === 'postgres') {
    pool = new pg.Pool({
      ...connectionSettings(url, statementTimeout),
      max: poolMax,
      idleTimeoutMillis: 30_000,
    })
    // An idle client losing its connection must not crash the process; the next query reports it.
    pool.on('error', () => {})
  }
  const sqlite = pool ? undefined : openSqlite(url)
  // Queries are counted where the driver sends them, not through Kysely's `log` option:
  // that wraps every query in two more awaits and a clock read (docs/performance.md).
  let queries = 0
  const counted = () => {
    queries++
  }
  const db = new Kysely<Database>({
    dialect: sqlite
      ? new SqliteDialect({ database: withStatementCache(sqlite, counted) })
      : postgresDialect(pool!, counted),
  })
  return {
    db,
    dialect,
    queryCount: () => queries,
    ping: async () => {
      await sql`select 1`.execute(db)
    },
    backup: sqlite && ((file) => backupSqlite(sqlite, file)),
    poolStats: () => pool && { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount },
    withLock: (name, fn) => (pool ? withAdvisoryLock(url, statementTimeout, `badge:${name}`, fn) : fn()),
    close: () => db.destroy(),
  }
}
