import { createPublicKey } from 'node:crypto'
import { startServer } from '../lib/child.js'
import { load } from '../lib/load.js'
import { badgeEnv, type Settings } from '../lib/settings.js'
import { median, pairedRatio } from '../lib/stats.js'

// badge/express: the same protected route in Badge and in Express 5 + passport-jwt +
// jsonwebtoken, same ES256 token (jsonwebtoken cannot verify EdDSA), same run, each
// server alone on the same core while it is measured.

export interface ExpressResult {
  rps: { badge: number; badgeCacheOff: number; express: number; expressBare: number }
  /** Median of the per-round ratios Badge / express (each round runs all four back to back). */
  ratio: { cached: number; cacheOff: number }
  /** Server CPU time per request (µs), median over rounds. */
  cpuUsPerRequest: { badge: number; badgeCacheOff: number; express: number; expressBare: number }
  /** express CPU per request / Badge CPU per request: the ratio a dedicated core would show. */
  cpuRatio: { cached: number; cacheOff: number }
  peakRssMb: { badge: number; express: number }
  /** Answers other than 2xx, and socket errors: should be none. */
  non2xx: number
}

export async function badgeVsExpress(s: Settings): Promise<ExpressResult> {
  const badge = await startServer(
    'badge (ES256)',
    'bench/servers/badge.ts',
    badgeEnv(s, 'express', { SIGNING_ALG: 'ES256' }),
    1,
  )
  let express: Awaited<ReturnType<typeof startServer>> | undefined
  try {
    const [token] = await badge.call<string[]>('tokens', { count: 1 })
    const { keys } = await badge.call<{ keys: object[] }>('jwks')
    const pem = createPublicKey({ key: keys[0] as never, format: 'jwk' }).export({
      type: 'spki',
      format: 'pem',
    })
    express = await startServer(
      'express + passport-jwt',
      'bench/baselines/express-passport.ts',
      { BENCH_PUBLIC_KEY_PEM: String(pem), ISSUER: 'http://badge.bench' },
      1,
    )
    const headers = { authorization: `Bearer ${token}` }
    const run =
      (url: string, withToken = true) =>
      (seconds = s.seconds) =>
        load({ url, seconds, connections: s.connections, headers: withToken ? headers : {} })
    const runs = {
      badge: run(`${badge.url}/bench/protected`),
      badgeCacheOff: run(`${badge.url}/bench/protected-nocache`),
      express: run(`${express.url}/bench/protected`),
      expressBare: run(`${express.url}/bench/bare`, false),
    }
    type Name = keyof typeof runs
    const names = Object.keys(runs) as Name[]
    const samples = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<Name, number[]>
    const cpu = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<Name, number[]>
    const peak = { badge: 0, express: 0 }
    let non2xx = 0
    // Warm-up, then interleaved rounds.
    for (const name of names) await runs[name](s.warmup)
    for (let round = 0; round < s.rounds; round++) {
      for (let i = 0; i < names.length; i++) {
        const name = names[(i + round) % names.length]!
        const server = name.startsWith('badge') ? badge : express
        await server.stats()
        const result = await runs[name]()
        const stats = await server.stats()
        samples[name].push(result.rps)
        non2xx += result.non2xx + result.errors
        cpu[name].push(stats.cpuMicros / Math.max(1, result.count))
        const which = name.startsWith('badge') ? 'badge' : 'express'
        peak[which] = Math.max(peak[which], stats.peakRss / 2 ** 20)
      }
    }
    const rps = Object.fromEntries(names.map((n) => [n, median(samples[n])])) as ExpressResult['rps']
    const cpuUs = Object.fromEntries(
      names.map((n) => [n, median(cpu[n])]),
    ) as ExpressResult['cpuUsPerRequest']
    return {
      rps,
      ratio: {
        cached: pairedRatio(samples.badge, samples.express),
        cacheOff: pairedRatio(samples.badgeCacheOff, samples.express),
      },
      cpuUsPerRequest: cpuUs,
      cpuRatio: { cached: cpuUs.express / cpuUs.badge, cacheOff: cpuUs.express / cpuUs.badgeCacheOff },
      peakRssMb: peak,
      non2xx,
    }
  } finally {
    await express?.stop()
    await badge.stop()
  }
}
