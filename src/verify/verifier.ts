import type { Clock } from '../clock.js'
import type { VerificationKey } from './signature.js'
import { VerifiedTokenCache } from './verified-cache.js'

export type { VerificationKey } from './signature.js'

// The stateless bearer check (docs/contract.md §2, §6), shared by Badge's own routes and by
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
  /** RFC 8176 authentication methods of the login (user tokens): "pwd", "otp", "hwk", "swk", "user", "mfa". */
  amr?: string[]
  /** When the user logged in, epoch seconds (user tokens); refreshes keep it. */
  auth_time?: number
  /** RFC 9449 §6.1: the token is DPoP-bound to the key with this RFC 7638 thumbprint. */
  cnf?: { jkt: string }
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
  /** Sessions and users cut off early (docs/contract.md §11); consulted on every check, cached or not. */
  revoked?: RevocationCheck
}

/** The revoked set (revoked-set.ts) or the kit's feed over it (revocation-feed.ts). Must not do I/O. */
export interface RevocationCheck {
  isRevoked(sub: string, sid: string | undefined, iat: number): boolean
}

function reject(description: string): never {
  throw new TokenRejected(description)
}

/** Parses one base64url JSON segment of the compact token as a JSON object. */
function parseSegment(segment: string, what: 'header' | 'payload'): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
  } catch {
    reject(`The access token ${what} is not base64url-encoded JSON.`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    reject(`The access token ${what} is not a JSON object.`)
  return value as Record<string, unknown>
}

/** RFC 9068 §4: typ is "at+jwt"; RFC 7515 §4.1.9 lets "application/" be prefixed, in any case. */
function isAccessTokenType(typ: unknown): boolean {
  if (typ === 'at+jwt') return true
  if (typeof typ !== 'string') return false
  const lower = typ.toLowerCase()
  return lower === 'at+jwt' || lower === 'application/at+jwt'
}

/** What the check needs from a protected header; `alg` and `typ` are compared, never trusted. */
interface ProtectedHeader {
  kid: string
  alg: unknown
  isAccessToken: boolean
}

const HEADER_CACHE_SIZE = 64

/**
 * Every token a key signs carries the same header segment, so its parse is kept, keyed
 * by the exact segment string (the same string always parses the same way). Only
 * headers that passed the structural checks are kept; the map is emptied when full, so
 * junk headers can cost a re-parse but never memory.
 */
function createHeaderParser() {
  const parsed = new Map<string, ProtectedHeader>()
  return (segment: string): ProtectedHeader => {
    const known = parsed.get(segment)
    if (known !== undefined) return known
    const header = parseSegment(segment, 'header')
    // jku, x5u, jwk and x5c are never followed: the key comes from our own set only.
    if (header.crit !== undefined) reject('The access token has a crit header.')
    if (typeof header.kid !== 'string') reject('The access token has no key id.')
    const result = { kid: header.kid, alg: header.alg, isAccessToken: isAccessTokenType(header.typ) }
    if (parsed.size >= HEADER_CACHE_SIZE) parsed.clear()
    parsed.set(segment, result)
    return result
  }
}

/** RFC 9449 §6.1: `cnf` names the bound key's thumbprint; a cnf of another kind cannot be honoured. */
function isKeyBinding(cnf: unknown): boolean {
  if (typeof cnf !== 'object' || cnf === null) return false
  const { jkt } = cnf as Record<string, unknown>
  return typeof jkt === 'string' && jkt.length === 43
}

function audienceMatches(aud: unknown, audience: string): boolean {
  // An array naming other audiences too is refused: a token for several services
  // could be replayed from one of them against another.
  return aud === audience || (Array.isArray(aud) && aud.length === 1 && aud[0] === audience)
}

export function createAccessTokenVerifier(options: VerifierOptions) {
  const { keys, clock, issuer, audience, revoked } = options
  const cache = new VerifiedTokenCache<VerifiedAccessToken>(options.cacheSize)
  const parseHeader = createHeaderParser()
  // Plain numbers, read by Badge's metrics when scraped: counting costs an increment.
  const cacheStats = { hits: 0, misses: 0 }
  keys.onChange(() => cache.retainKeys((kid) => keys.get(kid) !== undefined))

  function checkClaims(c: Record<string, unknown>, now: number): AccessTokenClaims {
    if (c.iss !== issuer) reject('The access token was issued by another issuer.')
    if (!audienceMatches(c.aud, audience)) reject('The access token is not meant for this audience.')
    // RFC 7519 §2 NumericDate, as Badge issues it: a whole number. JSON's 1e400 is Infinity,
    // which would otherwise never expire.
    if (typeof c.exp !== 'number' || !Number.isSafeInteger(c.exp))
      reject('The access token has no valid expiry.')
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
    if (c.amr !== undefined && !(Array.isArray(c.amr) && c.amr.every((m) => typeof m === 'string')))
      reject('The access token amr is malformed.')
    if (c.auth_time !== undefined && !Number.isSafeInteger(c.auth_time))
      reject('The access token auth_time is malformed.')
    if (c.cnf !== undefined && !isKeyBinding(c.cnf)) reject('The access token cnf is malformed.')
    // The parsed payload is ours alone: normalize it in place rather than copy it.
    c.aud = audience
    c.scope ??= ''
    return c as unknown as AccessTokenClaims
  }

  function verifyAccessToken(token: string): VerifiedAccessToken {
    if (token.length > MAX_TOKEN_BYTES) reject('The access token is too large.')
    const now = Math.floor(clock() / 1000)
    const cached = cache.get(token)
    if (cached !== undefined) {
      if (cached.exp + LEEWAY_SECONDS > now && keys.get(cached.kid) !== undefined) {
        cacheStats.hits++
        // The cache holds what was valid when verified: revocation is checked on every hit.
        if (revoked?.isRevoked(cached.claims.sub, cached.claims.sid, cached.claims.iat))
          reject('The access token was revoked.')
        return cached
      }
      cache.delete(token)
    }
    cacheStats.misses++
    // Compact JWS (RFC 7515 §7.1): exactly three segments, none of them empty.
    const dot1 = token.indexOf('.')
    const dot2 = token.indexOf('.', dot1 + 1)
    if (dot1 < 1 || dot2 < dot1 + 2 || dot2 === token.length - 1 || token.indexOf('.', dot2 + 1) !== -1)
      reject('The access token is not a compact JWS.')
    const header = parseHeader(token.slice(0, dot1))
    const key = keys.get(header.kid)
    if (key === undefined) throw new UnknownKeyId('The access token was signed by an unknown key.')
    if (header.alg !== key.alg) reject('The access token algorithm does not match its key.')
    const encodedSignature = token.slice(dot2 + 1)
    const signature = Buffer.from(encodedSignature, 'base64url')
    // Node's base64url decoder skips stray characters; only the canonical encoding is
    // accepted, so no two strings carry the same signature (the cache keys on the string).
    if (
      !header.isAccessToken ||
      signature.toString('base64url') !== encodedSignature ||
      !key.verifySignature(token.slice(0, dot2), signature)
    ) {
      reject('The access token signature or type is invalid.')
    }
    const payload = parseSegment(token.slice(dot1 + 1, dot2), 'payload')
    const claims = checkClaims(payload, now)
    if (revoked?.isRevoked(claims.sub, claims.sid, claims.iat)) reject('The access token was revoked.')
    // Frozen: the cache hands this same object to later requests, so no route may alter it.
    const scopes = new Set(claims.scope.split(' '))
    scopes.delete('')
    const verified: VerifiedAccessToken = Object.freeze({
      claims: Object.freeze(claims),
      scopes,
      kid: key.kid,
      exp: claims.exp,
    })
    cache.set(token, verified)
    return verified
  }

  return { verifyAccessToken, keys, cache, cacheStats: cacheStats as Readonly<typeof cacheStats> }
}

export type AccessTokenVerifier = ReturnType<typeof createAccessTokenVerifier>
