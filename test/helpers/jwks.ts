import {
  createHmac,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
  randomBytes,
  randomUUID,
  sign,
} from 'node:crypto'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'

// A stand-in issuer for the resource-server kit's tests: key pairs, a JWKS served over
// loopback that counts its requests, and tokens signed with any header or claims.

export interface TestKey {
  kid: string
  alg: 'EdDSA' | 'ES256' | 'RS256' | 'HS256'
  privateKey: KeyObject
  /** What the JWKS publishes for this key. */
  jwk: JsonWebKey & { kid: string; alg: string }
}

export function testKey(alg: TestKey['alg'], kid: string = randomUUID()): TestKey {
  if (alg === 'HS256') {
    const secret = randomBytes(32)
    const privateKey = { export: () => secret } as unknown as KeyObject
    return { kid, alg, privateKey, jwk: { kty: 'oct', k: secret.toString('base64url'), kid, alg } }
  }
  const pair =
    alg === 'EdDSA'
      ? generateKeyPairSync('ed25519')
      : alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('rsa', { modulusLength: 2048 })
  return {
    kid,
    alg,
    privateKey: pair.privateKey,
    jwk: { ...pair.publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' },
  }
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** Signs header and payload as given (nothing added), with `key`'s algorithm unless `as` says otherwise. */
export function signJws(
  key: TestKey,
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  as: TestKey['alg'] = key.alg,
): string {
  const input = `${b64(header)}.${b64(payload)}`
  const data = Buffer.from(input)
  let signature: Buffer
  if (as === 'HS256') {
    // With `as`, a public key's bytes can be used as an HMAC secret (alg confusion).
    const secret =
      key.alg === 'HS256' ? (key.privateKey.export() as Buffer) : Buffer.from(JSON.stringify(key.jwk))
    signature = createHmac('sha256', secret).update(data).digest()
  } else if (as === 'EdDSA') signature = sign(null, data, key.privateKey)
  else if (as === 'ES256')
    signature = sign('sha256', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
  else signature = sign('sha256', data, key.privateKey)
  return `${input}.${signature.toString('base64url')}`
}

export const ISSUER = 'http://issuer.test'
export const AUDIENCE = 'http://notes.test'

/** Claims of a valid access token at `nowMs`, with `overrides` merged (undefined deletes). */
export function claims(nowMs: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = Math.floor(nowMs / 1000)
  const base: Record<string, unknown> = {
    iss: ISSUER,
    sub: randomUUID(),
    aud: AUDIENCE,
    exp: iat + 900,
    iat,
    jti: randomUUID(),
    scope: 'notes:read',
    client_id: 'badge',
    sid: randomUUID(),
  }
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) delete base[name]
    else base[name] = value
  }
  return base
}

/** A valid access token signed by `key`. */
export function accessToken(key: TestKey, nowMs: number, overrides: Record<string, unknown> = {}): string {
  return signJws(key, { alg: key.alg, typ: 'at+jwt', kid: key.kid }, claims(nowMs, overrides))
}

export interface JwksServer {
  url: string
  /** Requests served so far, in order. */
  requests: string[]
  /** What the next responses carry. */
  keys: TestKey[]
  cacheControl: string | undefined
  status: number
  close(): Promise<void>
}

/** A JWKS on loopback that counts its requests; `stall` requests never get an answer. */
export async function startJwksServer(keys: TestKey[], cacheControl?: string): Promise<JwksServer> {
  const stalled: IncomingMessage[] = []
  const state: JwksServer = {
    url: '',
    requests: [],
    keys,
    cacheControl,
    status: 200,
    close: async () => {
      for (const request of stalled) request.socket.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  const server = createServer((request, response) => {
    state.requests.push(request.url ?? '')
    if (request.url === '/stall') {
      stalled.push(request)
      return
    }
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (state.cacheControl !== undefined) headers['cache-control'] = state.cacheControl
    response.writeHead(state.status, headers)
    response.end(JSON.stringify({ keys: state.keys.map((k) => k.jwk) }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return state
}
