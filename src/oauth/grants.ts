import type { FastifyBaseLogger } from 'fastify'
import type { SessionRow } from '../db/schema.js'
import { invalidGrant } from '../errors.js'
import type { IssueAccessToken } from '../tokens/access-token.js'
import { RefreshTokenReused, type RefreshTokens } from '../tokens/refresh-token.js'
import { normalizeEmail, splitScopes, type UserService } from '../users/service.js'
import type { LoginThrottle } from './login-throttle.js'
import { intersectScopes, resolveScope } from './scope.js'

/** RFC 6749 §5.1 successful response. */
export interface TokenResponse {
  access_token: string
  token_type: 'Bearer'
  expires_in: number
  refresh_token?: string
  scope: string
}

export const DEFAULT_CLIENT_ID = 'badge'

export interface GrantDeps {
  users: UserService
  issueAccessToken: IssueAccessToken
  refreshTokens: RefreshTokens
  loginThrottle: LoginThrottle
  log: FastifyBaseLogger
}

export interface PasswordGrantInput {
  username: string
  password: string
  scope?: string
  clientId: string
  userAgent: string | null
  delivery: 'body' | 'cookie'
  /** The client's address as rate limits count it (plugins/rate-limit.ts clientAddress). */
  address: string
}

export interface RefreshGrantInput {
  refreshToken: string
  scope?: string
  clientId?: string
}

export function createGrants({ users, issueAccessToken, refreshTokens, loginThrottle, log }: GrantDeps) {
  function respond(session: SessionRow, scope: string[], refreshToken: string): TokenResponse {
    const access = issueAccessToken({
      sub: session.user_id,
      scope: scope.join(' '),
      clientId: session.client_id,
      sid: session.id,
    })
    return {
      access_token: access.token,
      token_type: 'Bearer',
      expires_in: access.expiresIn,
      refresh_token: refreshToken,
      scope: scope.join(' '),
    }
  }

  /** RFC 6749 §4.3. Unknown email, wrong password and disabled user are one error. */
  async function passwordGrant(
    input: PasswordGrantInput,
  ): Promise<{ response: TokenResponse; session: SessionRow }> {
    // CONTRACT §7: refused with 429 before any bcrypt work once too many attempts failed.
    const attempt = await loginThrottle.begin(normalizeEmail(input.username), input.address)
    let user: Awaited<ReturnType<UserService['checkPassword']>>
    try {
      user = await users.checkPassword(input.username, input.password)
    } catch (error) {
      await attempt.abandoned()
      throw error
    }
    if (!user) {
      attempt.failed()
      throw invalidGrant('The email or password is incorrect.')
    }
    await attempt.succeeded()
    const scope = resolveScope(input.scope, splitScopes(user.scopes))
    const { session, refreshToken } = await refreshTokens.startSession({
      userId: user.id,
      clientId: input.clientId,
      scope: scope.join(' '),
      userAgent: input.userAgent,
      delivery: input.delivery,
    })
    return { response: respond(session, scope, refreshToken), session }
  }

  /** RFC 6749 §6, with rotation and reuse detection (CONTRACT §4). */
  async function refreshTokenGrant(
    input: RefreshGrantInput,
  ): Promise<{ response: TokenResponse; session: SessionRow }> {
    let rotation: Awaited<ReturnType<RefreshTokens['rotateRefreshToken']>>
    try {
      rotation = await refreshTokens.rotateRefreshToken(input.refreshToken)
    } catch (error) {
      if (error instanceof RefreshTokenReused) {
        log.warn({ sessionId: error.sessionId }, 'refresh token reused after rotation: session revoked')
        throw invalidGrant('The refresh token was already used; the session has been revoked.')
      }
      throw error
    }
    const { session, refreshToken } = rotation
    if (input.clientId !== undefined && input.clientId !== session.client_id) {
      throw invalidGrant('The refresh token was issued to another client.')
    }
    const user = await users.findById(session.user_id)
    if (!user || user.disabled_at !== null)
      throw invalidGrant('The refresh token is invalid, expired or revoked.')
    // The session keeps its scope; a narrower request shapes this access token only
    // (RFC 6749 §6). Scopes an admin has since taken away are gone from both.
    const sessionScope = intersectScopes(splitScopes(session.scope), splitScopes(user.scopes))
    const scope = resolveScope(input.scope, sessionScope)
    return { response: respond(session, scope, refreshToken), session }
  }

  return { passwordGrant, refreshTokenGrant }
}

export type Grants = ReturnType<typeof createGrants>
