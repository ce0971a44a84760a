import { getPriority, setPriority } from 'node:os'
import bcrypt from 'bcrypt'
import { CORES, startServer } from '../lib/child.js'
import { load, probeLatency } from '../lib/load.js'
import { badgeEnv, type Settings } from '../lib/settings.js'
import { median } from '../lib/stats.js'

// login/bcrypt-limit: password-grant logins per second at BCRYPT_COST=12 against the
// most bcrypt allows on this machine (cores ÷ one compare's time, measured in this run,
// right before each round), and what logins do to a protected route: its p99 while they
// saturate vs idle. The server is not pinned: bcrypt is meant to use every core.

const COST = 12
const EMAIL = 'bench@example.com'
const PASSWORD = 'correct horse battery staple'
const INPUT = 'x'.repeat(44) // Badge compares a 44-byte base64 pre-hash

export interface LoginResult {
  cores: number
  /** One compare's wall time (ms), median over the rounds. */
  compareMs: number
  limitPerSecond: number
  loginsPerSecond: number
  /** Median over rounds of logins/s ÷ that round's limit. */
  ratio: number
  /** Server CPU time per login (ms): near one compare's time means nothing but bcrypt is spent. */
  cpuMsPerLogin: number
  shed: number
  protectedP99Ms: { idle: number; underLogins: number }
  p99Ratio: number
  peakRssMb: number
}

async function timeCompare(hash: string, times: number): Promise<number> {
  const samples: number[] = []
  for (let i = 0; i < times; i++) {
    const start = performance.now()
    await bcrypt.compare(INPUT, hash)
    samples.push(performance.now() - start)
  }
  return median(samples)
}

/** Raises this process's priority while `work` runs, when allowed (root). */
async function withClientPriority<T>(work: () => Promise<T>): Promise<T> {
  // While bcrypt fills every core, this process (load and probe) would queue behind it
  // for CPU and charge its own wait to the server's latency: raise it, as a separate
  // client machine would be. The server's priority is untouched.
  const priority = getPriority()
  try {
    setPriority(priority - 5)
  } catch {}
  try {
    return await work()
  } finally {
    try {
      setPriority(priority)
    } catch {}
  }
}

export async function loginVsBcrypt(s: Settings): Promise<LoginResult> {
  const hash = await bcrypt.hash(INPUT, COST)
  const server = await startServer('badge (bcrypt 12)', 'bench/servers/badge.ts', {
    ...badgeEnv(s, 'login'),
    BCRYPT_COST: String(COST),
  })
  try {
    const signup = await fetch(`${server.url}/v1/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
    })
    if (signup.status !== 201) throw new Error(`signup failed: ${signup.status}`)
    const [token] = await server.call<string[]>('tokens', { count: 1 })
    const protectedUrl = `${server.url}/bench/protected`
    const auth = { authorization: `Bearer ${token}` }
    await load({ url: protectedUrl, seconds: s.warmup, connections: s.connections, headers: auth })

    const login = () =>
      load({
        url: `${server.url}/oauth/token`,
        method: 'POST',
        seconds: s.loginSeconds,
        // Enough to keep every bcrypt slot busy, well inside LOGIN_QUEUE.
        connections: CORES * 2,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'password', username: EMAIL, password: PASSWORD }).toString(),
      })
    const compares: number[] = []
    const rates: number[] = []
    const ratios: number[] = []
    const cpu: number[] = []
    const idle: number[] = []
    const loaded: number[] = []
    let shed = 0
    let peak = 0
    for (let round = 0; round < s.loginRounds; round++) {
      // The limit of this round, measured while nothing else of ours runs.
      const compare = await timeCompare(hash, s.bcryptCompares)
      compares.push(compare)
      await withClientPriority(async () => {
        idle.push((await probeLatency(protectedUrl, auth, s.probeRate, s.probeSeconds)).p99)
        await server.stats()
        const logins = login()
        // Probe the middle of the login run, once bcrypt is saturated.
        await new Promise((resolve) => setTimeout(resolve, 1000))
        const seconds = Math.min(s.probeSeconds, s.loginSeconds - 2)
        loaded.push((await probeLatency(protectedUrl, auth, s.probeRate, seconds)).p99)
        const result = await logins
        const stats = await server.stats()
        peak = Math.max(peak, stats.peakRss / 2 ** 20)
        rates.push(result.rps)
        ratios.push(result.rps / (CORES / (compare / 1000)))
        cpu.push(stats.cpuMicros / 1000 / Math.max(1, result.count))
        shed += result.non2xx
      })
    }
    const compareMs = median(compares)
    const p99 = { idle: median(idle), underLogins: median(loaded) }
    return {
      cores: CORES,
      compareMs,
      limitPerSecond: CORES / (compareMs / 1000),
      loginsPerSecond: median(rates),
      ratio: median(ratios),
      cpuMsPerLogin: median(cpu),
      shed,
      protectedP99Ms: p99,
      p99Ratio: p99.underLogins / p99.idle,
      peakRssMb: peak,
    }
  } finally {
    await server.stop()
  }
}
