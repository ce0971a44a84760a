import { spawnSync } from 'node:child_process'
import type autocannon from 'autocannon'
import { type ServerProcess, startServer } from '../lib/child.js'
import { type LoadResult, load } from '../lib/load.js'
import { badgeEnv, type Settings } from '../lib/settings.js'
import { median, pairedRatio } from '../lib/stats.js'

// floor: Badge against the right floors, by server CPU time per request (issue 18).
//   - bare Fastify 5 (no plugins, no hooks, no schema, no logger): the framework's own
//     fixed cost, against Badge's unprotected GET /health/live;
//   - one Fastify route + jose verifying ES256: the peer of Badge's uncached protected route;
//   - node-oidc-provider with its in-memory adapter: the peer of Badge's client_credentials,
//     refresh (rotated) and introspection.
// Every server runs in its own process pinned to CPU 1 (one at a time under load, rounds
// interleaved), autocannon on CPU 0. Every token is signed with ES256 on both sides.
//
// protected/bare with 10,000 revoked sessions in the in-memory revoked set (issue 16) is the
// `revoked` variant of scenarios/protected.ts, paired in the same rounds as the empty set.

const EMAIL = 'floor@example.com'
const PASSWORD = 'correct horse battery staple'
const SCOPE = 'profile:read profile:write'
const OIDC_SECRET = 'service-secret-that-is-long-enough-for-the-bench'

export const FLOOR_VARIANTS = [
  'fastifyBare',
  'badgeLive',
  'joseProtected',
  'badgeProtectedCacheOff',
  'badgeProtected',
  'oidcClientCredentials',
  'badgeClientCredentials',
  'oidcIntrospect',
  'badgeIntrospect',
  'oidcRefresh',
  'badgeRefresh',
] as const
export type FloorVariant = (typeof FLOOR_VARIANTS)[number]

export interface FloorResult {
  /** 2xx responses per second, median over rounds (with BENCH_BEFORE, "before.*" keys too). */
  rps: Record<FloorVariant, number>
  /** Server CPU time per answered request (µs), median over rounds. */
  cpuUsPerRequest: Record<FloorVariant, number>
  /** Badge CPU µs / its floor's CPU µs (lower is better). */
  cpuRatio: {
    liveVsBareFastify: number
    protectedCacheOffVsJose: number
    clientCredentialsVsOidc: number
    introspectVsOidc: number
    refreshVsOidc: number
  }
  peakRssMb: Record<string, number>
  /** BENCH_BEFORE runs only: the other checkout's commit. */
  beforeCommit?: string
  /** BENCH_BEFORE runs only: per variant, the median of per-round CPU ratios this checkout / the other. */
  afterOverBefore?: Record<string, number>
  /** Answers other than 2xx, and socket errors, by variant: should all be 0. */
  failed: Record<FloorVariant, number>
  non2xx: number
}

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`

/** Refresh requests that each spend a ready token and put its successor back (see refresh.ts). */
export function chainedRefresh(path: string, ready: string[], extra = ''): autocannon.Request[] {
  return [
    {
      method: 'POST',
      path,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      setupRequest: (request) => ({
        ...request,
        body: `grant_type=refresh_token&refresh_token=${ready.shift()}${extra}`,
      }),
      onResponse: (status, body) => {
        if (status === 200) ready.push((JSON.parse(body) as { refresh_token: string }).refresh_token)
      },
    },
  ]
}

async function badgeLogin(url: string): Promise<string> {
  const res = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'password', username: EMAIL, password: PASSWORD }),
  })
  if (res.status !== 200) throw new Error(`login failed: ${res.status}`)
  return ((await res.json()) as { refresh_token: string }).refresh_token
}

/** Signs the bench user up and registers a client: what the Badge variants need. */
async function prepareBadge(badge: ServerProcess): Promise<{ basic: string }> {
  const signup = await fetch(`${badge.url}/v1/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
  })
  if (signup.status !== 201) throw new Error(`signup failed: ${signup.status}`)
  const client = await badge.call<{ clientId: string; clientSecret: string }>('client', {
    scopes: SCOPE.split(' '),
  })
  return { basic: basic(client.clientId, client.clientSecret) }
}

export async function floor(s: Settings): Promise<FloorResult> {
  const servers: ServerProcess[] = []
  const start = async (name: string, script: string, env: Record<string, string>) => {
    const server = await startServer(name, script, env, 1)
    servers.push(server)
    return server
  }
  try {
    // Started together: start-up (tsx) is most of a --quick run's time.
    const [fastify, badge, oidc] = await Promise.all([
      start('fastify (bare)', 'bench/baselines/fastify-bare.ts', {}),
      start('badge (ES256)', 'bench/servers/badge.ts', badgeEnv(s, 'floor', { SIGNING_ALG: 'ES256' })),
      start('oidc-provider (memory)', 'bench/baselines/oidc-provider.ts', { BENCH_ALG: 'ES256' }),
    ])
    const [token] = await badge.call<string[]>('tokens', { count: 1 })
    const { keys } = await badge.call<{ keys: object[] }>('jwks')
    const jose = await start('fastify + jose (ES256)', 'bench/baselines/fastify-jose.ts', {
      BENCH_PUBLIC_JWK: JSON.stringify(keys[0]),
      ISSUER: 'http://badge.bench',
    })
    const badgeSetup = await prepareBadge(badge)
    const opaque = await oidc.call<string>('opaqueAccessToken')
    const form = { 'content-type': 'application/x-www-form-urlencoded' }
    const oidcBasic = basic('service', OIDC_SECRET)
    const bearer = { authorization: `Bearer ${token}` }
    const pool = s.connections * 2
    const post = (url: string, authorization: string, body: string) => (seconds: number) =>
      load({
        url,
        seconds,
        connections: s.connections,
        method: 'POST',
        headers: { ...form, authorization },
        body,
      })
    const get =
      (url: string, headers: Record<string, string> = {}) =>
      (seconds: number) =>
        load({ url, seconds, connections: s.connections, headers })
    type Run = [ServerProcess, (seconds: number, ready: string[]) => Promise<LoadResult>]
    const ccBody = `grant_type=client_credentials&scope=${encodeURIComponent(SCOPE)}`
    const badgeRuns = (server: ServerProcess, auth: string, accessToken: string) => {
      const withToken = { authorization: `Bearer ${accessToken}` }
      return {
        badgeLive: [server, get(`${server.url}/health/live`)],
        badgeProtectedCacheOff: [server, get(`${server.url}/bench/protected-nocache`, withToken)],
        badgeProtected: [server, get(`${server.url}/bench/protected`, withToken)],
        badgeClientCredentials: [server, post(`${server.url}/oauth/token`, auth, ccBody)],
        badgeIntrospect: [server, post(`${server.url}/oauth/introspect`, auth, `token=${accessToken}`)],
        badgeRefresh: [
          server,
          (seconds: number, ready: string[]) =>
            load({
              url: server.url,
              seconds,
              connections: s.connections,
              requests: chainedRefresh('/oauth/token', ready),
            }),
        ],
      } satisfies Record<string, Run>
    }
    // Fresh refresh tokens for every run, logged in before the CPU window opens.
    const prepared: Record<string, () => Promise<string[]>> = {
      badgeRefresh: () => Promise.all(Array.from({ length: pool }, () => badgeLogin(badge.url))),
      oidcRefresh: () => oidc.call<string[]>('refreshTokens', { count: pool }),
    }
    const runs: Record<string, Run> = {
      ...badgeRuns(badge, badgeSetup.basic, token!),
      fastifyBare: [fastify, get(`${fastify.url}/health/live`)],
      joseProtected: [jose, get(`${jose.url}/bench/protected`, bearer)],
      oidcClientCredentials: [oidc, post(`${oidc.url}/token`, oidcBasic, ccBody)],
      oidcIntrospect: [oidc, post(`${oidc.url}/token/introspection`, oidcBasic, `token=${opaque}`)],
      oidcRefresh: [
        oidc,
        (seconds, ready) =>
          load({
            url: oidc.url,
            seconds,
            connections: s.connections,
            requests: chainedRefresh('/token', ready, '&client_id=app'),
          }),
      ],
    }
    // BENCH_BEFORE=<another checkout of Badge> also measures that checkout's Badge in the
    // same rounds ("before.badgeLive", …): a before/after of a change on a noisy machine.
    const extra: string[] = []
    let beforeCommit: string | undefined
    const beforeDir = process.env.BENCH_BEFORE
    if (beforeDir) {
      const before = await start(
        'badge before (ES256)',
        `${beforeDir}/bench/servers/badge.ts`,
        badgeEnv(s, 'floor-before', { SIGNING_ALG: 'ES256' }),
      )
      beforeCommit = spawnSync('git', ['-C', beforeDir, 'rev-parse', '--short', 'HEAD'])
        .stdout?.toString()
        .trim()
      const [beforeToken] = await before.call<string[]>('tokens', { count: 1 })
      const beforeSetup = await prepareBadge(before)
      for (const [name, run] of Object.entries(badgeRuns(before, beforeSetup.basic, beforeToken!))) {
        runs[`before.${name}`] = run
        extra.push(`before.${name}`)
      }
      prepared['before.badgeRefresh'] = () =>
        Promise.all(Array.from({ length: pool }, () => badgeLogin(before.url)))
    }
    // BENCH_FLOOR=badgeLive,fastifyBare measures only those (while working on one of them).
    const only = process.env.BENCH_FLOOR?.split(',')
    // Each "before.X" right after its X, so the pair shares a round's conditions.
    const all = FLOOR_VARIANTS.flatMap((v) => [v, ...extra.filter((e) => e === `before.${v}`)])
    const variants = all.filter((v) => !only || only.includes(v.replace(/^before\./, '')))
    const cpu = Object.fromEntries(all.map((v) => [v, [] as number[]]))
    const rps = Object.fromEntries(all.map((v) => [v, [] as number[]]))
    const failed = Object.fromEntries(all.map((v) => [v, 0]))
    const peak: Record<string, number> = {}
    // Warm-up (JIT, connections); the smoke run only checks that every variant answers.
    if (!s.quick)
      for (const variant of variants) {
        const [, run] = runs[variant]!
        await run(s.warmup, (await prepared[variant]?.()) ?? [])
      }
    for (let round = 0; round < s.rounds; round++) {
      for (let i = 0; i < variants.length; i++) {
        const variant = variants[(i + round) % variants.length]!
        const [server, run] = runs[variant]!
        const ready = (await prepared[variant]?.()) ?? []
        await server.stats()
        const result = await run(s.seconds, ready)
        const stats = await server.stats()
        cpu[variant]!.push(stats.cpuMicros / Math.max(1, result.count))
        rps[variant]!.push(result.rps)
        failed[variant]! += result.non2xx + result.errors
        peak[server.name] = Math.max(peak[server.name] ?? 0, stats.peakRss / 2 ** 20)
      }
    }
    const cpuUs = Object.fromEntries(all.map((v) => [v, median(cpu[v]!)])) as Record<FloorVariant, number>
    return {
      rps: Object.fromEntries(all.map((v) => [v, median(rps[v]!)])) as Record<FloorVariant, number>,
      cpuUsPerRequest: cpuUs,
      cpuRatio: {
        liveVsBareFastify: cpuUs.badgeLive / cpuUs.fastifyBare,
        protectedCacheOffVsJose: cpuUs.badgeProtectedCacheOff / cpuUs.joseProtected,
        clientCredentialsVsOidc: cpuUs.badgeClientCredentials / cpuUs.oidcClientCredentials,
        introspectVsOidc: cpuUs.badgeIntrospect / cpuUs.oidcIntrospect,
        refreshVsOidc: cpuUs.badgeRefresh / cpuUs.oidcRefresh,
      },
      peakRssMb: peak,
      beforeCommit,
      // With BENCH_BEFORE: median over rounds of (this checkout's CPU µs / the other's), per variant.
      afterOverBefore: extra.length
        ? Object.fromEntries(
            extra
              .map((e) => e.slice('before.'.length))
              .filter((v) => cpu[v]!.length > 0)
              .map((v) => [v, pairedRatio(cpu[v]!, cpu[`before.${v}`]!)]),
          )
        : undefined,
      failed: failed as Record<FloorVariant, number>,
      non2xx: Object.values(failed).reduce((a, b) => a + b, 0),
    }
  } finally {
    for (const server of servers.reverse()) await server.stop()
  }
}
