import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { type BadgeDatabase, createDatabase } from '../../src/db/index.js'

// Every repository and HTTP-flow test runs once per dialect: SQLite in memory always,
// PostgreSQL when TEST_DATABASE_URL is set, each test in a database of its own that
// is dropped afterwards. Nothing depends on leftovers.

export interface TestDialect {
  name: 'sqlite' | 'postgres'
  /** Creates a fresh, empty database and returns its URL plus a function that drops it. */
  create(): Promise<{ url: string; drop(): Promise<void> }>
}

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL

const sqlite: TestDialect = {
  name: 'sqlite',
  create: async () => ({ url: 'sqlite::memory:', drop: async () => {} }),
}

function postgres(adminUrl: string): TestDialect {
  return {
    name: 'postgres',
    async create() {
      const name = `badge_test_${randomBytes(6).toString('hex')}`
      const admin = new pg.Client({ connectionString: adminUrl })
      await admin.connect()
      try {
        await admin.query(`CREATE DATABASE ${name}`)
      } finally {
        await admin.end()
      }
      const url = new URL(adminUrl)
      url.pathname = `/${name}`
      return {
        url: url.toString(),
        async drop() {
          const client = new pg.Client({ connectionString: adminUrl })
          await client.connect()
          try {
            await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
          } finally {
            await client.end()
          }
        },
      }
    },
  }
}

export const dialects: TestDialect[] = TEST_DATABASE_URL ? [sqlite, postgres(TEST_DATABASE_URL)] : [sqlite]

export const POSTGRES_SKIP_REASON = 'PostgreSQL tests run when TEST_DATABASE_URL is set'

/** Opens a fresh database of this dialect; closes and drops it when the test ends. */
export async function openTestDatabase(
  t: { teardown(fn: () => unknown): void },
  dialect: TestDialect,
): Promise<BadgeDatabase & { url: string }> {
  const { url, drop } = await dialect.create()
  const database = createDatabase({ url, poolMax: 5 })
  t.teardown(async () => {
    await database.close()
    await drop()
  })
  return Object.assign(database, { url })
}

/**
 * A fresh database that several connections can open at once, as several Badge
 * instances (or the CLI and a server) would: a file in a temporary directory for
 * SQLite, a database of its own for PostgreSQL. Removed when the test ends.
 */
export async function createSharedDatabaseUrl(
  t: { teardown(fn: () => unknown): void },
  dialect: TestDialect,
): Promise<string> {
  if (dialect.name === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'badge-test-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    return `sqlite:${join(dir, 'badge.db')}`
  }
  const { url, drop } = await dialect.create()
  t.teardown(drop)
  return url
}
