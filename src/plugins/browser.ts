import cors, { type FastifyCorsOptions } from '@fastify/cors'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config.js'
import { csrfRejected } from '../errors.js'
import { refreshCookieHeader } from '../oauth/cookie.js'

// Browser mode's infrastructure (docs/contract.md §8): the refresh-cookie reply helpers,
// CORS for exactly the listed origins, and the CSRF guard every
// request that sets or uses the refresh cookie must pass. SECURITY.md ("Browser
// mode") explains the threat model.

type BrowserConfig = Pick<Config, 'issuer' | 'corsOrigins' | 'cookieSameSite'>

export const CSRF_HEADER = 'x-badge-csrf'

/**
 * The CSRF guard for cookie requests. Each rule stops a different attacker:
 * - Origin must be Badge's own or listed: a hostile page's requests carry its origin,
 *   and a request without one (old browsers, non-browsers) cannot prove where it came from.
 * - X-Badge-CSRF: 1 is a non-simple header: a form post cannot send it, and a
 *   cross-origin fetch can only after a CORS preflight that only listed origins pass.
 * - Sec-Fetch-Site: cross-site from an origin not in CORS_ORIGINS is refused even if
 *   the origin is Badge's own (a misconfigured proxy or ISSUER must not widen trust).
 */
export function createCsrfGuard({ issuer, corsOrigins }: Pick<BrowserConfig, 'issuer' | 'corsOrigins'>) {
  const own = new URL(issuer).origin
  const listed = new Set(corsOrigins)
  return function checkCsrf(request: FastifyRequest): void {
    const origin = request.headers.origin
    if (origin === undefined || origin === '') {
      throw csrfRejected('Requests that use the refresh-token cookie must carry an Origin header.')
    }
    if (origin !== own && !listed.has(origin)) {
      throw csrfRejected('This origin may not use the refresh-token cookie: it is not in CORS_ORIGINS.')
    }
    if (request.headers[CSRF_HEADER] !== '1') {
      throw csrfRejected('Requests that use the refresh-token cookie must send the header X-Badge-CSRF: 1.')
    }
    if (request.headers['sec-fetch-site'] === 'cross-site' && !listed.has(origin)) {
      throw csrfRejected('Cross-site requests may use the refresh-token cookie only from CORS_ORIGINS.')
    }
  }
}

const CORS_PATHS = /^\/(oauth|v1)\//

/** Credentialed CORS for exactly the listed origins, on /oauth/* and /v1/* only. */
function corsDelegator(corsOrigins: readonly string[]) {
  const listed = new Set(corsOrigins)
  const allowed = (origin: string): FastifyCorsOptions => ({
    origin, // echoed only after an exact match
    credentials: true,
    methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
    // DPoP (RFC 9449): the proof header, and the server nonce the app must read.
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Badge-CSRF', 'DPoP'],
    // So the app can read RFC 6750 / RFC 9449 challenges, nonces and rate-limit hints.
    exposedHeaders: ['WWW-Authenticate', 'Retry-After', 'DPoP-Nonce'],
    maxAge: 600,
  })
  return (request: FastifyRequest, callback: (error: Error | null, options: FastifyCorsOptions) => void) => {
    const origin = request.headers.origin
    const ok = origin !== undefined && listed.has(origin) && CORS_PATHS.test(request.url)
    callback(null, ok ? allowed(origin) : { origin: false })
  }
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

/** Start-up warnings for browser-mode settings that weaken it (docs/contract.md §8). */
export function browserModeWarnings({ issuer, corsOrigins, cookieSameSite }: BrowserConfig): string[] {
  const inUse = corsOrigins.length > 0 || cookieSameSite !== 'Strict'
  if (!inUse) return []
  const warnings: string[] = []
  if (cookieSameSite === 'None') {
    warnings.push(
      'COOKIE_SAMESITE=None: the refresh-token cookie is sent on cross-site requests (Partitioned); ' +
        'CSRF protection then rests on the Origin allowlist and the X-Badge-CSRF header alone. ' +
        'Prefer Strict with the app and Badge on the same site.',
    )
  }
  const url = new URL(issuer)
  if (url.protocol === 'http:' && !LOOPBACK.has(url.hostname)) {
    warnings.push(
      `ISSUER is http:// on ${url.hostname}: browsers refuse the Secure refresh-token cookie ` +
        'over plain HTTP except on localhost. Serve Badge over HTTPS.',
    )
  }
  return warnings
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Throws 403 csrf_rejected unless `request` passes browser mode's CSRF rules. */
    checkCsrf(request: FastifyRequest): void
  }
}

async function browser(app: FastifyInstance, { config }: { config: BrowserConfig }) {
  // No cookie plugin: nothing parsed, and no onSend hook, on every request of every route.
  // The refresh cookie is the only cookie Badge sets, so a later call replaces an earlier
  // one in the same reply (oauth/cookie.ts reads and writes it; docs/performance.md).
  const sameSite = config.cookieSameSite
  app.decorateReply('setRefreshCookie', function (this: FastifyReply, token: string, maxAge: number) {
    return this.removeHeader('set-cookie').header(
      'set-cookie',
      refreshCookieHeader(sameSite, { token, maxAge }),
    )
  })
  app.decorateReply('clearRefreshCookie', function (this: FastifyReply) {
    return this.removeHeader('set-cookie').header(
      'set-cookie',
      refreshCookieHeader(sameSite, { cleared: true }),
    )
  })
  app.decorate('checkCsrf', createCsrfGuard(config))

  if (config.corsOrigins.length > 0) {
    await app.register(cors, { hook: 'onRequest', delegator: corsDelegator(config.corsOrigins) })
  }
  for (const warning of browserModeWarnings(config)) app.log.warn(warning)
}

export const browserPlugin = fp(browser, { name: 'badge-browser', fastify: '5.x' })
