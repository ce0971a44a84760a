import { mayHandleTokenOf } from '../clients/client-binding.js'
import type { Clock } from '../clock.js'
import { effectiveSessionScope } from '../scopes.js'
import type { RefreshTokenRepository } from '../sessions/refresh-token-repository.js'
import type { SessionRepository } from '../sessions/repository.js'
import { isSessionActive } from '../sessions/session-active.js'
import { hashRefreshToken } from '../tokens/refresh-token.js'
import { isRefreshTokenSpendable } from '../tokens/refresh-token-spendable.js'
import type { UserService } from '../users/service.js'
import { isUserUsable } from '../users/user-usable.js'
import { type AccessTokenVerifier, UnknownKeyId, type VerifiedAccessToken } from '../verify/verifier.js'

// RFC 7662 token introspection. Access tokens are checked exactly as a bearer check
// does, plus their session: this endpoint has the database, so a token whose sid was
// revoked is inactive here even before the revoked set hears of it (docs/contract.md §11);
// refresh tokens are looked up, and are active only while a refresh would succeed.
// Anything else is {active: false} with nothing more (§2.2), whatever the reason.

export interface ActiveToken {
  active: true
  scope: string
  client_id: string
  sub: string
  exp: number
  iat: number
  iss: string
  aud?: string
  jti?: string
  sid?: string
  /** RFC 8176 methods and time (epoch seconds) of the login: user tokens only (docs/contract.md §10). */
  amr?: string[]
  auth_time?: number
  /** RFC 7662 §2.2: the access token type of RFC 6749 §5.1. Access tokens only. */
  token_type?: 'Bearer' | 'DPoP'
  /** RFC 9449 §6.2: the key a DPoP-bound access token is bound to. */
  cnf?: { jkt: string }
  /** Which kind of token this is (as Ory Hydra reports it); not in RFC 7662 but unambiguous. */
  token_use: 'access_token' | 'refresh_token'
}

export type IntrospectionResponse = ActiveToken | { active: false }

export interface IntrospectionDeps {
  sessions: SessionRepository
  tokens: RefreshTokenRepository
  users: Pick<UserService, 'findById'>
  verifier: AccessTokenVerifier
  clock: Clock
  issuer: string
  refreshTokenIdleTtl: number
  reuseGraceSeconds: number
  /** SCOPES: user scopes outside it are not reported (oauth/scope.ts grantableUserScopes). */
  knownScopes: readonly string[]
}

const INACTIVE = { active: false } as const
// Refresh tokens are 43 base64url characters; anything much longer is not one.
const MAX_REFRESH_TOKEN_LENGTH = 512

export function createIntrospection(deps: IntrospectionDeps) {
  const { sessions, tokens, users, verifier, clock, issuer } = deps
  const idleMs = deps.refreshTokenIdleTtl * 1000
  const graceMs = deps.reuseGraceSeconds * 1000

  async function verifyAccessToken(token: string): Promise<VerifiedAccessToken | undefined> {
    try {
      return verifier.verifyAccessToken(token)
    } catch (error) {
      if (!(error instanceof UnknownKeyId)) return undefined
    }
    // A key rotated on another instance: reload (throttled by the key set) and try once more.
    if (!(await verifier.keys.reloadForUnknownKid())) return undefined
    try {
      return verifier.verifyAccessToken(token)
    } catch {
      return undefined
    }
  }

  async function introspectAccessToken(token: string): Promise<IntrospectionResponse> {
    const verified = await verifyAccessToken(token)
    if (!verified) return INACTIVE
    const { claims } = verified
    // This endpoint is database-backed, so it can say more than a bearer check: a token
    // whose session was revoked (logout, password change, disable) is no longer active.
    if (claims.sid !== undefined) {
      const session = await sessions.findById(claims.sid)
      if (!session || session.revoked_at !== null) return INACTIVE
    }
    return {
      active: true,
      scope: claims.scope,
      client_id: claims.client_id,
      sub: claims.sub,
      exp: claims.exp,
      iat: claims.iat,
      iss: claims.iss,
      aud: claims.aud,
      jti: claims.jti,
      ...(claims.sid !== undefined ? { sid: claims.sid } : {}),
      ...(claims.amr !== undefined ? { amr: claims.amr } : {}),
      ...(claims.auth_time !== undefined ? { auth_time: claims.auth_time } : {}),
      ...(claims.cnf !== undefined ? { cnf: { jkt: claims.cnf.jkt } } : {}),
      token_type: claims.cnf !== undefined ? 'DPoP' : 'Bearer',
      token_use: 'access_token',
    }
  }

  /** Active exactly when presenting it to the token endpoint would succeed; never has side effects. */
  async function introspectRefreshToken(
    token: string,
    callerClientId: string,
  ): Promise<IntrospectionResponse> {
    if (token.length > MAX_REFRESH_TOKEN_LENGTH) return INACTIVE
    const now = clock()
    const row = await tokens.findByHash(hashRefreshToken(token))
    // A spent token is still usable inside the grace window (it returns its successor).
    if (!row || !isRefreshTokenSpendable(row, now, graceMs)) return INACTIVE
    const session = await sessions.findById(row.session_id)
    if (!session || !isSessionActive(session, now, idleMs)) return INACTIVE
    if (!mayHandleTokenOf(session.client_id, callerClientId)) return INACTIVE
    const user = await users.findById(session.user_id)
    if (!isUserUsable(user)) return INACTIVE
    const scope = effectiveSessionScope(session.scope, user.scopes, deps.knownScopes)
    return {
      active: true,
      scope: scope.join(' '),
      client_id: session.client_id,
      sub: session.user_id,
      exp: Math.floor(Math.min(session.expires_at, session.last_used_at + idleMs) / 1000),
      iat: Math.floor(row.created_at / 1000),
      iss: issuer,
      sid: session.id,
      amr: session.amr?.split(' ') ?? ['pwd'],
      auth_time: Math.floor((session.auth_time ?? session.created_at) / 1000),
      token_use: 'refresh_token',
    }
  }

  /**
   * RFC 7662 §2.1. The token's shape says what it can be (a JWS has two dots, a refresh
   * token none), so the hint is not needed to find it and is ignored.
   */
  function introspect(token: string, callerClientId: string): Promise<IntrospectionResponse> {
    return token.split('.').length === 3
      ? introspectAccessToken(token)
      : introspectRefreshToken(token, callerClientId)
  }

  return { introspect }
}

export type Introspection = ReturnType<typeof createIntrospection>
