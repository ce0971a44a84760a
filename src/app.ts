import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod'
import type { Redis } from 'ioredis'
import type { DestinationStream } from 'pino'
import { accountPageRoutes } from './account/page-routes.js'
import { accountRoutes } from './account/routes.js'
import { auditRoutes } from './audit/routes.js'
import { clientRoutes } from './clients/routes.js'
import { type Clock, systemClock } from './clock.js'
import type { Config } from './config.js'
import { type BadgeDatabase, createDatabase } from './db/index.js'
import { migrateToLatest } from './db/migrations.js'
import { healthRoutes } from './health/routes.js'
import { rootRoutes } from './http/root.js'
import { securityHeadersPlugin } from './http/security-headers.js'
import { SERVER_TIMEOUTS, type ServerTimeouts, serverOptions } from './http/server-options.js'
import { keyRoutes } from './keys/routes.js'
import { loggerOptions } from './logger.js'
import { OUTBOX_POLL_INTERVAL_MS } from './mail/outbox-sender.js'
import { loadMailTemplates } from './mail/templates.js'
import { isLogTransport } from './mail/transport.js'
import { MAINTENANCE_INTERVAL_MS } from './maintenance.js'
import { createMetrics, type Metrics } from './metrics/registry.js'
import { mfaAdminRoutes } from './mfa/admin-routes.js'
import { mfaRoutes } from './mfa/routes.js'
import { introspectRoutes } from './oauth/introspect-routes.js'
import { revokeRoutes } from './oauth/revoke-routes.js'
import { tokenRoutes } from './oauth/token-routes.js'
import { wellKnownRoutes } from './oauth/well-known-routes.js'
import { passkeyLoginRoutes } from './passkeys/login-routes.js'
import { passkeyRoutes } from './passkeys/routes.js'
import { browserPlugin } from './plugins/browser.js'
import { API_CSP_DIRECTIVES, docsRoutes } from './plugins/docs.js'
import { errorHandlerPlugin, frameworkErrorHandler } from './plugins/error-handler.js'
import { inputHygienePlugin } from './plugins/input-hygiene.js'
import { metricsPlugin } from './plugins/metrics.js'
import { openapiPlugin } from './plugins/openapi.js'
import { rateLimitPlugin } from './plugins/rate-limit.js'
import { connectRedis } from './plugins/redis.js'
import { routeSecurityPlugin } from './plugins/route-security.js'
import { createServices, type Services } from './services.js'
import {
  POSTGRES_CHANNEL,
  postgresTransport,
  type RevocationTransport,
  redisTransport,
} from './sessions/revocation-bus.js'
import type { RevocationBus } from './sessions/revocation-log.js'
import { revocationRoutes } from './sessions/revocation-routes.js'
import { sessionRoutes } from './sessions/routes.js'
import { createMemoryCounterStore, createRedisCounterStore, withFallback } from './throttle/counters.js'
import { adminUserRoutes } from './users/admin-routes.js'
import { bootstrapAdmin } from './users/bootstrap.js'
import { userRoutes } from './users/routes.js'
import { bearerAuthPlugin } from './verify/authenticate.js'
import { requestUri } from './verify/dpop/resource-request.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Domain services, for tests and the server's lifecycle; routes receive them as options. */
    services: Services
    /** The Prometheus registry and recorders when METRICS_PORT is set; server.ts serves it. */
    metrics: Metrics | undefined
    /** Starts a graceful shutdown: readiness answers 503 from now on (server.ts, on SIGTERM). */
    drain(): void
  }
}

export interface AppDeps {
  /** An open database; the app then leaves closing it to the caller. */
  database?: BadgeDatabase
  clock?: Clock
  /** Logger options; defaults to LOG_LEVEL with redaction. */
  logger?: FastifyServerOptions['logger']
  /** Where the default logger writes (stdout when unset): lets tests read every log line. */
  logStream?: DestinationStream
  /** Overrides of the socket timeouts, so tests can play a slow client without waiting seconds. */
  timeouts?: Partial<ServerTimeouts>
  /**
   * Run the maintenance pass every minute (default). Tests turn it off and call
   * `app.services.maintenance.run()` themselves, so a pass never lands mid-test.
   */
  maintenanceTimer?: boolean
}

/** Loads the revoked set, opens the bus (Redis with REDIS_URL, else PostgreSQL NOTIFY) and starts the catch-up poll. */
async function startRevocationFeed(
  app: FastifyInstance,
  services: Services,
  rateLimitRedis: Redis | undefined,
  setTransport: (t: RevocationTransport) => void,
): Promise<NodeJS.Timeout> {
  const { config, revocations, database, clock } = services
  const catchUp = () =>
    revocations.sync().catch((err) => app.log.warn({ err }, 'revocation catch-up read failed'))
  await revocations.sync()
  const options = {
    onMessage: (payload: string) =>
      void revocations.receive(payload).catch((err) => app.log.warn({ err }, 'revocation sync read failed')),
    onSubscribed: catchUp,
    log: app.log,
  }
  if (config.redisUrl) {
    const publisher = rateLimitRedis ?? (await connectRedis(config.redisUrl, app.log))
    const transport = redisTransport(publisher, `${config.redisKeyPrefix}revocations`, options)
    setTransport({
      publish: transport.publish,
      close: async () => {
        await transport.close()
        if (!rateLimitRedis) publisher.disconnect()
      },
    })
  } else if (database.dialect === 'postgres') {
    setTransport(postgresTransport(config.databaseUrl, POSTGRES_CHANNEL, options))
  }
  return setInterval(() => {
    revocations.set.prune(Math.floor(clock() / 1000))
    void catchUp()
  }, config.revocationPollSeconds * 1000).unref()
}

/** Builds the Badge app, migrated and with keys loaded, but not listening. */
export async function buildApp(config: Readonly<Config>, deps: AppDeps = {}): Promise<FastifyInstance> {
  // Operator mail templates are read and checked first: a bad one refuses the start
  // before anything is opened (docs/account.md "Mail templates").
  const templates = loadMailTemplates({ dir: config.mail.templatesDir, issuer: config.issuer })
  const app = Fastify({
    logger: deps.logger ?? loggerOptions(config.logLevel, deps.logStream),
    bodyLimit: 65536,
    ...serverOptions({ ...SERVER_TIMEOUTS, ...deps.timeouts }),
    frameworkErrors: frameworkErrorHandler,
    // A hop count is valid at run time; fastify's types only list the other forms.
    trustProxy: config.trustProxy as boolean | string,
    // While closing (SIGTERM), a request already sent on an open connection is served, with
    // Connection: close, rather than refused with 503: it reached an instance that can still
    // answer it, and the client's next request goes elsewhere (docs/operations.md).
    return503OnClosing: false,
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
  }).withTypeProvider<ZodTypeProvider>()
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  // docs/contract.md §3: bodies are JSON (and form-encoded on /oauth/*, registered there).
  app.removeContentTypeParser('text/plain')

  const database =
    deps.database ?? createDatabase({ url: config.databaseUrl, poolMax: config.databasePoolMax })
  if (!deps.database) app.addHook('onClose', () => database.close())

  // Shared rate-limit counters (docs/contract.md §7); Badge starts and serves without them if Redis is down.
  const redis =
    config.rateLimitEnabled && config.redisUrl ? await connectRedis(config.redisUrl, app.log) : undefined
  if (redis) app.addHook('onClose', async () => void redis.disconnect())

  const clock = deps.clock ?? systemClock
  // Prometheus metrics (docs/operations.md): nothing is created or recorded unless METRICS_PORT is set.
  const metrics = config.metrics ? createMetrics() : undefined
  // Issue 16: revocations reach the other instances through a transport opened once the
  // schema exists (below); until then, and without one, publishing is a no-op.
  let revocationTransport: RevocationTransport | undefined
  const revocationBus: RevocationBus = {
    publish: (trx, payload) => revocationTransport?.publish(trx, payload) ?? Promise.resolve(),
  }
  const services = createServices({
    templates,
    metrics: metrics?.recorder,
    revocationBus,
    config,
    database,
    clock,
    log: app.log,
    counters:
      redis &&
      withFallback(
        createRedisCounterStore(redis, config.redisKeyPrefix),
        createMemoryCounterStore(clock),
        (err) => app.log.debug({ err }, 'Redis failed: failed login counted in memory'),
      ),
  })
  let revocationTimer: NodeJS.Timeout | undefined
  // Instances starting together on one empty database take turns, so exactly one
  // creates the first signing key and the bootstrap admin.
  try {
    await database.withLock('startup', async () => {
      await migrateToLatest(database.db)
      await services.keys.ensureSigningKey()
      if (config.bootstrapAdmin) await bootstrapAdmin(services, config.bootstrapAdmin, app.log)
    })
    // Issue 16: the revoked set is current before the first request (docs/revocation.md),
    // then kept current by the transport and the catch-up poll.
    revocationTimer = await startRevocationFeed(app, services, redis, (t) => {
      revocationTransport = t
    })
  } catch (error) {
    // Nothing this app opened may keep the process alive after a failed start.
    redis?.disconnect()
    if (!deps.database) await database.close().catch(() => {})
    throw error
  }

  app.addHook('onClose', async () => {
    clearInterval(revocationTimer)
    await revocationTransport?.close()
  })

  // Key lifecycle, automatic rotation and session purge; its key reload also means keys
  // rotated by another instance arrive within a minute even without an unknown kid.
  const maintenanceTimer =
    deps.maintenanceTimer === false
      ? undefined
      : setInterval(() => void services.maintenance.run(), MAINTENANCE_INTERVAL_MS).unref()
  // onClose hooks run in reverse order: this one, before the database closes, lets a running pass finish.
  app.addHook('onClose', async () => {
    clearInterval(maintenanceTimer)
    await services.maintenance.settle()
  })

  // The mail outbox sender (docs/account.md): polls for due messages and retries; a pass
  // also starts right after a request commits mail. Closing waits for a running pass.
  const mailTimer = setInterval(() => void services.mailSender.run(), OUTBOX_POLL_INTERVAL_MS).unref()
  app.addHook('onReady', async () => void services.mailSender.run())
  app.addHook('onClose', async () => {
    clearInterval(mailTimer)
    await services.account.settle()
    await services.mailSender.settle()
    services.mailTransport.close()
  })
  if (isLogTransport(config.mail.url) && !/^https?:\/\/(localhost|127\.0\.0\.1)(:|\/|$)/.test(config.issuer))
    app.log.warn('MAIL_URL=log: writes mail to the log instead of sending it; set MAIL_URL for production')

  app.decorate('services', services)
  app.decorate('metrics', metrics)
  let draining = false
  app.decorate('drain', () => {
    draining = true
  })
  if (metrics) {
    metrics.observe({
      clock,
      loginQueue: services.passwords.load,
      signingKeyActivatedAt: () => {
        try {
          return services.keys.signingKey().activatedAt ?? undefined
        } catch {
          return undefined // no signing key loaded: the series is absent rather than wrong
        }
      },
      verifyCache: () => services.verifier.cacheStats,
      databasePool: database.poolStats,
      mailOutboxPending: () => services.outbox.pendingCount(),
    })
    // Before every route: it binds a recorder to each route as the route is added.
    await app.register(metricsPlugin, { http: metrics.http })
  }
  await app.register(errorHandlerPlugin)
  await app.register(inputHygienePlugin)
  // helmet's headers, computed once at start-up rather than per request (http/security-headers.ts).
  await app.register(securityHeadersPlugin, { directives: API_CSP_DIRECTIVES })
  await app.register(browserPlugin, { config })
  await app.register(openapiPlugin, { scopes: config.scopes })
  // RFC 9449 §4.3: a proof's htu names the URI the client called: ISSUER and the path.
  const issuerBase = config.issuer.replace(/\/+$/, '')
  const dpop = { proofs: services.dpopProofs, issuer: issuerBase }
  await app.register(bearerAuthPlugin, {
    verifier: services.verifier,
    dpop: { proofs: services.dpopProofs, requestUrl: (request) => requestUri(issuerBase, request) },
  })
  await app.register(routeSecurityPlugin, { adminRequireMfa: config.adminRequireMfa })
  if (config.rateLimitEnabled) {
    await app.register(rateLimitPlugin, {
      limits: config.rateLimits,
      redis,
      keyPrefix: config.redisKeyPrefix,
      onLimited: metrics?.recorder.rateLimited,
    })
  }

  // Each route plugin gets exactly the services it uses (docs/architecture.md).
  const { grants, clients, refreshTokens, verifier, keys, users } = services
  await app.register(tokenRoutes, { grants, clients, clock, dpop })
  await app.register(revokeRoutes, { refreshTokens, verifier, clients, clock })
  await app.register(wellKnownRoutes, { keys, issuer: config.issuer, scopes: config.scopes })
  await app.register(introspectRoutes, { clients, introspection: services.introspection })
  await app.register(userRoutes, {
    users,
    signUp: services.account.signUp,
    signupEnabled: config.signupEnabled,
  })
  await app.register(accountRoutes, { account: services.account, mfa: services.mfa })
  await app.register(accountPageRoutes)
  await app.register(sessionRoutes, { sessionService: services.sessionService })
  await app.register(adminUserRoutes, { adminUsers: services.adminUsers })
  await app.register(clientRoutes, { clients })
  await app.register(healthRoutes, { database, draining: () => draining })
  await app.register(keyRoutes, { keys, signingAlg: config.signingAlg })
  await app.register(auditRoutes, { audit: services.audit })
  await app.register(mfaRoutes, { mfa: services.mfa })
  await app.register(mfaAdminRoutes, { mfa: services.mfa, users })
  await app.register(passkeyRoutes, { passkeys: services.passkeys })
  await app.register(passkeyLoginRoutes, { passkeys: services.passkeys })
  await app.register(revocationRoutes, { clients, revocations: services.revocations })
  await app.register(docsRoutes)
  await app.register(rootRoutes)
  return app
}
