import { randomBytes } from 'node:crypto'
import type autocannon from 'autocannon'
import pg from 'pg'
import { startServer } from '../lib/child.js'
import { load } from '../lib/load.js'
import { badgeEnv, type Settings } from '../lib/settings.js'
import { median } from '../lib/stats.js'

// refresh/s: refresh-token rotations per second, each connection walking its own
// session's chain (every response's refresh_token is the next request's), on a SQLite
// file and, when TEST_DATABASE_URL is set, on PostgreSQL.

const EMAIL = 'refresh@example.com'
const PASSWORD = 'correct horse battery staple'

export interface RefreshResult {
  database: 'sqlite' | 'postgres'
  perSecond: number
  rounds: number[]
  /** Server CPU time per rotation (µs), median over rounds: 1e6 / this is a dedicated core's rate. */
  cpuUsPerRotation: number
  failed: number
  peakRssMb: number
}

async function login(url: string): Promise<string> {
  const res = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'password', username: EMAIL, password: PASSWORD }),
  })
  if (res.status !== 200) throw new Error(`login failed: ${res.status}`)
  return ((await res.json()) as { refresh_token: string }).refresh_token
}

/**
 * Requests that each spend a ready refresh token and put its successor back. (autocannon
 * resets a connection's context after every request, so the chain lives in `ready`.)
 */
function chained(ready: string[]): autocannon.Request[] {
  return [
    {
      method: 'POST',
      path: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      setupRequest: (request) => ({
        ...request,
        body: `grant_type=refresh_token&refresh_token=${ready.shift()}`,
      }),
      onResponse: (status, body) => {
        if (status === 200) ready.push((JSON.parse(body) as { refresh_token: string }).refresh_token)
      },
    },
  ]
}

async function measure(
  s: Settings,
  name: string,
  env: Record<string, string>,
): Promise<Omit<RefreshResult, 'database'>> {
  const server = await startServer(name, 'bench/servers/badge.ts', env, 1)
  try {
    const signup = await fetch(`${server.url}/v1/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
    })
    if (signup.status !== 201) throw new Error(`signup failed: ${signup.status}`)
    // Fresh sessions each run: the last in-flight rotations of a run are never read back.
    // Twice as many as connections, so a failed rotation cannot starve a connection.
    const sessions = () => Promise.all(Array.from({ length: s.connections * 2 }, () => login(server.url)))
    const run = (seconds: number, pool: string[]) =>
      load({ url: server.url, seconds, connections: s.connections, requests: chained(pool) })
    await run(s.warmup, await sessions())
    const rounds: number[] = []
    const cpu: number[] = []
    let failed = 0
    let peak = 0
    for (let round = 0; round < s.refreshRounds; round++) {
      // Sessions are logged in first, so the CPU window holds the rotations only.
      const pool = await sessions()
      await server.stats()
      const result = await run(s.refreshSeconds, pool)
      const stats = await server.stats()
      peak = Math.max(peak, stats.peakRss / 2 ** 20)
      cpu.push(stats.cpuMicros / Math.max(1, result.count))
      rounds.push(result.rps)
      failed += result.non2xx + result.errors
    }
    return { perSecond: median(rounds), rounds, cpuUsPerRotation: median(cpu), failed, peakRssMb: peak }
  } finally {
    await server.stop()
  }
}

export async function refreshSqlite(s: Settings): Promise<RefreshResult> {
  return { database: 'sqlite', ...(await measure(s, 'badge (SQLite file)', badgeEnv(s, 'refresh'))) }
}

export async function refreshPostgres(s: Settings, adminUrl: string): Promise<RefreshResult> {
  const name = `badge_bench_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  try {
    const env = badgeEnv(s, 'refresh-pg', { DATABASE_URL: url.toString() })
    return { database: 'postgres', ...(await measure(s, 'badge (PostgreSQL)', env)) }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await admin.end()
  }
}
