import { Counter, collectDefaultMetrics, type Metric, Registry } from 'prom-client'
import type { Clock } from '../clock.js'
import { type CustomMetric, createHttpMetrics } from './http-metrics.js'
import type { MetricsRecorder } from './recorder.js'

// Every series Badge exposes at GET /metrics (docs/operations.md lists them with what to
// alert on). Counters the domain code moves are prom-client Counters, moved through the
// MetricsRecorder interface; everything else (bcrypt queue, key age, verified-token
// cache, database pool) is read from its owner when Prometheus scrapes, so nothing is
// recorded on the paths that produce it.

/** What the scrape reads from the running services. */
export interface MetricSources {
  clock: Clock
  /** bcrypt compares waiting for a slot and running (users/passwords.ts). */
  loginQueue(): { waiting: number; running: number }
  /** When the current signing key became active (epoch ms), if one is loaded. */
  signingKeyActivatedAt(): number | undefined
  /** Lookups of the verified-token cache since start (verify/verifier.ts). */
  verifyCache(): { hits: number; misses: number }
  /** PostgreSQL pool connections; undefined on SQLite (one connection, no pool). */
  databasePool(): { total: number; idle: number; waiting: number } | undefined
  /** Mail not yet sent nor given up (mail/outbox-repository.ts): one count query per scrape. */
  mailOutboxPending(): Promise<number>
}

type Sample = { labels: Record<string, string>; value: number }

function sourced(
  name: string,
  help: string,
  type: CustomMetric['type'],
  values: () => Sample[] | Promise<Sample[]>,
): CustomMetric {
  const metric = { name, help, type, aggregator: 'sum' as const }
  // prom-client awaits get() when it renders a scrape.
  return { ...metric, get: async () => ({ ...metric, values: await values() }) }
}

export function createMetrics() {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const registers = [registry]
  const tokensIssued = new Counter({
    name: 'badge_tokens_issued_total',
    help: 'Access tokens issued, by grant type.',
    labelNames: ['grant'] as const,
    registers,
  })
  const loginFailures = new Counter({
    name: 'badge_login_failures_total',
    help: 'Password grants refused, by the error code answered (invalid_grant: wrong email or password).',
    labelNames: ['reason'] as const,
    registers,
  })
  const reuse = new Counter({
    name: 'badge_refresh_reuse_detected_total',
    help: 'Spent refresh tokens presented again: each revoked its whole session.',
    registers,
  })
  const rateLimited = new Counter({
    name: 'badge_rate_limited_total',
    help: 'Requests refused with 429, by the limit that refused them.',
    labelNames: ['limit'] as const,
    registers,
  })
  const http = createHttpMetrics()
  // prom-client formats any object with name, help, type and get(); its types list only its own classes.
  const register = (metric: CustomMetric) => registry.registerMetric(metric as unknown as Metric)
  for (const collector of http.collectors) register(collector)

  const recorder: MetricsRecorder = {
    tokenIssued: (grant) => tokensIssued.inc({ grant }),
    loginFailed: (reason) => loginFailures.inc({ reason }),
    refreshReuseDetected: () => reuse.inc(),
    rateLimited: (limit) => rateLimited.inc({ limit }),
  }

  /** Adds the series read from the running services; call once they exist. */
  function observe(sources: MetricSources) {
    register(
      sourced('badge_login_queue_depth', 'bcrypt password checks waiting for a slot.', 'gauge', () => [
        { labels: {}, value: sources.loginQueue().waiting },
      ]),
    )
    register(
      sourced('badge_login_checks_running', 'bcrypt password checks running now.', 'gauge', () => [
        { labels: {}, value: sources.loginQueue().running },
      ]),
    )
    register(
      sourced(
        'badge_signing_key_age_seconds',
        'Seconds since the current signing key became active.',
        'gauge',
        () => {
          const activatedAt = sources.signingKeyActivatedAt()
          if (activatedAt === undefined) return []
          return [{ labels: {}, value: Math.max(0, (sources.clock() - activatedAt) / 1000) }]
        },
      ),
    )
    register(
      sourced(
        'badge_verify_cache_requests_total',
        'Bearer checks by verified-token cache result (hit: no signature check needed).',
        'counter',
        () => {
          const { hits, misses } = sources.verifyCache()
          return [
            { labels: { result: 'hit' }, value: hits },
            { labels: { result: 'miss' }, value: misses },
          ]
        },
      ),
    )
    register(
      sourced(
        'badge_db_pool_connections',
        'PostgreSQL pool connections by state (in_use, idle); absent on SQLite.',
        'gauge',
        () => {
          const pool = sources.databasePool()
          if (pool === undefined) return []
          return [
            { labels: { state: 'in_use' }, value: pool.total - pool.idle },
            { labels: { state: 'idle' }, value: pool.idle },
          ]
        },
      ),
    )
    register(
      sourced(
        'badge_db_pool_waiting',
        'Queries waiting for a PostgreSQL pool connection; absent on SQLite.',
        'gauge',
        () => {
          const pool = sources.databasePool()
          return pool === undefined ? [] : [{ labels: {}, value: pool.waiting }]
        },
      ),
    )
    register(
      sourced(
        'badge_mail_outbox_pending',
        'Mail in the outbox not yet sent nor given up (docs/account.md).',
        'gauge',
        async () => [{ labels: {}, value: await sources.mailOutboxPending() }],
      ),
    )
  }

  return { registry, recorder, http, observe }
}

export type Metrics = ReturnType<typeof createMetrics>
