import { createHmac, type KeyObject, timingSafeEqual, verify } from 'node:crypto'

// The JWS signature check (RFC 7515 §5.2) straight on node:crypto, for the four
// algorithms Badge signs with. Measured against fast-jwt's verifier (bench/), the
// thin check does the same cryptographic work while parsing the token once, in
// verifier.ts, instead of twice; the algorithm is fixed by the key, never by the token.

export const VERIFICATION_ALGS = ['EdDSA', 'ES256', 'RS256', 'HS256'] as const
export type VerificationAlg = (typeof VERIFICATION_ALGS)[number]

/** A key the verifier can check signatures with; `alg` is fixed by the key, never by the token. */
export interface VerificationKey {
  kid: string
  alg: VerificationAlg
  /** True when `signature` is a valid signature of `signingInput` (the token up to its second dot). */
  verifySignature(signingInput: string, signature: Buffer): boolean
}

const SIGNATURE_BYTES: Record<VerificationAlg, number | undefined> = {
  EdDSA: 64,
  ES256: 64,
  RS256: undefined, // the modulus size, checked by OpenSSL
  HS256: 32,
}

/**
 * Builds the signature check of one key. `key` is a public KeyObject for EdDSA, ES256
 * and RS256 (created once, when the key set loads) and a secret KeyObject for HS256.
 */
export function createVerificationKey(kid: string, alg: VerificationAlg, key: KeyObject): VerificationKey {
  const size = SIGNATURE_BYTES[alg]
  let check: (data: Buffer, signature: Buffer) => boolean
  switch (alg) {
    case 'EdDSA':
      check = (data, signature) => verify(null, data, key, signature)
      break
    case 'ES256': {
      // JWS carries ECDSA signatures as raw r || s (RFC 7518 §3.4), not DER.
      const ecKey = { key, dsaEncoding: 'ieee-p1363' as const }
      check = (data, signature) => verify('sha256', data, ecKey, signature)
      break
    }
    case 'RS256':
      check = (data, signature) => verify('sha256', data, key, signature)
      break
    case 'HS256':
      check = (data, signature) => timingSafeEqual(createHmac('sha256', key).update(data).digest(), signature)
      break
  }
  return {
    kid,
    alg,
    verifySignature(signingInput, signature) {
      if (size !== undefined && signature.length !== size) return false
      try {
        // The compact serialization is ASCII, so latin1 is its exact byte string.
        return check(Buffer.from(signingInput, 'latin1'), signature)
      } catch {
        // OpenSSL refuses some malformed signatures by throwing rather than returning false.
        return false
      }
    },
  }
}
