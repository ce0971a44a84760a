import { createHash } from 'node:crypto'

/**
 * RFC 7638 §3: the SHA-256 thumbprint of a public JWK, over its required members only, in
 * lexicographic order, as JSON without whitespace. This is the `jkt` a DPoP-bound token
 * names (RFC 9449 §6.1). `jwk` has passed proofKey() (proof-key.ts), so the members are strings.
 */
export function jwkThumbprint(jwk: Record<string, unknown>): string {
  let members: Record<string, unknown>
  switch (jwk.kty) {
    case 'EC':
      members = { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
      break
    case 'OKP':
      members = { crv: jwk.crv, kty: jwk.kty, x: jwk.x }
      break
    default:
      members = { e: jwk.e, kty: jwk.kty, n: jwk.n }
  }
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url')
}
