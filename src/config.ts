import { availableParallelism } from 'node:os'
import { z } from 'zod'
import {
  bool,
  count,
  type Limit,
  limit,
  linkTemplate,
  origins,
  scopeList,
  seconds,
  url,
} from './config-values.js'

export type { Limit }

// The one place that knows the environment's names and defaults (docs/contract.md §1).
// server.ts hands process.env to loadConfig(); nothing else reads the environment.

export const SIGNING_ALGS = ['EdDSA', 'ES256', 'RS256', 'HS256'] as const
export type SigningAlg = (typeof SIGNING_ALGS)[number]

const envSchema = z.object({
  PORT: count(0, 65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .regex(/^(sqlite:.+|postgres(ql)?:\/\/.+)$/, 'must be sqlite:PATH, sqlite::memory: or postgres://…')
    .default('sqlite:./data/badge.db'),
  DATABASE_POOL_MAX: count(1, 1000).default(10),
  // Unset: http://localhost:<PORT>, so a server moved to another port still names itself.
  ISSUER: url('the issuer').optional(),
  AUDIENCE: z.string().min(1).optional(),
  ACCESS_TOKEN_TTL: seconds('access token lifetime').default(900),
  REFRESH_TOKEN_TTL: seconds('session lifetime').default(2592000),
  // Unset: 1209600 (14 days), or REFRESH_TOKEN_TTL when that is shorter.
  REFRESH_TOKEN_IDLE_TTL: seconds('session idle lifetime').optional(),
  REFRESH_REUSE_GRACE_SECONDS: count(0, 300).default(10),
  SIGNING_ALG: z.enum(SIGNING_ALGS, { error: `must be one of ${SIGNING_ALGS.join(', ')}` }).default('EdDSA'),
  KEY_ENCRYPTION_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  KEY_ROTATION_DAYS: count(1, 3650).optional(),
  BCRYPT_COST: count(4, 15).default(12),
  LOGIN_CONCURRENCY: count(1, 64).default(Math.max(1, Math.min(4, availableParallelism()))),
  LOGIN_QUEUE: count(0, 10000).default(32),
  MAX_SESSIONS_PER_USER: count(1, 100000).default(100),
  SIGNUP_ENABLED: bool.default(true),
  SCOPES: scopeList.default(['profile:read', 'profile:write', 'admin']),
  DEFAULT_USER_SCOPES: scopeList.default(['profile:read', 'profile:write']),
  BOOTSTRAP_ADMIN_EMAIL: z.string().optional(),
  BOOTSTRAP_ADMIN_PASSWORD: z.string().optional(),
  RATE_LIMIT_ENABLED: bool.default(true),
  RATE_LIMIT_LOGIN_ACCOUNT: limit.prefault('10/15m'),
  RATE_LIMIT_LOGIN_ADDRESS: limit.prefault('100/15m'),
  RATE_LIMIT_TOKEN: limit.prefault('300/1m'),
  RATE_LIMIT_SIGNUP: limit.prefault('20/1h'),
  RATE_LIMIT_REVOKE: limit.prefault('120/1m'),
  RATE_LIMIT_INTROSPECT: limit.prefault('1200/1m'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
  TRUST_PROXY: z
    .string()
    .regex(
      /^(true|false|[0-9]{1,2}|[0-9a-fA-F.:/, ]+)$/,
      'must be true, false, a hop count, or addresses/CIDRs',
    )
    .default('false'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/.+/, 'must be a redis:// or rediss:// URL')
    .optional(),
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_.-]{1,64}$/, 'must be 1-64 letters, digits, ":", "_", "." or "-"')
    .default('badge:'),
  VERIFY_CACHE_SIZE: count(0, 10_000_000).default(10000),
  CORS_ORIGINS: origins.default([]),
  COOKIE_SAMESITE: z
    .enum(['Strict', 'Lax', 'None'], { error: 'must be Strict, Lax or None' })
    .default('Strict'),
  // Prometheus metrics on a listener of their own (docs/operations.md); unset: off.
  METRICS_PORT: count(1, 65535).optional(),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  // SIGTERM (docs/operations.md): readiness 503 at once; the listener keeps serving for
  // SHUTDOWN_DELAY_SECONDS (load balancers notice), in-flight requests finish; all within the grace.
  SHUTDOWN_GRACE_SECONDS: count(1, 3600).default(10),
  SHUTDOWN_DELAY_SECONDS: count(0, 3600).default(0),
  // Issue 17: the audit log (docs/audit.md).
  AUDIT_RETENTION_DAYS: count(1, 36500).default(90),
  AUDIT_LOGIN_FAILURES_BURST: count(1, 100000).default(20),
  // Issue 15: admin routes need a token from a login with a second factor (RFC 9470 step-up).
  ADMIN_REQUIRE_MFA: bool.default(false),
  // Issue 15: passkeys (docs/contract.md §10). Unset: ISSUER's host, and ISSUER's origin plus CORS_ORIGINS.
  WEBAUTHN_RP_ID: z
    .string()
    .regex(/^[a-z0-9.-]{1,253}$/, 'must be a lowercase domain name such as example.com')
    .optional(),
  WEBAUTHN_ORIGINS: origins.optional(),
  // Issue 16: the catch-up poll of the revocation feed (docs/revocation.md); the bus
  // (PostgreSQL LISTEN/NOTIFY, or Redis pub/sub with REDIS_URL) carries events sooner.
  REVOCATION_POLL_SECONDS: count(1, 3600).default(10),
  // Issue 16: DPoP (RFC 9449, docs/dpop.md). A proof is accepted this long after its iat,
  // and its jti is remembered (per instance, up to DPOP_REPLAY_CACHE_SIZE proofs) as long.
  DPOP_PROOF_MAX_AGE_SECONDS: count(5, 600).default(60),
  DPOP_REPLAY_CACHE_SIZE: count(1000, 10_000_000).default(100_000),
  DPOP_NONCE: bool.default(false),
  // Account lifecycle (docs/contract.md §9, docs/account.md).
  MAIL_URL: z
    .string()
    .regex(/^(log:|smtps?:\/\/.+)$/, 'must be log:, smtp://… or smtps://…')
    .refine((s) => s === 'log:' || URL.canParse(s), 'must be a valid smtp:// or smtps:// URL')
    .default('log:'),
  MAIL_FROM: z.string().min(3).max(320).default('Badge <no-reply@localhost>'),
  MAIL_TEMPLATES_DIR: z.string().min(1).optional(),
  EMAIL_VERIFICATION: z
    .enum(['off', 'optional', 'required'], { error: 'must be off, optional or required' })
    .default('optional'),
  EMAIL_VERIFY_URL: linkTemplate.optional(),
  PASSWORD_RESET_URL: linkTemplate.optional(),
  EMAIL_VERIFY_TTL: seconds('verification link lifetime').default(86400),
  PASSWORD_RESET_TTL: seconds('password reset link lifetime').default(1800),
  RATE_LIMIT_MAIL: limit.prefault('5/1h'),
  RATE_LIMIT_MAIL_ADDRESS: limit.prefault('30/1h'),
})

export type Env = Record<string, string | undefined>

/**
 * The parsed configuration. Its type is inferred from the schema above through
 * toConfig(), so a variable is declared once (in envSchema) and named once more here.
 */
export type Config = ReturnType<typeof toConfig>

export class ConfigError extends Error {
  override name = 'ConfigError'
}

function parseTrustProxy(value: string): boolean | number | string {
  if (value === 'true') return true
  if (value === 'false') return false
  if (/^[0-9]+$/.test(value)) return Number(value)
  return value
}

/** Parses the environment once. Throws ConfigError whose message is one line naming the variable. */
export function loadConfig(env: Env): Readonly<Config> {
  // Empty strings mean "unset", as in most .env files.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''))
  const parsed = envSchema.safeParse(present)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const name = String(issue.path[0] ?? 'environment')
    throw new ConfigError(`Invalid configuration: ${name} ${issue.message}`)
  }
  const e = parsed.data
  const fail = (name: string, message: string) => {
    throw new ConfigError(`Invalid configuration: ${name} ${message}`)
  }
  const unknown = e.DEFAULT_USER_SCOPES.filter((s) => !e.SCOPES.includes(s))
  if (unknown.length)
    fail('DEFAULT_USER_SCOPES', `must be a subset of SCOPES (unknown: ${unknown.join(' ')})`)
  if (!e.SCOPES.includes('admin')) fail('SCOPES', 'must include admin')
  if (Boolean(e.BOOTSTRAP_ADMIN_EMAIL) !== Boolean(e.BOOTSTRAP_ADMIN_PASSWORD)) {
    fail('BOOTSTRAP_ADMIN_PASSWORD', 'and BOOTSTRAP_ADMIN_EMAIL must be set together')
  }
  if (
    e.BOOTSTRAP_ADMIN_PASSWORD !== undefined &&
    [...e.BOOTSTRAP_ADMIN_PASSWORD.normalize('NFC')].length < 8
  ) {
    fail('BOOTSTRAP_ADMIN_PASSWORD', 'must be at least 8 characters')
  }
  if (
    e.BOOTSTRAP_ADMIN_EMAIL !== undefined &&
    !z.email().max(254).safeParse(e.BOOTSTRAP_ADMIN_EMAIL.trim().toLowerCase()).success
  ) {
    // The same rule as sign-up (http/schemas.ts emailSchema): a longer one breaks GET /v1/me later.
    fail('BOOTSTRAP_ADMIN_EMAIL', 'must be an email address of at most 254 characters')
  }
  // Only an idle lifetime set explicitly can contradict the absolute one; the default follows it.
  if (e.REFRESH_TOKEN_IDLE_TTL !== undefined && e.REFRESH_TOKEN_IDLE_TTL > e.REFRESH_TOKEN_TTL) {
    fail('REFRESH_TOKEN_IDLE_TTL', 'must not exceed REFRESH_TOKEN_TTL')
  }
  if (e.SHUTDOWN_DELAY_SECONDS >= e.SHUTDOWN_GRACE_SECONDS) {
    fail('SHUTDOWN_DELAY_SECONDS', 'must be less than SHUTDOWN_GRACE_SECONDS')
  }
  const config = toConfig(e)
  // WebAuthn §5.1.4: a page may use an RP ID that is its own host or a registrable suffix
  // of it. Checked when the operator set either variable; the defaults keep only the
  // origins the default RP ID covers (toConfig), so an unrelated CORS_ORIGINS never stops a start.
  if (e.WEBAUTHN_RP_ID !== undefined || e.WEBAUTHN_ORIGINS !== undefined) {
    const { id: rpId, origins: rpOrigins } = config.webauthn
    const uncovered = rpOrigins.find((o) => !isRpIdFor(rpId, o))
    if (uncovered)
      fail(
        e.WEBAUTHN_RP_ID !== undefined ? 'WEBAUTHN_RP_ID' : 'WEBAUTHN_ORIGINS',
        `must be a registrable suffix of every WebAuthn origin's host (${rpId} does not cover ${uncovered})`,
      )
    if (rpOrigins.length === 0) fail('WEBAUTHN_ORIGINS', 'must list at least one origin')
  }
  return config
}

/** WebAuthn §5.1.4: `rpId` is the origin's host or a parent domain of it (never a bare TLD). */
function isRpIdFor(rpId: string, origin: string): boolean {
  const host = new URL(origin).hostname
  if (host === rpId) return true
  return host.endsWith(`.${rpId}`) && (rpId.includes('.') || rpId === 'localhost')
}

/** The schema's output in the shape the code uses (camelCase, grouped, defaults resolved). */
function toConfig(e: z.output<typeof envSchema>) {
  // The idle lifetime, unless set, follows a shorter absolute lifetime; the issuer follows PORT.
  const refreshTokenIdleTtl = e.REFRESH_TOKEN_IDLE_TTL ?? Math.min(1209600, e.REFRESH_TOKEN_TTL)
  const issuer = (e.ISSUER ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '')
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    databasePoolMax: e.DATABASE_POOL_MAX,
    issuer,
    audience: e.AUDIENCE ?? issuer,
    accessTokenTtl: e.ACCESS_TOKEN_TTL,
    refreshTokenTtl: e.REFRESH_TOKEN_TTL,
    refreshTokenIdleTtl,
    refreshReuseGraceSeconds: e.REFRESH_REUSE_GRACE_SECONDS,
    signingAlg: e.SIGNING_ALG,
    keyEncryptionSecret: e.KEY_ENCRYPTION_SECRET,
    /** Automatic signing-key rotation period in days; undefined = rotate only on demand. */
    keyRotationDays: e.KEY_ROTATION_DAYS,
    bcryptCost: e.BCRYPT_COST,
    loginConcurrency: e.LOGIN_CONCURRENCY,
    loginQueue: e.LOGIN_QUEUE,
    maxSessionsPerUser: e.MAX_SESSIONS_PER_USER,
    signupEnabled: e.SIGNUP_ENABLED,
    scopes: e.SCOPES,
    defaultUserScopes: e.DEFAULT_USER_SCOPES,
    bootstrapAdmin:
      e.BOOTSTRAP_ADMIN_EMAIL && e.BOOTSTRAP_ADMIN_PASSWORD
        ? { email: e.BOOTSTRAP_ADMIN_EMAIL, password: e.BOOTSTRAP_ADMIN_PASSWORD }
        : (undefined as { email: string; password: string } | undefined),
    rateLimitEnabled: e.RATE_LIMIT_ENABLED,
    /** docs/contract.md §7 limits: failed logins, then requests per client address by endpoint. */
    rateLimits: Object.freeze({
      loginAccount: e.RATE_LIMIT_LOGIN_ACCOUNT,
      loginAddress: e.RATE_LIMIT_LOGIN_ADDRESS,
      token: e.RATE_LIMIT_TOKEN,
      signup: e.RATE_LIMIT_SIGNUP,
      revoke: e.RATE_LIMIT_REVOKE,
      introspect: e.RATE_LIMIT_INTROSPECT,
      mail: e.RATE_LIMIT_MAIL_ADDRESS,
    }),
    logLevel: e.LOG_LEVEL,
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    verifyCacheSize: e.VERIFY_CACHE_SIZE,
    corsOrigins: e.CORS_ORIGINS,
    cookieSameSite: e.COOKIE_SAMESITE,
    /** GET /metrics listens here when set (docs/operations.md). */
    metrics: e.METRICS_PORT === undefined ? undefined : { port: e.METRICS_PORT, host: e.METRICS_HOST },
    /** SIGTERM handling, in seconds (docs/operations.md). */
    shutdown: Object.freeze({
      graceSeconds: e.SHUTDOWN_GRACE_SECONDS,
      delaySeconds: e.SHUTDOWN_DELAY_SECONDS,
    }),
    /** Audit events older than this many days are purged (docs/audit.md). */
    auditRetentionDays: e.AUDIT_RETENTION_DAYS,
    /** Failed logins per address and window written one by one before sampling starts. */
    auditLoginFailuresBurst: e.AUDIT_LOGIN_FAILURES_BURST,
    adminRequireMfa: e.ADMIN_REQUIRE_MFA,
    /** docs/contract.md §10: the relying party (WebAuthn §5.1.4). */
    webauthn: Object.freeze({
      id: e.WEBAUTHN_RP_ID ?? new URL(issuer).hostname,
      origins: Object.freeze(
        e.WEBAUTHN_ORIGINS ??
          [new URL(issuer).origin, ...e.CORS_ORIGINS].filter((o) =>
            isRpIdFor(e.WEBAUTHN_RP_ID ?? new URL(issuer).hostname, o),
          ),
      ),
    }),
    revocationPollSeconds: e.REVOCATION_POLL_SECONDS,
    /** RFC 9449 proofs at the token endpoint and on protected routes (docs/dpop.md). */
    dpop: Object.freeze({
      proofMaxAgeSeconds: e.DPOP_PROOF_MAX_AGE_SECONDS,
      replayCacheSize: e.DPOP_REPLAY_CACHE_SIZE,
      nonce: e.DPOP_NONCE,
    }),
    /** docs/contract.md §9: mail delivery and the account-lifecycle links. */
    mail: Object.freeze({
      url: e.MAIL_URL,
      from: e.MAIL_FROM,
      /** A folder of operator templates overriding the built-in ones (mail/templates.ts). */
      templatesDir: e.MAIL_TEMPLATES_DIR,
      verification: e.EMAIL_VERIFICATION,
      verifyUrl: e.EMAIL_VERIFY_URL ?? `${issuer}/account/verify-email#token={token}`,
      resetUrl: e.PASSWORD_RESET_URL ?? `${issuer}/account/reset-password#token={token}`,
      verifyTtl: e.EMAIL_VERIFY_TTL,
      resetTtl: e.PASSWORD_RESET_TTL,
      /** Mails per recipient address; the per-client-address limit is rateLimits.mail. */
      perRecipient: e.RATE_LIMIT_MAIL,
    }),
  })
}
