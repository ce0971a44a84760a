import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { type Clock, systemClock } from '../clock.js'
import { sendBearerError } from './authenticate.js'
import { BearerError } from './bearer-error.js'
import type { VerifiedAccessToken } from './verifier.js'

// Step-up (RFC 9470): a route can demand more than a valid token with the right scopes: a
// login with a second factor, or a recent one. A token that falls short is answered 401
// insufficient_user_authentication, whose challenge tells the client what to come back
// with; it logs the user in again (with a second factor) and retries. Synchronous and
// free of I/O, like the bearer check it follows:
//
//   onRequest: [app.authenticate, requireScopes('admin'), requireAuthentication({ mfa: true })]

export interface AuthenticationRequirement {
  /** The token's login used a second factor (its `amr` holds "mfa"). */
  mfa?: boolean
  /** The login (`auth_time`) is at most this many seconds old. */
  maxAgeSeconds?: number
  /** For tests; the system clock by default. */
  clock?: Clock
}

/** Why `auth` falls short of `requirement`, or undefined when it meets it. */
export function authenticationShortfall(
  auth: VerifiedAccessToken,
  requirement: AuthenticationRequirement,
  nowSeconds: number,
): string | undefined {
  const { amr, auth_time } = auth.claims
  if (requirement.mfa && !amr?.includes('mfa'))
    return 'This request needs a login with a second factor: log in again with your authenticator.'
  if (
    requirement.maxAgeSeconds !== undefined &&
    (auth_time === undefined || nowSeconds - auth_time > requirement.maxAgeSeconds)
  )
    return `This request needs a login from the last ${requirement.maxAgeSeconds} seconds: log in again.`
  return undefined
}

/** The onRequest hook: after `authenticate`, answers RFC 9470's challenge when the login falls short. */
export function requireAuthentication(requirement: AuthenticationRequirement) {
  const clock = requirement.clock ?? systemClock
  return (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    const auth = request.auth
    if (auth === null) return sendBearerError(reply, BearerError.missing())
    const shortfall = authenticationShortfall(auth, requirement, Math.floor(clock() / 1000))
    if (shortfall !== undefined)
      return sendBearerError(
        reply,
        BearerError.insufficientUserAuthentication(shortfall, requirement.maxAgeSeconds).forToken(
          auth.claims,
        ),
      )
    done()
  }
}
