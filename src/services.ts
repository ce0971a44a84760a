import type { FastifyBaseLogger } from 'fastify'
import { createLinkTokenRepository } from './account/link-token-repository.js'
import { createMailThrottle } from './account/mail-throttle.js'
import { createAccountService } from './account/service.js'
import { createAuditLog } from './audit/audit-log.js'
import { createAuditRepository } from './audit/repository.js'
import { createClientRepository } from './clients/repository.js'
import { createClientService } from './clients/service.js'
import type { Clock } from './clock.js'
import type { Config } from './config.js'
import type { BadgeDatabase } from './db/index.js'
import { KeyStore } from './keys/key-store.js'
import { createKeyMaintenance } from './keys/maintenance.js'
import { createKeyRepository } from './keys/repository.js'
import { createOutboxRepository } from './mail/outbox-repository.js'
import { createOutboxSender } from './mail/outbox-sender.js'
import { loadMailTemplates, type MailTemplates } from './mail/templates.js'
import { createMailTransport } from './mail/transport.js'
import { createMaintenance } from './maintenance.js'
import { type MetricsRecorder, noMetrics } from './metrics/recorder.js'
import { createMfaTokenRepository } from './mfa/mfa-token-repository.js'
import { createRecoveryCodeRepository } from './mfa/recovery-code-repository.js'
import { createMfaService } from './mfa/service.js'
import { createTotpRepository } from './mfa/totp-repository.js'
import { createGrants } from './oauth/grants.js'
import { createIntrospection } from './oauth/introspection.js'
import { createPasskeyRepository } from './passkeys/passkey-repository.js'
import { createPasskeyService } from './passkeys/service.js'
import { createWebauthnChallengeRepository } from './passkeys/webauthn-challenge-repository.js'
import { purgeSessions } from './sessions/purge.js'
import { createRefreshTokenRepository } from './sessions/refresh-token-repository.js'
import { createSessionRepository } from './sessions/repository.js'
import { postgresNotify } from './sessions/revocation-bus.js'
import { createRevocationLog, type RevocationBus } from './sessions/revocation-log.js'
import { createSessionService } from './sessions/service.js'
import { type CounterStore, createMemoryCounterStore } from './throttle/counters.js'
import { createLoginThrottle } from './throttle/login-throttle.js'
import { createAccessTokenIssuer } from './tokens/access-token.js'
import { createRefreshTokens } from './tokens/refresh-token.js'
import { createAdminUserService } from './users/admin-service.js'
import { createPasswordCheck } from './users/password-check.js'
import { createPasswordHasher } from './users/passwords.js'
import { createUserRepository } from './users/repository.js'
import { createUserService } from './users/service.js'
import { createNonceSource } from './verify/dpop/nonce.js'
import { createDpopProofVerifier } from './verify/dpop/proof.js'
import { RevokedSet } from './verify/revoked-set.js'
import { createAccessTokenVerifier } from './verify/verifier.js'

export interface ServiceDeps {
  config: Readonly<Config>
  database: BadgeDatabase
  clock: Clock
  log: FastifyBaseLogger
  /** Where failed-login counters live; in memory (this instance only) when omitted. */
  counters?: CounterStore
  /** What the domain reports to the metrics; nothing when omitted (METRICS_PORT unset, the CLI). */
  metrics?: MetricsRecorder
  /** How revocations reach the other instances (docs/revocation.md); poll only when omitted. */
  revocationBus?: RevocationBus
  /** The mail texts, already loaded (buildApp does it before anything else); loaded here when omitted. */
  templates?: MailTemplates
}

/** Wires the domain services over explicit dependencies; shared by the HTTP app and the CLI. */
/** RFC 9449 §8: server nonces rotate this often (the previous one stays good). */
const DPOP_NONCE_WINDOW_SECONDS = 300

export function createServices({
  config,
  database,
  clock,
  log,
  counters,
  metrics = noMetrics,
  revocationBus,
  templates = loadMailTemplates({ dir: config.mail.templatesDir, issuer: config.issuer }),
}: ServiceDeps) {
  const { db } = database
  const counterStore = counters ?? createMemoryCounterStore(clock)
  // Issue 17: every change records its audit event through this one writer (audit/audit-log.ts).
  const audit = createAuditLog({
    db,
    repo: createAuditRepository(db),
    clock,
    log,
    counters: counterStore,
    loginFailuresBurst: config.auditLoginFailuresBurst,
    retentionDays: config.auditRetentionDays,
  })
  const keyRepo = createKeyRepository(db)
  const keys = new KeyStore({
    repo: keyRepo,
    audit,
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
  // Issue 16: the revocation feed and this instance's revoked set (docs/contract.md §11).
  const revocations = createRevocationLog({
    db,
    clock,
    accessTokenTtl: config.accessTokenTtl,
    set: new RevokedSet(),
    // Without a bus (the CLI), PostgreSQL still notifies the listening instances.
    bus: revocationBus ?? (database.dialect === 'postgres' ? postgresNotify() : undefined),
  })
  const sessions = createSessionRepository(db, revocations)
  const refreshTokenRepository = createRefreshTokenRepository(db)
  const userRepository = createUserRepository(db)
  const loginThrottle = createLoginThrottle({
    store: counterStore,
    account: config.rateLimits.loginAccount,
    address: config.rateLimits.loginAddress,
    enabled: config.rateLimitEnabled,
    log,
    onRefused: metrics.rateLimited,
  })
  const passwordCheck = createPasswordCheck({
    throttle: loginThrottle,
    hasher: passwords,
    concurrency: config.loginConcurrency,
    queue: config.loginQueue,
    enabled: config.rateLimitEnabled,
  })
  const users = createUserService({
    db,
    users: userRepository,
    passwords,
    passwordCheck,
    clock,
    defaultScopes: config.defaultUserScopes,
    audit,
    revocations,
  })
  const adminUsers = createAdminUserService({
    db,
    users: userRepository,
    sessions,
    revocations,
    clock,
    knownScopes: config.scopes,
    audit,
  })
  const sessionService = createSessionService({
    db,
    audit,
    sessions,
    clock,
    refreshTokenIdleTtl: config.refreshTokenIdleTtl,
  })
  const clients = createClientService({
    db,
    clients: createClientRepository(db),
    sessions,
    clock,
    knownScopes: config.scopes,
    audit,
  })
  const refreshTokens = createRefreshTokens({
    db,
    audit,
    dialect: database.dialect,
    sessions,
    tokens: refreshTokenRepository,
    clock,
    refreshTokenTtl: config.refreshTokenTtl,
    refreshTokenIdleTtl: config.refreshTokenIdleTtl,
    reuseGraceSeconds: config.refreshReuseGraceSeconds,
    maxSessionsPerUser: config.maxSessionsPerUser,
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
    revoked: revocations.set,
  })
  const passkeyRepository = createPasskeyRepository(db)
  const passkeys = createPasskeyService({
    db,
    passkeys: passkeyRepository,
    challenges: createWebauthnChallengeRepository(db),
    users,
    rp: config.webauthn,
    throttle: loginThrottle,
    clock,
    revocations,
    audit,
  })
  // RFC 9449: one proof checker (and so one replay cache) for the token endpoint and the
  // protected routes of this instance.
  const dpopProofs = createDpopProofVerifier({
    clock,
    maxAgeSeconds: config.dpop.proofMaxAgeSeconds,
    replayCacheSize: config.dpop.replayCacheSize,
    nonces: config.dpop.nonce ? createNonceSource(DPOP_NONCE_WINDOW_SECONDS) : undefined,
  })
  const mfa = createMfaService({
    db,
    users,
    passkeys: passkeyRepository,
    assertPasskey: passkeys.assert,
    totp: createTotpRepository(db),
    recoveryCodes: createRecoveryCodeRepository(db),
    mfaTokens: createMfaTokenRepository(db),
    throttle: loginThrottle,
    clock,
    encryptionSecret: config.keyEncryptionSecret,
    issuer: config.issuer,
    revocations,
    audit,
  })
  const grants = createGrants({
    users,
    issueAccessToken,
    refreshTokens,
    clients,
    log,
    audit,
    knownScopes: config.scopes,
    metrics,
    mfa,
    passkeys,
    clock,
    requireVerifiedEmail: config.mail.verification === 'required',
  })
  const introspection = createIntrospection({
    sessions,
    tokens: refreshTokenRepository,
    users,
    verifier,
    clock,
    issuer: config.issuer,
    refreshTokenIdleTtl: config.refreshTokenIdleTtl,
    reuseGraceSeconds: config.refreshReuseGraceSeconds,
    knownScopes: config.scopes,
  })
  const purgeEndedSessions = async () => {
    const purged = await purgeSessions(db, { now: clock(), idleTtlMs: config.refreshTokenIdleTtl * 1000 })
    // mfa_tokens past their 5 minutes, or spent, go with the ended sessions.
    await mfa.purgeEndedTokens()
    await passkeys.purgeEndedChallenges()
    return purged
  }
  const keyMaintenance = createKeyMaintenance({
    keys,
    repo: keyRepo,
    clock,
    log,
    accessTokenTtl: config.accessTokenTtl,
    rotationDays: config.keyRotationDays,
  })
  const maintenance = createMaintenance({
    keyMaintenance,
    purgeSessions: purgeEndedSessions,
    purgeAuditEvents: audit.purgeExpired,
    purgeRevocations: revocations.purge,
    clock,
    log,
  })
  // The account lifecycle (docs/account.md): mail outbox, its sender, link tokens.
  const outbox = createOutboxRepository(db, database.dialect)
  const mailTransport = createMailTransport(config.mail.url, config.mail.from, log)
  const mailSender = createOutboxSender({ outbox, transport: mailTransport, clock, log })
  const account = createAccountService({
    db,
    users: userRepository,
    links: createLinkTokenRepository(db),
    outbox,
    passwords,
    verifyCurrentPassword: users.verifyCurrentPassword,
    mailThrottle: createMailThrottle({
      store: counters ?? createMemoryCounterStore(clock),
      perRecipient: config.mail.perRecipient,
      enabled: config.rateLimitEnabled,
      log,
    }),
    clock,
    log,
    mail: config.mail,
    templates,
    kickSender: () => void mailSender.run(),
    createUser: users.createUser,
    revocations,
    audit,
  })
  return {
    config,
    outbox,
    mailTransport,
    mailSender,
    account,
    database,
    clock,
    audit,
    keys,
    passwords,
    users,
    adminUsers,
    sessions,
    sessionService,
    clients,
    refreshTokens,
    issueAccessToken,
    verifier,
    dpopProofs,
    loginThrottle,
    passwordCheck,
    grants,
    mfa,
    passkeys,
    introspection,
    revocations,
    purgeSessions: purgeEndedSessions,
    keyMaintenance,
    maintenance,
  }
}

export type Services = ReturnType<typeof createServices>
