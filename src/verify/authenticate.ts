import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import fp from 'fastify-plugin'
import { countAuthorizationHeaders } from './authorization-header.js'
import { BearerError } from './bearer-error.js'
import { DPOP_ALGS } from './dpop/proof-key.js'
import { boundTokenAsBearer, checkDpopRequest, type DpopResourceCheck } from './dpop/resource-request.js'
import { sendError } from './send-error.js'
import {
  type AccessTokenVerifier,
  TokenRejected,
  UnknownKeyId,
  type VerifiedAccessToken,
} from './verifier.js'

// RFC 6750 bearer authentication as two onRequest hooks, applied per route:
//   onRequest: [app.authenticate, requireScopes('profile:read')]
// Callback-style hooks: the common path does no promise allocation and no I/O.
// The hooks answer failures themselves (sendBearerError) rather than through the
// app's error handler: the resource-server kit runs them in services whose error
// handler Badge does not own, and both must give the same RFC 6750 answers.

declare module 'fastify' {
  interface FastifyInstance {
    authenticate: (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void
  }
  interface FastifyRequest {
    /** The verified access token; set by `authenticate`. */
    auth: VerifiedAccessToken | null
  }
}

// RFC 6750 §2.1: "Bearer" 1*SP b64token. A header of that shape whose one credential
// is not a b64token (a stray "=" or "!") carries a malformed *token*: it goes to the
// verifier and is refused as invalid_token (§3.1). Only a header that is malformed as
// a whole — no credential, several, repeated headers — is invalid_request.
const BEARER = /^Bearer +(\S+) *$/i
const BEARER_SCHEME = /^Bearer(?: |$)/i
// RFC 9449 §7.1: Authorization: DPoP <token>, the same token68 shape.
const DPOP = /^DPoP +(\S+) *$/i
const DPOP_SCHEME = /^DPoP(?: |$)/i

/** The bearer token of a request, or a BearerError describing why there is none. */
export function extractBearerToken(request: FastifyRequest): string | BearerError {
  const header = request.headers.authorization
  if (header === undefined || header === '') return BearerError.missing()
  // Node keeps only the first of repeated Authorization headers; an ambiguous request is refused.
  if (countAuthorizationHeaders(request) > 1)
    return BearerError.malformed('Send exactly one Authorization header.')
  const match = BEARER.exec(header)
  if (match) return match[1]!
  if (BEARER_SCHEME.test(header))
    return BearerError.malformed('The Authorization header must be Bearer followed by one token.')
  return BearerError.missing()
}

/**
 * Answers a failed bearer check: status, WWW-Authenticate challenge (RFC 6750 §3) and
 * `{error, error_description}`, exactly as plugins/error-handler.ts serializes errors.
 */
export function sendBearerError(reply: FastifyReply, error: BearerError): void {
  sendError(reply, error.statusCode, error.code, error.description, error.headers)
}

// Unexpected errors (node:crypto, a key source's own) never leak: every failure is invalid_token.
function toBearerError(error: unknown): BearerError {
  return BearerError.invalid(error instanceof TokenRejected ? error.message : 'The access token is invalid.')
}

function verify(verifier: AccessTokenVerifier, token: string): VerifiedAccessToken | BearerError {
  try {
    return verifier.verifyAccessToken(token)
  } catch (error) {
    return toBearerError(error)
  }
}

/** The verified token, refused if DPoP-bound: such a token is only good with its proof. */
function acceptBearer(result: VerifiedAccessToken | BearerError, algs: readonly string[]) {
  if (result instanceof BearerError || result.claims.cnf === undefined) return result
  return boundTokenAsBearer(algs)
}

/** Verifies `token`, reloading the key set once for an unknown kid (the source throttles reloads). */
function verifyWithReload(
  verifier: AccessTokenVerifier,
  token: string,
  then: (result: VerifiedAccessToken | BearerError) => void,
): void {
  let result: VerifiedAccessToken | BearerError | undefined
  try {
    result = verifier.verifyAccessToken(token)
  } catch (error) {
    if (!(error instanceof UnknownKeyId)) result = toBearerError(error)
  }
  if (result !== undefined) {
    then(result)
    return
  }
  // A kid we do not know may come from a key rotated on another instance (or a new
  // key in the issuer's JWKS): reload the key set and try once more.
  verifier.keys.reloadForUnknownKid().then(
    () => then(verify(verifier, token)),
    () => then(BearerError.invalid('The access token was signed by an unknown key.')),
  )
}

/**
 * The `authenticate` hook over one verifier. Exported so a service can protect routes
 * with a second verifier (another issuer, or the benchmark's cache-off variant);
 * most code uses `app.authenticate`. With `dpop`, requests may also use RFC 9449's DPoP
 * scheme; a DPoP-bound token sent as Bearer is refused either way.
 */
export function createAuthenticateHook(verifier: AccessTokenVerifier, dpop?: DpopResourceCheck) {
  const algs = dpop?.proofs.algs ?? DPOP_ALGS
  return (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    const token = extractBearerToken(request)
    if (token instanceof BearerError) {
      if (token.code === 'unauthorized' && DPOP_SCHEME.test(request.headers.authorization ?? ''))
        return authenticateDpop(request, reply, done)
      return sendBearerError(reply, token)
    }
    try {
      const verified = verifier.verifyAccessToken(token)
      // The one check DPoP adds to the Bearer path.
      if (verified.claims.cnf !== undefined) return sendBearerError(reply, boundTokenAsBearer(algs))
      request.auth = verified
      return done()
    } catch (error) {
      if (!(error instanceof UnknownKeyId)) return sendBearerError(reply, toBearerError(error))
    }
    verifyWithReload(verifier, token, (result) => {
      const accepted = acceptBearer(result, algs)
      if (accepted instanceof BearerError) return sendBearerError(reply, accepted)
      request.auth = accepted
      done()
    })
  }

  function authenticateDpop(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
    if (dpop === undefined)
      return sendBearerError(reply, BearerError.dpop('invalid_request', 'DPoP is not supported here.', algs))
    const match = DPOP.exec(request.headers.authorization!)
    if (match === null || countAuthorizationHeaders(request) > 1)
      return sendBearerError(
        reply,
        BearerError.dpop(
          'invalid_request',
          'The Authorization header must be DPoP followed by one token.',
          algs,
        ),
      )
    const token = match[1]!
    verifyWithReload(verifier, token, (result) => {
      if (result instanceof BearerError)
        return sendBearerError(reply, BearerError.dpop('invalid_token', result.description, algs))
      const refused = checkDpopRequest(dpop, request, token, result)
      if (refused !== undefined) return sendBearerError(reply, refused)
      request.auth = result
      done()
    })
  }
}

export interface BearerAuthOptions {
  verifier: AccessTokenVerifier
  /** RFC 9449: accept the DPoP scheme on protected routes. */
  dpop?: DpopResourceCheck
}

async function bearerAuth(app: FastifyInstance, { verifier, dpop }: BearerAuthOptions) {
  app.decorateRequest('auth', null)
  app.decorate('authenticate', createAuthenticateHook(verifier, dpop))
}

export const bearerAuthPlugin = fp(bearerAuth, { name: 'badge-bearer-auth', fastify: '5.x' })

/** RFC 6750 §3.1 insufficient_scope when the verified token lacks any of `scopes`. */
export function requireScopes(...scopes: string[]) {
  return (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
    const auth = request.auth
    if (auth === null) return sendBearerError(reply, BearerError.missing())
    for (const scope of scopes)
      if (!auth.scopes.has(scope))
        return sendBearerError(reply, BearerError.insufficientScope(scopes).forToken(auth.claims))
    done()
  }
}
