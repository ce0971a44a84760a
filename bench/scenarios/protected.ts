import { createHash, generateKeyPairSync, type KeyObject, randomUUID, sign } from 'node:crypto'
import type autocannon from 'autocannon'
import { jwkThumbprint } from '../../src/verify/dpop/jwk-thumbprint.js'
import { startServer } from '../lib/child.js'
import { type LoadResult, load } from '../lib/load.js'
import { badgeEnv, type Settings } from '../lib/settings.js'
import { median, pairedRatio } from '../lib/stats.js'

// protected/bare: the same no-I/O route with and without authenticate + requireScopes,
// in one Badge process (EdDSA, the default), rounds interleaved so drift hits both.
// `revoked`: the one-token request against a verifier whose in-memory revoked set holds
// REVOKED_SESSIONS ended sessions (issue 16); the token measured is not among them.
// `dpop`: the same route with a DPoP-bound token and a new ES256 proof per request
// (RFC 9449, docs/dpop.md), signed by the load generator.

export type Variant = 'bare' | 'oneToken' | 'rotation' | 'cacheOff' | 'revoked' | 'dpop'

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

/** autocannon requests with `Authorization: DPoP` and a fresh proof each (RFC 9449 §4.2, §7). */
export function dpopRequests(token: string, key: KeyObject, jwk: Record<string, unknown>, htu: string) {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const header = b64({ typ: 'dpop+jwt', alg: 'ES256', jwk })
  const ath = createHash('sha256').update(token).digest('base64url')
  const authorization = `DPoP ${token}`
  const requests: autocannon.Request[] = [
    {
      setupRequest: (request) => {
        const input = `${header}.${b64({ jti: randomUUID(), htm: 'GET', htu, iat: Math.floor(Date.now() / 1000), ath })}`
        const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString(
          'base64url',
        )
        return { ...request, headers: { ...request.headers, authorization, dpop: `${input}.${signature}` } }
      },
    },
  ]
  return requests
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
    const dpopKey = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const { kty, crv, x, y } = dpopKey.publicKey.export({ format: 'jwk' })
    const dpopJwk = { kty, crv, x, y }
    const [boundToken] = await server.call<string[]>('tokens', { count: 1, jkt: jwkThumbprint(dpopJwk) })
    // Badge compares htu with ISSUER and the path (docs/dpop.md).
    const dpop = dpopRequests(
      boundToken!,
      dpopKey.privateKey,
      dpopJwk,
      `${badgeEnv(s, 'protected').ISSUER}/bench/protected`,
    )
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
      dpop: () =>
        load({
          url: `${server.url}/bench/protected`,
          seconds: s.seconds,
          connections: s.connections,
          requests: dpop,
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
    const variants: Variant[] = ['bare', 'oneToken', 'rotation', 'cacheOff', 'revoked', 'dpop']
    const rounds = Object.fromEntries(variants.map((v) => [v, []])) as unknown as Record<Variant, number[]>
    const cpu = Object.fromEntries(variants.map((v) => [v, []])) as unknown as Record<Variant, number[]>
    const peak = Object.fromEntries(variants.map((v) => [v, 0])) as Record<Variant, number>
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
        dpop: pairedRatio(rounds.dpop, rounds.bare),
      },
      rounds,
      cpuUsPerRequest: cpuUs,
      cpuRatio: {
        oneToken: cpuUs.bare / cpuUs.oneToken,
        rotation: cpuUs.bare / cpuUs.rotation,
        cacheOff: cpuUs.bare / cpuUs.cacheOff,
        revoked: cpuUs.bare / cpuUs.revoked,
        dpop: cpuUs.bare / cpuUs.dpop,
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
