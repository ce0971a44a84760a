import type { FastifyInstance, onRequestHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { errorResponses } from '../http/schemas.js'
import { requireScopes } from '../verify/authenticate.js'
import { requireAuthentication } from '../verify/require-authentication.js'

// Route security declared once, in the route's config (docs/architecture.md, "Route
// security"):
//
//   config: { scopes: ['profile:read'] }   bearer token with these scopes ([] = any valid token)
//   config: { limit: 'token' }             the per-address rate limit of that name
//   config: { mfa: true }                  the token's login used a second factor (RFC 9470
//                                          step-up; with ADMIN_REQUIRE_MFA, every admin route)
//
// From `scopes` this derives both the onRequest hooks (authenticate, then requireScopes)
// and the OpenAPI security requirement; from `limit` the documented 429 response.
// plugins/rate-limit.ts reads the same `limit` to apply the limit itself.

/** The per-address limits of docs/contract.md §7 that a route can carry (RATE_LIMIT_*). */
export type RouteLimit = 'token' | 'revoke' | 'introspect' | 'signup' | 'mail'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Needs a bearer access token holding all of these scopes; [] for any valid token. */
    scopes?: readonly string[]
    /** Rate limited per client address under this RATE_LIMIT_* name. */
    limit?: RouteLimit
    /** Needs a token from a login with a second factor (verify/require-authentication.ts). */
    mfa?: boolean
  }
}

export interface RouteSecurityOptions {
  /** ADMIN_REQUIRE_MFA: routes needing the admin scope also need a login with a second factor. */
  adminRequireMfa?: boolean
}

const asArray = <T>(hooks: T | T[] | undefined): T[] =>
  hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks]

async function routeSecurity(app: FastifyInstance, options: RouteSecurityOptions) {
  const mfaStep = requireAuthentication({ mfa: true })
  app.addHook('onRoute', (route) => {
    const config = route.config as
      | { scopes?: readonly string[]; limit?: RouteLimit; mfa?: boolean }
      | undefined
    const scopes = config?.scopes
    if (scopes) {
      const guards: onRequestHookHandler[] = [app.authenticate]
      if (scopes.length > 0) guards.push(requireScopes(...scopes))
      if (config?.mfa || (options.adminRequireMfa && scopes.includes('admin'))) {
        guards.push(mfaStep)
        const response = (route.schema?.response ?? {}) as Record<number, unknown>
        const challenge = errorResponses({
          401: [
            'unauthorized',
            'invalid_token',
            'invalid_dpop_proof',
            'use_dpop_nonce',
            'insufficient_user_authentication',
          ],
        })
        route.schema = { ...route.schema, response: { ...response, ...challenge } }
      }
      route.onRequest = [...guards, ...asArray(route.onRequest)] as typeof route.onRequest
      // A fresh array per route: a shared one would come out of the YAML writer as anchors and aliases.
      route.schema = { ...route.schema, security: [{ bearerAuth: [...scopes] }] }
    }
    if (config?.limit) {
      const response = (route.schema?.response ?? {}) as Record<number, unknown>
      route.schema = { ...route.schema, response: { ...response, ...errorResponses(429) } }
    }
  })
}

export const routeSecurityPlugin = fp(routeSecurity, {
  name: 'badge-route-security',
  fastify: '5.x',
  dependencies: ['badge-bearer-auth'],
})
