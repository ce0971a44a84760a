import { constants, type KeyObject, verify } from 'node:crypto'
import type { DpopAlg } from './proof-key.js'

/** RFC 7515 §5.2 over node:crypto for the DPoP algorithms (RFC 7518 §3.3–3.5, RFC 8037). */
export function proofSignatureValid(alg: DpopAlg, key: KeyObject, signingInput: string, signature: Buffer) {
  const data = Buffer.from(signingInput, 'latin1')
  try {
    switch (alg) {
      case 'EdDSA':
        return verify(null, data, key, signature)
      case 'ES256':
        // JWS carries r || s (RFC 7518 §3.4), 64 bytes for P-256.
        return (
          signature.length === 64 && verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature)
        )
      case 'RS256':
        return verify('sha256', data, key, signature)
      case 'PS256':
        return verify(
          'sha256',
          data,
          { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
          signature,
        )
    }
  } catch {
    // OpenSSL refuses some malformed signatures by throwing rather than returning false.
    return false
  }
}
