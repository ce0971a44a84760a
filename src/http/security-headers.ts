import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import fp from 'fastify-plugin'
import helmet, { type HelmetOptions } from 'helmet'

// helmet's security headers (CSP, HSTS, X-Content-Type-Options: nosniff, X-Frame-Options,
// the cross-origin policies, …) on every response. helmet decides their values, as it
// did through @fastify/helmet; but @fastify/helmet re-built helmet's whole middleware
// from its options on every request (parsing the CSP directives each time) behind two
// promise-returning hooks, which cost more CPU than the rest of a /health/live answer.
// The headers depend only on the options, so they are computed once, here, by running
// helmet against a recording response, and each request copies them in one
// callback-style hook. (docs/performance.md: "Security headers".)

/** The headers `helmet(options)` sets on a response, lower-cased names, computed once. */
export function helmetHeaders(options: Readonly<HelmetOptions>): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {}
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = String(value)
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()]
    },
  }
  // Only static options are accepted: a directive computed per request (a function)
  // could not be precomputed, and helmet would call it with this fake request.
  helmet(options)({} as never, recorder as never, (error?: unknown) => {
    if (error) throw error
  })
  return Object.freeze(headers)
}

export interface SecurityHeadersOptions {
  /** The Content-Security-Policy directives of every response (routes may override the CSP). */
  directives: NonNullable<NonNullable<Exclude<HelmetOptions['contentSecurityPolicy'], boolean>>['directives']>
}

async function securityHeaders(app: FastifyInstance, { directives }: SecurityHeadersOptions) {
  const headers = helmetHeaders({ contentSecurityPolicy: { useDefaults: false, directives } })
  // onRequest, like @fastify/helmet: every answer — 404s, hook refusals, errors — carries them.
  app.addHook('onRequest', (_request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    reply.headers(headers)
    done()
  })
}

export const securityHeadersPlugin = fp(securityHeaders, { name: 'badge-security-headers', fastify: '5.x' })
