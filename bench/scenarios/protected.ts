import type autocannon from 'autocannon'
import { startServer } from '../lib/child.js'
import { type LoadResult, load } from '../lib/load.js'
import { badgeEnv, type Settings } from '../lib/settings.js'
import { median, pairedRatio } from '../lib/stats.js'

// protected/bare: the same no-I/O route with and without authenticate + requireScopes,
// in one Badge process (EdDSA, the default), rounds interleaved so drift hits both.
// `revoked`: the one-token request against a verifier whose in-memory revoked set holds
// REVOKED_SESSIONS ended sessions (issue 16); the token measured is not among them.

export type Variant = 'bare' | 'oneToken' | 'rotation' | 'cacheOff' | 'revoked'

/** Sessions in the revoked set of the `revoked` variant. */
export const REVOKED_SESSIONS = 10_000

export interface ProtectedResult {
  rps: Record<Variant, number>
  /** Median of the per-round ratios variant / bare (each round runs both back to back). */
  ratio: Record<Exclude<Variant, 'bare'>, number>
  rounds: Record<Variant, number[]>
  /** Server CPU time per request (µs), median over rounds: robust to a busy machine. */
  cpuUsPerRequest: Record<Variant, number>
  /** bare CPU per request / variant CPU per request: the ratio a dedicated core would show. */
  cpuRatio: Record<Exclude<Variant, 'bare'>, number>
  peakRssMb: Record<Variant, number>
  rotationTokens: number
  /** Size of the revoked set the `revoked` variant ran against. */
  revokedSessions: number
  non2xx: number
}

/** autocannon requests that send `tokens` in turn, one per request, across all connections. */
export function rotatingBearer(tokens: string[]): autocannon.Request[] {
  let next = 0
  return [
    {
      setupRequest: (request) => {
        const token = tokens[next++ % tokens.length]
        return { ...request, headers: { ...request.headers, authorization: `Bearer ${token}` } }
      },
    },
  ]
}

export async function protectedVsBare(s: Settings): Promise<ProtectedResult> {
  const server = await startServer('badge (EdDSA)', 'bench/servers/badge.ts', badgeEnv(s, 'protected'), 1)
  try {
    // The one token is one of the rotation, so exactly s.rotation distinct tokens meet the
    // cache (VERIFY_CACHE_SIZE, 10,000 by default): one more would turn a cyclic walk into
    // all misses, which is how any LRU answers a loop one larger than itself.
    const tokens = await server.call<string[]>('tokens', { count: s.rotation })
    const auth = { authorization: `Bearer ${tokens[0]}` }
    // Loaded before any measuring: the set is full for every round of the variant.
    const revokedSessions = await server.call<number>('revoke', { count: REVOKED_SESSIONS })
    const runs: Record<Variant, () => Promise<LoadResult>> = {
      // The bare route gets the same request, token included: only the check differs.
      bare: () =>
        load({
          url: `${server.url}/bench/bare`,
          seconds: s.seconds,
          connections: s.connections,
          headers: auth,
        }),
      oneToken: () =>
        load({
          url: `${server.url}/bench/protected`,
          seconds: s.seconds,
          connections: s.connections,
          headers: auth,
        }),
      rotation: () =>
        load({
          url: `${server.url}/bench/protected`,
          seconds: s.seconds,
          connections: s.connections,
          requests: rotatingBearer(tokens),
        }),
      cacheOff: () =>
        load({
          url: `${server.url}/bench/protected-nocache`,
          seconds: s.seconds,
          connections: s.connections,
          headers: auth,
        }),
      revoked: () =>
        load({
          url: `${server.url}/bench/protected-revoked`,
          seconds: s.seconds,
          connections: s.connections,
          headers: auth,
        }),
    }
    // Warm up: JIT, connections, and every rotating token verified once into the cache.
    await load({
      url: `${server.url}/bench/bare`,
      seconds: s.warmup,
      connections: s.connections,
      headers: auth,
    })
    await load({
      url: `${server.url}/bench/protected`,
      seconds: s.warmup,
      connections: s.connections,
      headers: auth,
    })
    await load({
      url: `${server.url}/bench/protected-revoked`,
      seconds: s.warmup,
      connections: s.connections,
      headers: auth,
    })
    await load({
      url: `${server.url}/bench/protected`,
      seconds: 60,
      amount: tokens.length,
      connections: s.connections,
      requests: rotatingBearer(tokens),
    })
    const variants: Variant[] = ['bare', 'oneToken', 'rotation', 'cacheOff', 'revoked']
    const rounds = { bare: [], oneToken: [], rotation: [], cacheOff: [], revoked: [] } as Record<
      Variant,
      number[]
    >
    const cpu = { bare: [], oneToken: [], rotation: [], cacheOff: [], revoked: [] } as Record<
      Variant,
      number[]
    >
    const peak = { bare: 0, oneToken: 0, rotation: 0, cacheOff: 0, revoked: 0 } as Record<Variant, number>
    let non2xx = 0
    for (let round = 0; round < s.rounds; round++) {
      // Rotate the order each round so no variant always runs first or last.
      for (let i = 0; i < variants.length; i++) {
        const variant = variants[(i + round) % variants.length]!
        await server.stats()
        const result = await runs[variant]()
        const stats = await server.stats()
        rounds[variant].push(result.rps)
        cpu[variant].push(stats.cpuMicros / Math.max(1, result.count))
        non2xx += result.non2xx + result.errors
        peak[variant] = Math.max(peak[variant], stats.peakRss / 2 ** 20)
      }
    }
    const rps = Object.fromEntries(variants.map((v) => [v, median(rounds[v])])) as Record<Variant, number>
    const cpuUs = Object.fromEntries(variants.map((v) => [v, median(cpu[v])])) as Record<Variant, number>
    return {
      rps,
      ratio: {
        oneToken: pairedRatio(rounds.oneToken, rounds.bare),
        rotation: pairedRatio(rounds.rotation, rounds.bare),
        cacheOff: pairedRatio(rounds.cacheOff, rounds.bare),
        revoked: pairedRatio(rounds.revoked, rounds.bare),
      },
      rounds,
      cpuUsPerRequest: cpuUs,
      cpuRatio: {
        oneToken: cpuUs.bare / cpuUs.oneToken,
        rotation: cpuUs.bare / cpuUs.rotation,
        cacheOff: cpuUs.bare / cpuUs.cacheOff,
        revoked: cpuUs.bare / cpuUs.revoked,
      },
      peakRssMb: peak,
      rotationTokens: tokens.length,
      revokedSessions,
      non2xx,
    }
  } finally {
    await server.stop()
  }
}
