import type { FastifyRequest } from 'fastify'
import { BearerError } from '../bearer-error.js'
import type { VerifiedAccessToken } from '../verifier.js'
import { normalizeHtu } from './htu.js'
import type { DpopProofVerifier } from './proof.js'
import { DpopProofRejected } from './proof-error.js'

// RFC 9449 §7: a protected route called with `Authorization: DPoP <token>` and a `DPoP`
// proof. Only requests that use the DPoP scheme come here: the Bearer path pays one
// property check (a bound token's `cnf`), nothing more.

export interface DpopResourceCheck {
  proofs: DpopProofVerifier
  /** The URI the client called, without query: what the proof's htu must name. */
  requestUrl(request: FastifyRequest): string
}

/** RFC 9449 §7.1: exactly one DPoP header. Node joins repeated headers with ", ", which no JWT contains. */
export function dpopHeader(request: FastifyRequest): string | undefined {
  const value = request.headers.dpop
  if (typeof value !== 'string' || value === '' || value.includes(',')) return undefined
  return value
}

/** The request URI for htu from a base URL (no trailing slash) and the request's path. */
export function requestUri(base: string, request: FastifyRequest): string {
  const url = request.url
  const query = url.indexOf('?')
  return normalizeHtu(base + (query === -1 ? url : url.slice(0, query))) ?? ''
}

/** A DPoP-bound token presented as Bearer (RFC 9449 §7.2): refused, else it would be a bearer token after all. */
export function boundTokenAsBearer(algs: readonly string[]): BearerError {
  return BearerError.dpop(
    'invalid_token',
    'This access token is DPoP-bound: send it as Authorization: DPoP with a DPoP proof.',
    algs,
  )
}

/**
 * Checks the proof of a DPoP-scheme request whose token `verified` already passed the
 * bearer checks: the proof is valid for this method, URI and token (ath), and signed by
 * the key the token is bound to. Undefined when all holds.
 */
export function checkDpopRequest(
  check: DpopResourceCheck,
  request: FastifyRequest,
  token: string,
  verified: VerifiedAccessToken,
): BearerError | undefined {
  const { algs } = check.proofs
  const cnf = verified.claims.cnf
  if (cnf === undefined)
    return BearerError.dpop('invalid_token', 'This access token is not DPoP-bound: send it as Bearer.', algs)
  const proof = dpopHeader(request)
  if (proof === undefined)
    return BearerError.dpop('invalid_dpop_proof', 'Send exactly one DPoP proof in the DPoP header.', algs)
  let jkt: string
  try {
    jkt = check.proofs.verifyProof({
      proof,
      method: request.method,
      url: check.requestUrl(request),
      accessToken: token,
    })
  } catch (error) {
    if (error instanceof DpopProofRejected)
      return BearerError.dpop(error.code, error.message, algs, error.nonce)
    return BearerError.dpop('invalid_dpop_proof', 'The DPoP proof is invalid.', algs)
  }
  if (jkt !== cnf.jkt)
    return BearerError.dpop(
      'invalid_dpop_proof',
      'The DPoP proof is not signed by the key this access token is bound to.',
      algs,
    )
  return undefined
}
