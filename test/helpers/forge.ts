import { createHmac, createPrivateKey, createPublicKey, type KeyObject, randomUUID, sign } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { JWK } from 'jose'

// Hand-rolled JWS compact serialization for the attack suite: no library between the
// test and the bytes, so a test can build exactly the hostile token it names
// (odd headers, non-object payloads, any signature), which a signing library refuses.

export type Json = unknown

export const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url')
export const encodeJson = (value: Json) => b64url(JSON.stringify(value))

export function compact(header: Json, payload: Json, signature: string | Buffer = ''): string {
  const sig = typeof signature === 'string' ? signature : b64url(signature)
  return `${encodeJson(header)}.${encodeJson(payload)}.${sig}`
}

export type HmacAlg = 'HS256' | 'HS384' | 'HS512'

/** An HMAC-signed token over `header.payload`, with whatever secret the attacker guesses. */
export function signHmac(alg: HmacAlg, secret: string | Buffer, header: Json, payload: Json): string {
  const input = `${encodeJson(header)}.${encodeJson(payload)}`
  const mac = createHmac(`sha${alg.slice(2)}`, secret)
    .update(input)
    .digest()
  return `${input}.${b64url(mac)}`
}

/** A token signed with an asymmetric private key: EdDSA, ES256 (raw r‖s) or RS256. */
export function signAsymmetric(alg: string, key: KeyObject, header: Json, payload: Json): string {
  const input = Buffer.from(`${encodeJson(header)}.${encodeJson(payload)}`)
  const signature =
    alg === 'EdDSA'
      ? sign(null, input, key)
      : alg === 'ES256'
        ? sign('sha256', input, { key, dsaEncoding: 'ieee-p1363' })
        : sign('sha256', input, key)
  return `${input.toString()}.${b64url(signature)}`
}

export interface DecodedToken {
  header: Record<string, unknown>
  payload: Record<string, unknown>
  signature: string
  segments: string[]
}

export function decode(token: string): DecodedToken {
  const segments = token.split('.')
  return {
    header: JSON.parse(Buffer.from(segments[0]!, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(segments[1]!, 'base64url').toString()),
    signature: segments[2]!,
    segments,
  }
}

/** `token` with its payload replaced and its original header and signature kept. */
export function tamper(token: string, change: (payload: Record<string, unknown>) => Json): string {
  const { segments, payload } = decode(token)
  return `${segments[0]}.${encodeJson(change(payload))}.${segments[2]}`
}

/** The server's active signing key, read the way an insider would (grey-box tests only). */
export interface ServerKey {
  kid: string
  alg: string
  publicJwk: JWK | undefined
  /** Public key for asymmetric algorithms. */
  publicKey: KeyObject | undefined
  /** Signs any header and payload with the server's own key. */
  sign(header: Json, payload: Json): string
}

export async function serverKey(app: FastifyInstance): Promise<ServerKey> {
  const active = app.services.keys.signingKey()
  const row = await app.services.database.db
    .selectFrom('signing_keys')
    .selectAll()
    .where('kid', '=', active.kid)
    .executeTakeFirstOrThrow()
  const privateJwk = JSON.parse(row.private_jwk) as JWK
  if (row.alg === 'HS256') {
    const secret = Buffer.from(privateJwk.k!, 'base64url')
    return {
      kid: row.kid,
      alg: row.alg,
      publicJwk: undefined,
      publicKey: undefined,
      sign: (header, payload) => signHmac('HS256', secret, header, payload),
    }
  }
  const privateKey = createPrivateKey({ key: privateJwk as never, format: 'jwk' })
  return {
    kid: row.kid,
    alg: row.alg,
    publicJwk: JSON.parse(row.public_jwk) as JWK,
    publicKey: createPublicKey(privateKey),
    sign: (header, payload) => signAsymmetric(row.alg, privateKey, header, payload),
  }
}

/** The header Badge puts on its access tokens, for `key`. */
export const accessTokenHeader = (key: { kid: string; alg: string }) => ({
  alg: key.alg,
  typ: 'at+jwt',
  kid: key.kid,
})

/** Claims of a well-formed access token for `app`, valid now by the app's clock. */
export function accessTokenClaims(app: FastifyInstance, overrides: Record<string, Json> = {}) {
  const { config, clock } = app.services
  const iat = Math.floor(clock() / 1000)
  return {
    iss: config.issuer,
    sub: randomUUID(),
    aud: config.audience,
    exp: iat + config.accessTokenTtl,
    iat,
    jti: randomUUID(),
    scope: 'profile:read profile:write',
    client_id: 'badge',
    ...overrides,
  }
}
