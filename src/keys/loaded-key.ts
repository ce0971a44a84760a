import { createPrivateKey, createPublicKey, createSecretKey } from 'node:crypto'
import { createSigner, createVerifier } from 'fast-jwt'
import type { JWK } from 'jose'
import type { SigningAlg } from '../config.js'
import type { SigningKeyRow } from '../db/schema.js'
import type { KeyStatus } from './repository.js'

/** A key ready for the hot path: fast-jwt signer and verifier built once, when the key set loads. */
export interface LoadedKey {
  kid: string
  alg: SigningAlg
  status: KeyStatus
  retiringAt: number | null
  activatedAt: number | null
  /** Public JWK for the JWKS; undefined for HS256, which is never published. */
  publicJwk: JWK | undefined
  sign(payload: Record<string, unknown>): string
  /** Signature, `alg` (fixed by this key, never by the token) and `typ` only; claims are checked by the caller. */
  verify(token: string): unknown
}

export function loadKey(row: SigningKeyRow, privateJwkText: string): LoadedKey {
  const alg = row.alg as SigningAlg
  const privateJwk = JSON.parse(privateJwkText) as JWK
  let signingKey: string | Buffer
  let verifyingKey: string | Buffer
  if (alg === 'HS256') {
    const secret = createSecretKey(Buffer.from(privateJwk.k ?? '', 'base64url')).export()
    signingKey = secret
    verifyingKey = secret
  } else {
    // fast-jwt takes PEM; it turns it into a KeyObject once and reuses it.
    signingKey = createPrivateKey({ key: privateJwk as never, format: 'jwk' }).export({
      type: 'pkcs8',
      format: 'pem',
    }) as string
    verifyingKey = createPublicKey({ key: JSON.parse(row.public_jwk), format: 'jwk' }).export({
      type: 'spki',
      format: 'pem',
    }) as string
  }
  const signer = createSigner({
    key: signingKey,
    algorithm: alg,
    kid: row.kid,
    header: { alg, typ: 'at+jwt' },
  })
  const verifier = createVerifier({
    key: verifyingKey,
    algorithms: [alg],
    checkTyp: 'at+jwt',
    // Time and claim checks live in tokens/access-token.ts, against the injected clock.
    ignoreExpiration: true,
    ignoreNotBefore: true,
    cache: false,
  })
  return {
    kid: row.kid,
    alg,
    status: row.status as KeyStatus,
    retiringAt: row.retiring_at,
    activatedAt: row.activated_at,
    publicJwk: alg === 'HS256' ? undefined : (JSON.parse(row.public_jwk) as JWK),
    sign: (payload) => signer(payload),
    verify: (token) => verifier(token),
  }
}
