import type { FastifyRequest } from 'fastify'
import { invalidDpopProof, useDpopNonce } from '../errors.js'
import type { DpopProofVerifier } from '../verify/dpop/proof.js'
import { DpopProofRejected } from '../verify/dpop/proof-error.js'
import { dpopHeader, requestUri } from '../verify/dpop/resource-request.js'

/**
 * RFC 9449 §5: the key a token request proves possession of, as its RFC 7638 thumbprint
 * (jkt), or undefined when the request sends no DPoP header (then everything is v1).
 * A header that is there but fails any check is 400 invalid_dpop_proof (or
 * use_dpop_nonce): a client that asked for a bound token never silently gets a bearer one.
 */
export function tokenRequestKey(
  request: FastifyRequest,
  proofs: DpopProofVerifier,
  issuer: string,
): string | undefined {
  if (request.headers.dpop === undefined) return undefined
  const proof = dpopHeader(request)
  if (proof === undefined) throw invalidDpopProof('Send exactly one DPoP proof in the DPoP header.')
  try {
    return proofs.verifyProof({ proof, method: request.method, url: requestUri(issuer, request) })
  } catch (error) {
    if (error instanceof DpopProofRejected && error.code === 'use_dpop_nonce')
      throw useDpopNonce(error.nonce!)
    throw invalidDpopProof(error instanceof DpopProofRejected ? error.message : 'The DPoP proof is invalid.')
  }
}
