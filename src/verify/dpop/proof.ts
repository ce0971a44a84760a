import type { Clock } from '../../clock.js'
import { checkAccessTokenHash } from './access-token-hash.js'
import { checkHtm } from './htm.js'
import { checkHtu } from './htu.js'
import { jwkThumbprint } from './jwk-thumbprint.js'
import type { NonceSource } from './nonce.js'
import { DpopProofRejected, rejectProof } from './proof-error.js'
import { DPOP_ALGS, type DpopAlg, proofKey } from './proof-key.js'
import { proofSignatureValid } from './proof-signature.js'
import { checkProofTime, PROOF_CLOCK_SKEW_SECONDS } from './proof-time.js'
import { ProofReplayCache } from './replay-cache.js'

// RFC 9449 §4.3: checking a DPoP proof, one rule per file, in the RFC's order. Shared by
// the token endpoint (oauth/), Badge's protected routes and the resource-server kit, so
// each of them refuses exactly the same proofs.

const MAX_PROOF_BYTES = 8192
const MAX_JTI_LENGTH = 256

export interface DpopProofVerifierOptions {
  clock: Clock
  /** How long after its `iat` a proof is accepted (s); also how long its `jti` is remembered. */
  maxAgeSeconds: number
  /** Accepted proofs remembered per instance (the replay cache bound). */
  replayCacheSize: number
  /** Server nonces (RFC 9449 §8–9); off when undefined. */
  nonces?: NonceSource
}

export interface ProofRequest {
  /** The DPoP header's value. */
  proof: string
  method: string
  /** The request URI, normalized by normalizeHtu() (no query, no fragment). */
  url: string
  /** The access token the request carries (resource requests): the proof must hash it (ath). */
  accessToken?: string
}

function parseSegment(segment: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
  } catch {
    rejectProof('The DPoP proof is not a JWT.')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    rejectProof('The DPoP proof is not a JWT.')
  return value as Record<string, unknown>
}

function isDpopAlg(alg: unknown): alg is DpopAlg {
  return typeof alg === 'string' && (DPOP_ALGS as readonly string[]).includes(alg)
}

export function createDpopProofVerifier(options: DpopProofVerifierOptions) {
  const { clock, maxAgeSeconds, nonces } = options
  const replays = new ProofReplayCache(options.replayCacheSize)

  /** The RFC 7638 thumbprint (jkt) of the proof's key, or throws DpopProofRejected. */
  function verifyProof(request: ProofRequest): string {
    const { proof } = request
    if (proof.length > MAX_PROOF_BYTES) rejectProof('The DPoP proof is too large.')
    const parts = proof.split('.')
    if (parts.length !== 3 || parts.some((part) => part === ''))
      rejectProof('The DPoP proof is not a compact JWS.')
    const header = parseSegment(parts[0]!)
    const claims = parseSegment(parts[1]!)
    if (header.typ !== 'dpop+jwt') rejectProof('The DPoP proof typ is not dpop+jwt.')
    if (!isDpopAlg(header.alg)) rejectProof(`The DPoP proof alg must be one of ${DPOP_ALGS.join(', ')}.`)
    if (header.crit !== undefined) rejectProof('The DPoP proof has a crit header.')
    const { key, jwk } = proofKey(header.alg, header.jwk)
    const signature = Buffer.from(parts[2]!, 'base64url')
    if (
      signature.toString('base64url') !== parts[2] ||
      !proofSignatureValid(header.alg, key, `${parts[0]}.${parts[1]}`, signature)
    )
      rejectProof('The DPoP proof signature is invalid.')
    if (typeof claims.jti !== 'string' || claims.jti === '' || claims.jti.length > MAX_JTI_LENGTH)
      rejectProof('The DPoP proof has no valid jti.')
    checkHtm(claims.htm, request.method)
    checkHtu(claims.htu, request.url)
    const now = Math.floor(clock() / 1000)
    if (nonces && !nonces.isValid(claims.nonce, now))
      throw new DpopProofRejected(
        'use_dpop_nonce',
        'Authorization server requires nonce in DPoP proof.',
        nonces.current(now),
      )
    const iat = checkProofTime(claims.iat, now, maxAgeSeconds)
    if (request.accessToken !== undefined) checkAccessTokenHash(claims.ath, request.accessToken)
    const jkt = jwkThumbprint(jwk)
    // Last, so only proofs that pass every other check take room in the cache. Keyed by the
    // key too: nobody can spend a victim's jti without its private key.
    if (!replays.remember(`${jkt}.${claims.jti}`, iat + maxAgeSeconds + PROOF_CLOCK_SKEW_SECONDS, now))
      rejectProof('The DPoP proof was already used.')
    return jkt
  }

  return {
    verifyProof,
    /** For the DPoP-Nonce header of successful answers, when nonces are on. */
    currentNonce: nonces ? () => nonces.current(Math.floor(clock() / 1000)) : undefined,
    algs: DPOP_ALGS,
    replays,
  }
}

export type DpopProofVerifier = ReturnType<typeof createDpopProofVerifier>
