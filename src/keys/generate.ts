import { randomBytes } from 'node:crypto'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose'
import type { SigningAlg } from '../config.js'

export interface GeneratedKey {
  kid: string
  alg: SigningAlg
  publicJwk: JWK
  privateJwk: JWK
}

/** A fresh signing key. Asymmetric kids are RFC 7638 thumbprints; HS256 secrets are 256 random bits. */
export async function generateSigningKey(alg: SigningAlg): Promise<GeneratedKey> {
  if (alg === 'HS256') {
    const k = randomBytes(32).toString('base64url')
    const kid = randomBytes(16).toString('base64url')
    const jwk: JWK = { kty: 'oct', k, alg, kid }
    return { kid, alg, publicJwk: jwk, privateJwk: jwk }
  }
  const { publicKey, privateKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}),
    ...(alg === 'RS256' ? { modulusLength: 2048 } : {}),
  })
  const publicJwk = await exportJWK(publicKey)
  const kid = await calculateJwkThumbprint(publicJwk, 'sha256')
  const privateJwk = await exportJWK(privateKey)
  return {
    kid,
    alg,
    publicJwk: { ...publicJwk, kid, alg, use: 'sig' },
    privateJwk: { ...privateJwk, kid, alg },
  }
}
