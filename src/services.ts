import type { FastifyBaseLogger } from 'fastify'
import type { Clock } from './clock.js'
import type { Config } from './config.js'
import type { BadgeDatabase } from './db/index.js'
import { KeyStore } from './keys/key-store.js'
import { createKeyRepository } from './keys/repository.js'
import { createGrants } from './oauth/grants.js'
import { createLoginThrottle } from './oauth/login-throttle.js'
import { type CounterStore, createMemoryCounterStore } from './plugins/counters.js'
import { createSessionRepository } from './sessions/repository.js'
import { createAccessTokenIssuer } from './tokens/access-token.js'
import { createRefreshTokens } from './tokens/refresh-token.js'
import { createPasswordHasher } from './users/passwords.js'
import { createUserRepository } from './users/repository.js'
import { createUserService } from './users/service.js'
import { createAccessTokenVerifier } from './verify/verifier.js'

export interface ServiceDeps {
  config: Readonly<Config>
  database: BadgeDatabase
  clock: Clock
  log: FastifyBaseLogger
  /** Where failed-login counters live; in memory (this instance only) when omitted. */
  counters?: CounterStore
}

/** Wires the domain services over explicit dependencies; shared by the HTTP app and the CLI. */
export function createServices({ config, database, clock, log, counters }: ServiceDeps) {
  const { db } = database
  const keys = new KeyStore({
    repo: createKeyRepository(db),
    clock,
    log,
    signingAlg: config.signingAlg,
    accessTokenTtl: config.accessTokenTtl,
    keyEncryptionSecret: config.keyEncryptionSecret,
  })
  const passwords = createPasswordHasher({
    cost: config.bcryptCost,
    concurrency: config.loginConcurrency,
    queue: config.loginQueue,
  })
  const users = createUserService({
    users: createUserRepository(db),
    passwords,
    clock,
    defaultScopes: config.defaultUserScopes,
  })
  const sessions = createSessionRepository(db)
  const refreshTokens = createRefreshTokens({
    db,
    sessions,
    clock,
    refreshTokenTtl: config.refreshTokenTtl,
    refreshTokenIdleTtl: config.refreshTokenIdleTtl,
    reuseGraceSeconds: config.refreshReuseGraceSeconds,
  })
  const issueAccessToken = createAccessTokenIssuer({
    keys,
    clock,
    issuer: config.issuer,
    audience: config.audience,
    ttl: config.accessTokenTtl,
  })
  const verifier = createAccessTokenVerifier({
    keys,
    clock,
    issuer: config.issuer,
    audience: config.audience,
    cacheSize: config.verifyCacheSize,
  })
  const loginThrottle = createLoginThrottle({
    store: counters ?? createMemoryCounterStore(clock),
    account: config.rateLimits.loginAccount,
    address: config.rateLimits.loginAddress,
    enabled: config.rateLimitEnabled,
    log,
  })
  const grants = createGrants({ users, issueAccessToken, refreshTokens, loginThrottle, log })
  return {
    config,
    database,
    clock,
    keys,
    passwords,
    users,
    sessions,
    refreshTokens,
    issueAccessToken,
    verifier,
    loginThrottle,
    grants,
  }
}

export type Services = ReturnType<typeof createServices>
