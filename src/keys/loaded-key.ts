import { createPrivateKey, createPublicKey, createSecretKey, type KeyObject } from 'node:crypto'
import { createSigner } from 'fast-jwt'
import type { JWK } from 'jose'
import type { SigningAlg } from '../config.js'
import type { SigningKeyRow } from '../db/schema.js'
import { createVerificationKey, type VerificationKey } from '../verify/signature.js'
import type { KeyStatus } from './repository.js'

/**
 * A key ready for the hot path: a fast-jwt signer and the signature check shared with
 * the resource-server kit (verify/signature.ts), both built once, when the key set loads.
 */
export interface LoadedKey extends VerificationKey {
  alg: SigningAlg
  status: KeyStatus
  retiringAt: number | null
  activatedAt: number | null
  /** Public JWK for the JWKS; undefined for HS256, which is never published. */
  publicJwk: JWK | undefined
  sign(payload: Record<string, unknown>): string
}

export function loadKey(row: SigningKeyRow, privateJwkText: string): LoadedKey {
  const alg = row.alg
  const privateJwk = JSON.parse(privateJwkText) as JWK
  let signingKey: string | Buffer
  let verifyingKey: KeyObject
  if (alg === 'HS256') {
    verifyingKey = createSecretKey(Buffer.from(privateJwk.k ?? '', 'base64url'))
    signingKey = verifyingKey.export()
  } else {
    // fast-jwt takes PEM; it turns it into a KeyObject once and reuses it.
    signingKey = createPrivateKey({ key: privateJwk as never, format: 'jwk' }).export({
      type: 'pkcs8',
      format: 'pem',
    }) as string
    verifyingKey = createPublicKey({ key: JSON.parse(row.public_jwk), format: 'jwk' })
  }
  const signer = createSigner({
    key: signingKey,
    algorithm: alg,
    kid: row.kid,
    header: { alg, typ: 'at+jwt' },
  })
  return {
    ...createVerificationKey(row.kid, alg, verifyingKey),
    alg,
    status: row.status,
    retiringAt: row.retiring_at,
    activatedAt: row.activated_at,
    publicJwk: alg === 'HS256' ? undefined : (JSON.parse(row.public_jwk) as JWK),
    sign: (payload) => signer(payload),
  }
}
