import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { type Clock, systemClock } from '../clock.js'
import { bearerAuthPlugin } from './authenticate.js'
import { createNonceSource } from './dpop/nonce.js'
import { createDpopProofVerifier } from './dpop/proof.js'
import { requestUri } from './dpop/resource-request.js'
import { RemoteJwks } from './remote-jwks.js'
import { RevocationFeed, type RevocationFeedOptions } from './revocation-feed.js'
import { type AccessTokenVerifier, createAccessTokenVerifier, type KeySource } from './verifier.js'

// The resource-server kit: Badge's own bearer check (verifier.ts + authenticate.ts),
// fed by the issuer's JWKS instead of Badge's database, for other Fastify services:
//
//   await app.register(badgeVerify, { issuer: 'https://auth.example.com' })
//   app.get('/notes', { onRequest: [app.authenticate, requireScopes('notes:read')] }, handler)

declare module 'fastify' {
  interface FastifyInstance {
    /** The kit's verifier, e.g. to check a token that arrives outside an HTTP header. */
    badgeVerifier: AccessTokenVerifier
    /** The revocation feed the kit follows, when given client credentials (its `staleness()`, `set`). */
    badgeRevocations: RevocationFeed | null
  }
}

export interface BadgeVerifyOptions {
  /** Badge's ISSUER: tokens must carry exactly this `iss`. */
  issuer: string
  /** Badge's AUDIENCE: tokens must carry exactly this `aud`. Defaults to `issuer`. */
  audience?: string
  /** Where the keys are. Defaults to `<issuer>/.well-known/jwks.json`; never taken from a token. */
  jwksUrl?: string
  /** Verified tokens kept in memory (like VERIFY_CACHE_SIZE); 0 disables. Default 10000. */
  cacheSize?: number
  /** JWKS fetch timeout (ms). Default 5000. */
  fetchTimeoutMs?: number
  /** JWKS fetches never start more often than this (ms), unknown kids included. Default 5000. */
  minFetchIntervalMs?: number
  /** Key-set freshness when Badge's response names no max-age (s). Default 300. */
  defaultMaxAgeSeconds?: number
  /** Another key source instead of a remote JWKS (tests, pinned keys). */
  keys?: KeySource
  /**
   * Follow Badge's revocation feed (docs/contract.md §11) with a registered client's
   * credentials: tokens of ended sessions and cut-off users are then refused with 401
   * invalid_token. `url` defaults to `issuer`.
   */
  revocations?: Omit<RevocationFeedOptions, 'url' | 'clock' | 'log'> & { url?: string }
  /**
   * DPoP (RFC 9449, docs/dpop.md): requests with `Authorization: DPoP` and a proof are
   * always accepted, and a DPoP-bound token sent as Bearer is always refused. These tune it.
   */
  dpop?: DpopOptions
  clock?: Clock
}

export interface DpopOptions {
  /**
   * This service's public base URL (e.g. "https://api.example.com"), which a proof's htu
   * must start with. Defaults to the request's protocol and Host header: set it behind a
   * proxy that does not forward them (see Fastify's trustProxy).
   */
  url?: string
  /** Seconds a proof is accepted after its iat (and its jti remembered). Default 60. */
  proofMaxAgeSeconds?: number
  /** Proofs remembered against replay. Default 100000. */
  replayCacheSize?: number
  /** Require server nonces (RFC 9449 §9). Default false. */
  nonce?: boolean
}

async function badgeVerifyPlugin(app: FastifyInstance, options: BadgeVerifyOptions) {
  if (typeof options.issuer !== 'string' || options.issuer === '')
    throw new TypeError('badgeVerify needs the issuer (Badge’s ISSUER)')
  const clock = options.clock ?? systemClock
  let keys = options.keys
  if (!keys) {
    const remote = new RemoteJwks({
      jwksUrl: options.jwksUrl ?? `${options.issuer.replace(/\/+$/, '')}/.well-known/jwks.json`,
      clock,
      timeoutMs: options.fetchTimeoutMs,
      minFetchIntervalMs: options.minFetchIntervalMs,
      defaultMaxAgeSeconds: options.defaultMaxAgeSeconds,
      log: app.log,
    })
    // Start even if Badge is unreachable right now: the first token then triggers a
    // (throttled) fetch, and the service recovers without a restart.
    await remote.refresh().catch(() => {})
    app.addHook('onClose', async () => remote.close())
    keys = remote
  }
  let revocations: RevocationFeed | null = null
  if (options.revocations) {
    revocations = new RevocationFeed({
      ...options.revocations,
      url: options.revocations.url ?? options.issuer,
      clock,
      log: app.log,
    })
    // The first read completes (or fails) before the service serves: a restarted
    // service knows the current set from its first request on.
    await revocations.start()
    app.addHook('onClose', async () => revocations?.close())
  }
  const verifier = createAccessTokenVerifier({
    keys,
    clock,
    issuer: options.issuer,
    audience: options.audience ?? options.issuer,
    cacheSize: options.cacheSize ?? 10_000,
    revoked: revocations ?? undefined,
  })
  const dpop = options.dpop ?? {}
  const proofs = createDpopProofVerifier({
    clock,
    maxAgeSeconds: dpop.proofMaxAgeSeconds ?? 60,
    replayCacheSize: dpop.replayCacheSize ?? 100_000,
    nonces: dpop.nonce ? createNonceSource(300) : undefined,
  })
  const base = dpop.url?.replace(/\/+$/, '')
  app.decorate('badgeVerifier', verifier)
  app.decorate('badgeRevocations', revocations)
  await app.register(bearerAuthPlugin, {
    verifier,
    dpop: {
      proofs,
      requestUrl: (request) => requestUri(base ?? `${request.protocol}://${request.host}`, request),
    },
  })
}

export const badgeVerify = fp(badgeVerifyPlugin, { name: 'badge-verify', fastify: '5.x' })
