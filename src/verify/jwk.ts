import { createPublicKey } from 'node:crypto'
import { createVerificationKey, type VerificationAlg, type VerificationKey } from './signature.js'

// Turns one member of a fetched JWKS (RFC 7517) into a signature check. The algorithm
// comes from the key's own type and curve, and a declared `alg` must agree: a token's
// header never chooses it. Symmetric (`oct`) keys are refused outright, so a public key
// can never be used as an HMAC secret (the classic RS256→HS256 confusion), and Badge
// never publishes HS256 keys anyway.

const MIN_RSA_BITS = 2048

/** The algorithm a public JWK is for, or why it cannot verify Badge's tokens. */
function algorithmOf(jwk: Record<string, unknown>): VerificationAlg | string {
  const { kty, crv } = jwk
  if (kty === 'oct') return 'symmetric keys are never taken from a JWKS'
  if (kty === 'OKP' && crv === 'Ed25519') return 'EdDSA'
  if (kty === 'EC' && crv === 'P-256') return 'ES256'
  if (kty === 'RSA') return 'RS256'
  return `unsupported key type ${String(kty)}${crv === undefined ? '' : ` (${String(crv)})`}`
}

/** Only the public members reach node:crypto, so a JWKS that leaks `d` still yields a public key. */
const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e'] as const

/**
 * A verification key for one JWK, or a string saying why it was skipped. Skipped keys
 * are not errors: a JWKS may carry keys for other purposes.
 */
export function verificationKeyFromJwk(input: unknown): VerificationKey | string {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return 'not a JSON object'
  const jwk = input as Record<string, unknown>
  if (typeof jwk.kid !== 'string' || jwk.kid === '') return 'no kid'
  if (jwk.use !== undefined && jwk.use !== 'sig') return `use is ${String(jwk.use)}, not sig`
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify')))
    return 'key_ops does not allow verify'
  const alg = algorithmOf(jwk)
  if (alg !== 'EdDSA' && alg !== 'ES256' && alg !== 'RS256') return alg
  if (jwk.alg !== undefined && jwk.alg !== alg) return `alg ${String(jwk.alg)} does not fit a ${alg} key`
  const publicJwk: Record<string, unknown> = {}
  for (const member of PUBLIC_MEMBERS) if (jwk[member] !== undefined) publicJwk[member] = jwk[member]
  let key: ReturnType<typeof createPublicKey>
  try {
    key = createPublicKey({ key: publicJwk as never, format: 'jwk' })
  } catch {
    return 'not a valid public key'
  }
  const bits = key.asymmetricKeyDetails?.modulusLength
  if (alg === 'RS256' && (bits === undefined || bits < MIN_RSA_BITS))
    return `RSA modulus under ${MIN_RSA_BITS} bits`
  return createVerificationKey(jwk.kid, alg, key)
}
