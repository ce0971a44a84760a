import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import SQLite from 'better-sqlite3'
import { Kysely, type LogEvent, PostgresDialect, type SqliteDatabase, SqliteDialect, sql } from 'kysely'
import pg from 'pg'
import type { Database } from './schema.js'

export type Dialect = 'sqlite' | 'postgres'

export interface BadgeDatabase {
  readonly db: Kysely<Database>
  readonly dialect: Dialect
  /** Queries sent since start: lets tests prove the bearer check sends none. */
  queryCount(): number
  /** One cheap round trip, for /health/ready. */
  ping(): Promise<void>
  close(): Promise<void>
}

export interface DatabaseOptions {
  url: string
  poolMax?: number
  /** Milliseconds; bounds every statement and connection attempt so an outage never hangs a request. */
  statementTimeout?: number
}

const STATEMENT_CACHE_SIZE = 256

/**
 * Kysely prepares every query afresh; compiling the SQL was a fifth of a refresh
 * grant's CPU time (bench/). Badge's queries come from a small fixed set, so their
 * prepared statements are kept, bounded, by SQL text. Kysely runs one query at a time
 * per SQLite connection, so a cached statement is never busy when reused.
 */
function withStatementCache(sqlite: SQLite.Database): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>()
  return {
    close: () => sqlite.close(),
    prepare(sql: string) {
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

function sqliteDialect(url: string): SqliteDialect {
  const path = url.slice('sqlite:'.length)
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
  const sqlite = new SQLite(path, { timeout: 5000 })
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('foreign_keys = ON')
  sqlite.pragma('synchronous = NORMAL')
  return new SqliteDialect({ database: withStatementCache(sqlite) })
}

function postgresDialect(url: string, poolMax: number, timeout: number): PostgresDialect {
  // bigint columns hold epoch milliseconds, far below 2^53: read them as numbers.
  const types = {
    getTypeParser: (oid: number, format?: 'text' | 'binary') =>
      oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format ?? 'text'),
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: poolMax,
    connectionTimeoutMillis: timeout,
    statement_timeout: timeout,
    query_timeout: timeout + 1000,
    idleTimeoutMillis: 30_000,
    types,
  })
  // An idle client losing its connection must not crash the process; the next query reports it.
  pool.on('error', () => {})
  return new PostgresDialect({ pool })
}

export function createDatabase(options: DatabaseOptions): BadgeDatabase {
  const { url, poolMax = 10, statementTimeout = 5000 } = options
  const dialect: Dialect = url.startsWith('sqlite:') ? 'sqlite' : 'postgres'
  let queries = 0
  const db = new Kysely<Database>({
    dialect: dialect === 'sqlite' ? sqliteDialect(url) : postgresDialect(url, poolMax, statementTimeout),
    log: (_event: LogEvent) => {
      queries++
    },
  })
  return {
    db,
    dialect,
    queryCount: () => queries,
    ping: async () => {
      await sql`select 1`.execute(db)
    },
    close: () => db.destroy(),
  }
}
