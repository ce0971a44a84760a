import type { FastifyBaseLogger } from 'fastify'
import type { AuditLog } from '../audit/audit-log.js'
import type { AuditContext } from '../audit/events.js'
import type { AuthenticatedClient } from '../clients/authenticate.js'
import { isRegisteredClientId } from '../clients/secrets.js'
import type { ClientService } from '../clients/service.js'
import type { Clock } from '../clock.js'
import type { SessionRow, UserRow } from '../db/schema.js'
import {
  BadgeError,
  emailNotVerified,
  invalidClient,
  invalidDpopProof,
  invalidGrant,
  invalidRequest,
  mfaRequired,
} from '../errors.js'
import { type MetricsRecorder, noMetrics } from '../metrics/recorder.js'
import type { MfaService } from '../mfa/service.js'
import type { PasskeyService } from '../passkeys/service.js'
import { effectiveSessionScope, grantableUserScopes, intersectScopes, resolveScope } from '../scopes.js'
import type { IssueAccessToken } from '../tokens/access-token.js'
import { RefreshTokenReused, type RefreshTokens } from '../tokens/refresh-token.js'
import type { UserService } from '../users/service.js'
import { isUserUsable } from '../users/user-usable.js'

/** RFC 6749 §5.1 successful response. */
export interface TokenResponse {
  access_token: string
  /** RFC 9449 §5: "DPoP" when the access token is bound to the request's DPoP key. */
  token_type: 'Bearer' | 'DPoP'
  expires_in: number
  refresh_token?: string
  scope: string
}

export const DEFAULT_CLIENT_ID = 'badge'

const tokenType = (jkt: string | undefined) => (jkt === undefined ? 'Bearer' : 'DPoP')

/**
 * RFC 9449 §5: a public client's refresh tokens are bound to its DPoP key, so a stolen
 * refresh token is useless without the key. A confidential client's are already bound to
 * its credentials and stay unbound.
 */
function sessionBinding(input: { jkt?: string; client?: AuthenticatedClient }): string | undefined {
  return input.client === undefined ? input.jkt : undefined
}

/** RFC 9449 §5: refreshing a DPoP-bound session needs a proof by the key it is bound to. */
function checkSessionKeyBinding(session: SessionRow, jkt: string | undefined): void {
  if (session.dpop_jkt === null) return
  if (jkt === undefined)
    throw invalidDpopProof('This refresh token is DPoP-bound: send a DPoP proof by its key.')
  if (jkt !== session.dpop_jkt) throw invalidGrant('The refresh token is bound to another DPoP key.')
}

export interface GrantDeps {
  users: UserService
  issueAccessToken: IssueAccessToken
  refreshTokens: RefreshTokens
  clients: Pick<ClientService, 'findByClientId' | 'grantableScopes'>
  log: FastifyBaseLogger
  audit: AuditLog
  /** SCOPES: user scopes outside it are no longer granted. */
  knownScopes: readonly string[]
  metrics?: MetricsRecorder
  mfa: Pick<MfaService, 'methodsFor' | 'startPendingLogin' | 'completePendingLogin'>
  passkeys: Pick<PasskeyService, 'assert'>
  clock: Clock
  /** EMAIL_VERIFICATION=required: the password grant refuses unverified emails (docs/contract.md §9). */
  requireVerifiedEmail?: boolean
}

/** What every grant that logs a user in (password, MFA, passkey) knows about its request. */
export interface LoginRequest {
  clientId: string
  /** The client that authenticated on this request, if any. */
  client?: AuthenticatedClient
  userAgent: string | null
  delivery: 'body' | 'cookie'
  /** The client's address as rate limits count it (http/client-address.ts). */
  address: string
  /** Who asks, for the audit log (audit/request-context.ts). */
  who: AuditContext
  /** RFC 9449: the thumbprint of the request's verified DPoP proof key, if it sent one. */
  jkt?: string
}

export interface PasswordGrantInput extends LoginRequest {
  username: string
  password: string
  scope?: string
}

/** docs/contract.md §10: urn:badge:grant-type:mfa, the second step of a login. */
export interface MfaGrantInput extends LoginRequest {
  mfaToken: string
  otp?: string
  recoveryCode?: string
  /** A passkey as the second factor: the handle of POST /oauth/passkey/options and the response. */
  passkeySession?: string
  credential?: string
}

/** docs/contract.md §10: urn:badge:grant-type:passkey, a login with a passkey alone. */
export interface PasskeyGrantInput extends LoginRequest {
  passkeySession: string
  credential: string
  scope?: string
}

export interface RefreshGrantInput {
  refreshToken: string
  scope?: string
  /** The client_id the request names or authenticated as, if any. */
  clientId?: string
  client?: AuthenticatedClient
  /** How the token arrived; it must match how its session was started (docs/contract.md §8). */
  delivery: 'body' | 'cookie'
  who: AuditContext
  jkt?: string
}

export interface ClientCredentialsGrantInput {
  client?: AuthenticatedClient
  scope?: string
  jkt?: string
}

export function createGrants({
  users,
  issueAccessToken,
  refreshTokens,
  clients,
  log,
  audit,
  knownScopes,
  metrics = noMetrics,
  mfa,
  passkeys,
  clock,
  requireVerifiedEmail = false,
}: GrantDeps) {
  const heldScopes = (stored: string) => grantableUserScopes(stored, knownScopes)

  /**
   * docs/contract.md §4: a client_id naming a registered confidential client is only usable by
   * that client, authenticated (RFC 6749 §6: confidential clients authenticate to refresh).
   */
  function refuseUnauthenticatedRegisteredClient(
    clientId: string,
    rowExists: boolean,
    client: AuthenticatedClient | undefined,
  ) {
    if (client) return
    // Registered clients' ids have their own shape (clients/secrets.ts): one that names
    // no client (a deleted one) is refused too, never taken as a public app's name.
    if (isRegisteredClientId(clientId) || rowExists)
      throw invalidClient('This client_id belongs to a registered client, which must authenticate.')
  }

  async function requireClientAuthentication(clientId: string, client: AuthenticatedClient | undefined) {
    // The clients table is read only when the client did not authenticate and the id's
    // shape does not already decide.
    const rowExists =
      client === undefined &&
      !isRegisteredClientId(clientId) &&
      (await clients.findByClientId(clientId)) !== undefined
    refuseUnauthenticatedRegisteredClient(clientId, rowExists, client)
  }

  function respond(
    session: SessionRow,
    scope: string[],
    refreshToken: string,
    jkt: string | undefined,
  ): TokenResponse {
    const access = issueAccessToken({
      jkt,
      sub: session.user_id,
      scope: scope.join(' '),
      clientId: session.client_id,
      sid: session.id,
      // The login's methods and time, kept by every refresh of the session (docs/contract.md §10);
      // sessions from before they were recorded were password logins.
      amr: session.amr?.split(' ') ?? ['pwd'],
      authTime: Math.floor((session.auth_time ?? session.created_at) / 1000),
    })
    return {
      access_token: access.token,
      token_type: tokenType(jkt),
      expires_in: access.expiresIn,
      refresh_token: refreshToken,
      scope: scope.join(' '),
    }
  }

  /** RFC 6749 §4.3, counted in the metrics: issued, or failed with the error code answered. */
  async function passwordGrant(
    input: PasswordGrantInput,
  ): Promise<{ response: TokenResponse; session: SessionRow }> {
    try {
      const result = await passwordLogin(input)
      metrics.tokenIssued('password')
      return result
    } catch (error) {
      // Catalog codes only, so the label stays a closed set.
      metrics.loginFailed(error instanceof BadgeError ? error.code : 'server_error')
      throw error
    }
  }

  /** Unknown email, wrong password and disabled user are one error. */
  async function passwordLogin(
    input: PasswordGrantInput,
  ): Promise<{ response: TokenResponse; session: SessionRow }> {
    // docs/contract.md §7: throttled (429) before any bcrypt work, inside checkPassword.
    const user = await users.checkPassword(input.username, input.password, {
      address: input.address,
      clientId: input.clientId,
      who: input.who,
    })
    if (!user) throw invalidGrant('The email or password is incorrect.')
    try {
      return await openSession(input, user)
    } catch (error) {
      // Refused after a right password (client, scope, a credential change meanwhile):
      // still a failed login (users/service.ts records the ones refused before).
      // mfa_required is not a failure: the password was right, the second factor comes next.
      if (error instanceof BadgeError && error.code !== 'mfa_required')
        await audit.recordLoginFailure(input.who, {
          userId: user.id,
          clientId: input.clientId,
          reason: error.code,
          address: input.address,
        })
      throw error
    }
  }

  /**
   * The session of a login whose first step held: `passkey` when it was a passkey login,
   * which satisfies MFA on its own and carries its own methods (docs/contract.md §10).
   */
  async function openSession(
    input: Omit<PasswordGrantInput, 'username' | 'password'>,
    user: UserRow,
    passkey?: { amr: string[] },
  ): Promise<{ response: TokenResponse; session: SessionRow }> {
    // Only after a correct password: a guesser learns nothing from email_not_verified.
    if (requireVerifiedEmail && user.email_verified_at === null) throw emailNotVerified()
    await requireClientAuthentication(input.clientId, input.client)
    // A registered client's scopes cap what a login through it grants.
    const held = heldScopes(user.scopes)
    const scope = resolveScope(
      input.scope,
      input.client ? intersectScopes(held, clients.grantableScopes(input.client.client)) : held,
    )
    // A user with a second factor gets an mfa_token instead of a session (docs/contract.md §10).
    const methods = passkey ? [] : await mfa.methodsFor(user.id)
    if (methods.length > 0) {
      const mfaToken = await mfa.startPendingLogin({
        userId: user.id,
        credentialVersion: user.credential_version,
        clientId: input.clientId,
        scope: scope.join(' '),
        authTime: clock(),
      })
      throw mfaRequired(mfaToken, methods)
    }
    // startSession re-checks the user's credential version and the client under lock
    // (users/credential-fence.ts), so a password change, disable, deletion or client
    // deletion that committed during the check leaves no session behind.
    const { session, refreshToken } = await refreshTokens.startSession(
      {
        userId: user.id,
        clientId: input.clientId,
        scope: scope.join(' '),
        userAgent: input.userAgent,
        delivery: input.delivery,
        credentialVersion: user.credential_version,
        registeredClient: input.client !== undefined,
        amr: passkey?.amr ?? ['pwd'],
        dpopJkt: sessionBinding(input),
      },
      input.who,
    )
    return { response: respond(session, scope, refreshToken, input.jkt), session }
  }

  /**
   * docs/contract.md §10: completes a login that answered mfa_required, with a TOTP code
   * or a recovery code. The same client must finish it. The session is fenced by the
   * credential version the password was checked against: a password change, a second
   * factor added or removed, or a disable since then leaves nothing to finish.
   */
  async function mfaGrant(input: MfaGrantInput): Promise<{ response: TokenResponse; session: SessionRow }> {
    const given = [input.otp, input.recoveryCode, input.credential].filter((f) => f !== undefined)
    if (given.length !== 1 || (input.credential === undefined) !== (input.passkeySession === undefined))
      throw invalidRequest(
        'The mfa grant needs exactly one of otp, recovery_code, or passkey_session with credential.',
      )
    await requireClientAuthentication(input.clientId, input.client)
    const factor =
      input.otp !== undefined
        ? { otp: input.otp }
        : input.recoveryCode !== undefined
          ? { recoveryCode: input.recoveryCode }
          : { passkeySession: input.passkeySession!, credential: input.credential! }
    const login = await mfa.completePendingLogin(input.mfaToken, factor, input.address, input.clientId)
    if (!login) {
      await audit.recordLoginFailure(input.who, {
        userId: null,
        clientId: input.clientId,
        reason: 'invalid_mfa_code',
        address: input.address,
      })
      throw invalidGrant('The mfa_token or the code is invalid, expired or used up.')
    }
    const user = await users.findById(login.userId)
    if (!isUserUsable(user)) throw invalidGrant('The email or password is incorrect.')
    // Scopes an admin took away in the meantime are not granted.
    const scope = effectiveSessionScope(login.scope, user.scopes, knownScopes)
    const { session, refreshToken } = await refreshTokens.startSession(
      {
        userId: login.userId,
        clientId: input.clientId,
        scope: scope.join(' '),
        userAgent: input.userAgent,
        delivery: input.delivery,
        credentialVersion: login.credentialVersion,
        registeredClient: input.client !== undefined,
        amr: login.amr,
        authTime: login.authTime,
        dpopJkt: sessionBinding(input),
      },
      input.who,
    )
    return { response: respond(session, scope, refreshToken, input.jkt), session }
  }

  /**
   * docs/contract.md §10: a login with a passkey alone. The assertion must verify the user
   * (PIN or biometric), so it is two factors by itself; then the session opens as a
   * password login's does (client, scopes, verified email, the credential fence).
   */
  async function passkeyGrant(
    input: PasskeyGrantInput,
  ): Promise<{ response: TokenResponse; session: SessionRow }> {
    try {
      const assertion = await passkeys.assert(input.passkeySession, input.credential, input.address, true)
      const user = assertion && (await users.findById(assertion.userId))
      if (!assertion || !isUserUsable(user)) {
        await audit.recordLoginFailure(input.who, {
          userId: null,
          clientId: input.clientId,
          reason: 'invalid_passkey',
          address: input.address,
        })
        throw invalidGrant('The passkey_session or the credential is invalid, expired or used.')
      }
      const result = await openSession(input, user, assertion)
      metrics.tokenIssued('passkey')
      return result
    } catch (error) {
      metrics.loginFailed(error instanceof BadgeError ? error.code : 'server_error')
      throw error
    }
  }

  /** RFC 6749 §6, with rotation and reuse detection (docs/contract.md §4). */
  async function refreshTokenGrant(
    input: RefreshGrantInput,
  ): Promise<{ response: TokenResponse; session: SessionRow }> {
    // The client binding is checked before anything is spent, so a request from the wrong
    // client (or a confidential client that did not authenticate) does not spend the token.
    // It runs inside the rotation, on the row the rotation reads (whether the session's
    // client is registered comes from the same statement): no separate lookups.
    const checkClientBinding = ({
      session,
      clientRegistered,
    }: {
      session: SessionRow
      clientRegistered: boolean
    }) => {
      if (input.clientId !== undefined && input.clientId !== session.client_id)
        throw invalidGrant('The refresh token was issued to another client.')
      refuseUnauthenticatedRegisteredClient(session.client_id, clientRegistered, input.client)
      checkSessionKeyBinding(session, input.jkt)
    }
    let rotation: Awaited<ReturnType<RefreshTokens['rotateRefreshToken']>>
    try {
      rotation = await refreshTokens.rotateRefreshToken(
        input.refreshToken,
        input.delivery,
        checkClientBinding,
        input.who,
      )
    } catch (error) {
      if (error instanceof RefreshTokenReused) {
        log.warn({ sessionId: error.sessionId }, 'refresh token reused after rotation: session revoked')
        metrics.refreshReuseDetected()
        throw invalidGrant('The refresh token was already used; the session has been revoked.')
      }
      throw error
    }
    // The user as the rotation read it, in the same statement (no re-read after commit).
    const { session, refreshToken, user } = rotation
    if (!isUserUsable(user)) throw invalidGrant('The refresh token is invalid, expired or revoked.')
    // The session keeps its scope; a narrower request shapes this access token only
    // (RFC 6749 §6). Scopes an admin has since taken away are gone from both.
    const sessionScope = effectiveSessionScope(session.scope, user.scopes, knownScopes)
    const scope = resolveScope(input.scope, sessionScope)
    const response = respond(session, scope, refreshToken, input.jkt)
    metrics.tokenIssued('refresh_token')
    return { response, session }
  }

  /**
   * RFC 6749 §4.4: a registered client acting for itself. The token's sub and client_id
   * are the client's id; there is no session, so no sid and no refresh token (§4.4.3).
   */
  function clientCredentialsGrant(input: ClientCredentialsGrantInput): TokenResponse {
    if (!input.client) throw invalidClient('The client_credentials grant needs client authentication.')
    const { client } = input.client
    const scope = resolveScope(input.scope, clients.grantableScopes(client)).join(' ')
    const access = issueAccessToken({
      sub: client.client_id,
      scope,
      clientId: client.client_id,
      jkt: input.jkt,
    })
    metrics.tokenIssued('client_credentials')
    return {
      access_token: access.token,
      token_type: tokenType(input.jkt),
      expires_in: access.expiresIn,
      scope,
    }
  }

  return { passwordGrant, mfaGrant, passkeyGrant, refreshTokenGrant, clientCredentialsGrant }
}

export type Grants = ReturnType<typeof createGrants>
