import { createPublicKey, type KeyObject } from 'node:crypto'
import { rejectProof } from './proof-error.js'

/** RFC 9449 §4.3 (check 5): asymmetric algorithms only; `none` and MACs never. */
export const DPOP_ALGS = ['ES256', 'EdDSA', 'RS256', 'PS256'] as const
export type DpopAlg = (typeof DPOP_ALGS)[number]

const MIN_RSA_BITS = 2048
/** RFC 9449 §4.3 (check 7): the header key must be public; any of these means a private key. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const

function keyTypeFits(alg: DpopAlg, jwk: Record<string, unknown>): boolean {
  switch (alg) {
    case 'ES256':
      return jwk.kty === 'EC' && jwk.crv === 'P-256'
    case 'EdDSA':
      return jwk.kty === 'OKP' && jwk.crv === 'Ed25519'
    default:
      return jwk.kty === 'RSA'
  }
}

const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e'] as const

/** The public key of a proof's `jwk` header, checked against its `alg`. */
export function proofKey(alg: DpopAlg, jwk: unknown): { key: KeyObject; jwk: Record<string, unknown> } {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk))
    rejectProof('The DPoP proof has no jwk header.')
  const candidate = jwk as Record<string, unknown>
  for (const member of PRIVATE_MEMBERS)
    if (candidate[member] !== undefined) rejectProof('The DPoP proof jwk holds a private key.')
  if (!keyTypeFits(alg, candidate)) rejectProof(`The DPoP proof jwk is not a ${alg} key.`)
  const publicJwk: Record<string, unknown> = {}
  for (const member of PUBLIC_MEMBERS) {
    const value = candidate[member]
    if (value === undefined) continue
    if (typeof value !== 'string') rejectProof('The DPoP proof jwk is malformed.')
    publicJwk[member] = value
  }
  let key: KeyObject
  try {
    key = createPublicKey({ key: publicJwk as never, format: 'jwk' })
  } catch {
    rejectProof('The DPoP proof jwk is not a valid public key.')
  }
  if (candidate.kty === 'RSA' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS)
    rejectProof(`The DPoP proof RSA key is shorter than ${MIN_RSA_BITS} bits.`)
  return { key, jwk: publicJwk }
}
