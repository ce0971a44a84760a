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

/** A DER INTEGER of the unsigned big-endian `bytes`: leading zeros dropped, 0x00 added if the top bit is set. */
function derInteger(bytes: Buffer): Buffer {
  let start = 0
  while (start < bytes.length - 1 && bytes[start] === 0) start++
  const pad = bytes[start]! & 0x80 ? 1 : 0
  const length = pad + bytes.length - start
  const out = Buffer.alloc(2 + length)
  out[0] = 0x02
  out[1] = length
  bytes.copy(out, 2 + pad, start)
  return out
}

/** ECDSA r || s (IEEE P1363, as JWS carries it) as the DER SEQUENCE OpenSSL reads natively. */
export function p1363ToDer(signature: Buffer): Buffer {
  const half = signature.length >> 1
  const r = derInteger(signature.subarray(0, half))
  const s = derInteger(signature.subarray(half))
  // Both integers of P-256 fit in 33 bytes, so every length is a single byte.
  return Buffer.concat([Buffer.from([0x30, r.length + s.length]), r, s])
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
    case 'ES256':
      // JWS carries ECDSA signatures as raw r || s (RFC 7518 §3.4), not DER. Node can take
      // that form ({key, dsaEncoding: 'ieee-p1363'}), but a key given inside an options
      // object goes through Node's slow key-preparation path: re-encoding the 64 bytes as
      // DER here and passing the KeyObject itself costs ~30% less CPU per verify on Node 24
      // (docs/performance.md: "ES256 verification"). The DER is canonical, so each r || s
      // has exactly one encoding: nothing is accepted that the raw form would refuse.
      check = (data, signature) => verify('sha256', data, key, p1363ToDer(signature))
      break
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
