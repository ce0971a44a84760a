import type { Clock } from '../clock.js'
import { VerifiedTokenCache } from './verified-cache.js'

// The stateless bearer check (CONTRACT §2, §6), shared by Badge's own routes and by
// the resource-server kit: one implementation, two users. It runs on every protected
// request, so it is synchronous, allocation-light, and consults only an in-memory key
// set; an unknown `kid` is reported so the caller can reload keys (throttled) and retry.

export const MAX_TOKEN_BYTES = 8192
const LEEWAY_SECONDS = 5

export interface AccessTokenClaims {
  iss: string
  sub: string
  aud: string
  exp: number
  iat: number
  jti: string
  scope: string
  client_id: string
  sid?: string
}

export interface VerifiedAccessToken {
  claims: AccessTokenClaims
  scopes: ReadonlySet<string>
  kid: string
  exp: number
}

/** Why a token was refused; the description is safe to show the client. */
export class TokenRejected extends Error {
  override name = 'TokenRejected'
}

/** The token names a `kid` this instance does not know (yet): the caller may reload keys once and retry. */
export class UnknownKeyId extends TokenRejected {
  override name = 'UnknownKeyId'
}

/** A key the verifier can check signatures with; `alg` is fixed by the key, never by the token. */
export interface VerificationKey {
  kid: string
  alg: string
  /** Signature, algorithm and `typ: at+jwt`; returns the payload. Throws on any failure. */
  verify(token: string): unknown
}

/** Where keys come from: Badge's own key set, or a resource server's cached JWKS. */
export interface KeySource {
  get(kid: string): VerificationKey | undefined
  onChange(listener: () => void): unknown
  /** Reloads for an unknown `kid`, throttled by the source. True if it reloaded. */
  reloadForUnknownKid(): Promise<boolean>
}

export interface VerifierOptions {
  keys: KeySource
  clock: Clock
  issuer: string
  audience: string
  cacheSize: number
}

function reject(description: string): never {
  throw new TokenRejected(description)
}

function parseHeader(token: string): Record<string, unknown> {
  const dot = token.indexOf('.')
  if (dot < 1) reject('The access token is not a compact JWS.')
  let header: unknown
  try {
    header = JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString('utf8'))
  } catch {
    reject('The access token header is not base64url-encoded JSON.')
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    reject('The access token header is not a JSON object.')
  return header as Record<string, unknown>
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/**
 * Whether the signature segment is the one canonical base64url spelling of its bytes.
 * Its last character carries 2 or 4 unused bits that decoders ignore (RFC 4648 §3.5),
 * so without this check one signature has up to 16 spellings: a "different" token
 * that verifies, slips past exact-match deny lists and fills the verified-token cache
 * with copies. The header and payload need no check: the signature covers them as text.
 */
function isCanonicalSignature(token: string): boolean {
  const start = token.lastIndexOf('.') + 1
  const length = token.length - start
  const rest = length % 4
  if (rest === 0) return true
  if (rest === 1) return false
  const last = BASE64URL.indexOf(token[token.length - 1]!)
  return last >= 0 && (last & (rest === 2 ? 0b1111 : 0b11)) === 0
}

function audienceMatches(aud: unknown, audience: string): boolean {
  // An array naming other audiences too is refused: a token for several services
  // could be replayed from one of them against another.
  return aud === audience || (Array.isArray(aud) && aud.length === 1 && aud[0] === audience)
}

export function createAccessTokenVerifier(options: VerifierOptions) {
  const { keys, clock, issuer, audience } = options
  const cache = new VerifiedTokenCache<VerifiedAccessToken>(options.cacheSize)
  keys.onChange(() => cache.retainKeys((kid) => keys.get(kid) !== undefined))

  function checkClaims(payload: unknown, now: number): AccessTokenClaims {
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload))
      reject('The access token payload is not a JSON object.')
    const c = payload as Record<string, unknown>
    if (c.iss !== issuer) reject('The access token was issued by another issuer.')
    if (!audienceMatches(c.aud, audience)) reject('The access token is not meant for this audience.')
    if (typeof c.exp !== 'number') reject('The access token has no expiry.')
    if (c.exp + LEEWAY_SECONDS <= now) reject('The access token expired.')
    if (typeof c.iat !== 'number' || c.iat - LEEWAY_SECONDS > now)
      reject('The access token is not valid yet.')
    if (c.nbf !== undefined && (typeof c.nbf !== 'number' || c.nbf - LEEWAY_SECONDS > now))
      reject('The access token is not valid yet.')
    if (typeof c.sub !== 'string' || typeof c.jti !== 'string' || typeof c.client_id !== 'string') {
      reject('The access token lacks required claims.')
    }
    if (c.scope !== undefined && typeof c.scope !== 'string') reject('The access token scope is malformed.')
    if (c.sid !== undefined && typeof c.sid !== 'string') reject('The access token session is malformed.')
    return {
      ...(c as unknown as AccessTokenClaims),
      aud: audience,
      scope: (c.scope as string | undefined) ?? '',
    }
  }

  function verifyAccessToken(token: string): VerifiedAccessToken {
    if (token.length > MAX_TOKEN_BYTES) reject('The access token is too large.')
    const now = Math.floor(clock() / 1000)
    const cached = cache.get(token)
    if (cached !== undefined) {
      if (cached.exp + LEEWAY_SECONDS > now && keys.get(cached.kid) !== undefined) return cached
      cache.delete(token)
    }
    const header = parseHeader(token)
    // jku, x5u, jwk and x5c are never followed: the key comes from our own set only.
    if (header.crit !== undefined) reject('The access token has a crit header.')
    if (typeof header.kid !== 'string') reject('The access token has no key id.')
    const key = keys.get(header.kid)
    if (key === undefined) throw new UnknownKeyId('The access token was signed by an unknown key.')
    if (header.alg !== key.alg) reject('The access token algorithm does not match its key.')
    if (!isCanonicalSignature(token)) reject('The access token signature is not canonical base64url.')
    let payload: unknown
    try {
      payload = key.verify(token)
    } catch {
      reject('The access token signature or type is invalid.')
    }
    const claims = checkClaims(payload, now)
    const verified: VerifiedAccessToken = {
      claims,
      scopes: new Set(claims.scope.split(' ').filter(Boolean)),
      kid: key.kid,
      exp: claims.exp,
    }
    cache.set(token, verified)
    return verified
  }

  return { verifyAccessToken, keys, cache }
}

export type AccessTokenVerifier = ReturnType<typeof createAccessTokenVerifier>
