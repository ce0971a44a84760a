import { randomUUID } from 'node:crypto'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose'
import { accessTokenHash } from '../../src/verify/dpop/access-token-hash.js'

// A DPoP client's key and proofs (RFC 9449 §4), made with jose, independently of Badge's
// own checks in src/verify/dpop/.

export interface DpopKey {
  alg: string
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey']
  jwk: JWK
  /** RFC 7638 thumbprint, as jose computes it. */
  jkt: string
}

export async function dpopKey(alg = 'ES256'): Promise<DpopKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true })
  const jwk = await exportJWK(publicKey)
  return { alg, privateKey, jwk, jkt: await calculateJwkThumbprint(jwk) }
}

export interface ProofFields {
  htm: string
  htu: string
  /** Epoch milliseconds; the proof's iat is its seconds. */
  now: number
  accessToken?: string
  nonce?: string
  jti?: string
  /** Overrides of the protected header (typ, alg, jwk). */
  header?: Record<string, unknown>
}

export async function proof(key: DpopKey, fields: ProofFields): Promise<string> {
  const claims: Record<string, unknown> = {
    htm: fields.htm,
    htu: fields.htu,
    jti: fields.jti ?? randomUUID(),
  }
  if (fields.accessToken !== undefined) claims.ath = accessTokenHash(fields.accessToken)
  if (fields.nonce !== undefined) claims.nonce = fields.nonce
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, typ: 'dpop+jwt', jwk: key.jwk, ...fields.header } as never)
    .setIssuedAt(Math.floor(fields.now / 1000))
    .sign(key.privateKey)
}

/** The headers of a DPoP-scheme request (RFC 9449 §7.1). */
export function dpopAuth(accessToken: string, dpopProof: string) {
  return { authorization: `DPoP ${accessToken}`, dpop: dpopProof }
}

/** The claims of a compact JWT, unverified (for asserting what Badge issued). */
export function payloadOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString())
}
