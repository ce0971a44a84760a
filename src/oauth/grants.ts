import type { FastifyBaseLogger } from 'fastify'
import type { AuthenticatedClient } from '../clients/authenticate.js'
import { isRegisteredClientId } from '../clients/secrets.js'
import type { ClientService } from '../clients/service.js'
import type { SessionRow } from '../db/schema.js'
import { emailNotVerified, invalidClient, invalidGrant } from '../errors.js'
import { effectiveSessionScope, grantableUserScopes, intersectScopes, resolveScope } from '../scopes.js'
import type { IssueAccessToken } from '../tokens/access-token.js'
import { RefreshTokenReused, type RefreshTokens } from '../tokens/refresh-token.js'
import type { UserService } from '../users/service.js'
import { isUserUsable } from '../users/user-usable.js'

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
  clients: Pick<ClientService, 'findByClientId' | 'grantableScopes'>
  log: FastifyBaseLogger
  /** SCOPES: user scopes outside it are no longer granted. */
  knownScopes: readonly string[]
  /** EMAIL_VERIFICATION=required: the password grant refuses unverified emails (docs/contract.md §9). */
  requireVerifiedEmail?: boolean
}

export interface PasswordGrantInput {
  username: string
  password: string
  scope?: string
  clientId: string
  /** The client that authenticated on this request, if any. */
  client?: AuthenticatedClient
  userAgent: string | null
  delivery: 'body' | 'cookie'
  /** The client's address as rate limits count it (http/client-address.ts). */
  address: string
}

export interface RefreshGrantInput {
  refreshToken: string
  scope?: string
  /** The client_id the request names or authenticated as, if any. */
  clientId?: string
  client?: AuthenticatedClient
  /** How the token arrived; it must match how its session was started (docs/contract.md §8). */
  delivery: 'body' | 'cookie'
}

export interface ClientCredentialsGrantInput {
  client?: AuthenticatedClient
  scope?: string
}

export function createGrants({
  users,
  issueAccessToken,
  refreshTokens,
  clients,
  log,
  knownScopes,
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
    // docs/contract.md §7: throttled (429) before any bcrypt work, inside checkPassword.
    const user = await users.checkPassword(input.username, input.password, input.address)
    if (!user) throw invalidGrant('The email or password is incorrect.')
    // Only after a correct password: a guesser learns nothing from email_not_verified.
    if (requireVerifiedEmail && user.email_verified_at === null) throw emailNotVerified()
    await requireClientAuthentication(input.clientId, input.client)
    // A registered client's scopes cap what a login through it grants.
    const held = heldScopes(user.scopes)
    const scope = resolveScope(
      input.scope,
      input.client ? intersectScopes(held, clients.grantableScopes(input.client.client)) : held,
    )
    // startSession re-checks the user's credential version and the client under lock
    // (users/credential-fence.ts), so a password change, disable, deletion or client
    // deletion that committed during the check leaves no session behind.
    const { session, refreshToken } = await refreshTokens.startSession({
      userId: user.id,
      clientId: input.clientId,
      scope: scope.join(' '),
      userAgent: input.userAgent,
      delivery: input.delivery,
      credentialVersion: user.credential_version,
      registeredClient: input.client !== undefined,
    })
    return { response: respond(session, scope, refreshToken), session }
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
    }
    let rotation: Awaited<ReturnType<RefreshTokens['rotateRefreshToken']>>
    try {
      rotation = await refreshTokens.rotateRefreshToken(
        input.refreshToken,
        input.delivery,
        checkClientBinding,
      )
    } catch (error) {
      if (error instanceof RefreshTokenReused) {
        log.warn({ sessionId: error.sessionId }, 'refresh token reused after rotation: session revoked')
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
    return { response: respond(session, scope, refreshToken), session }
  }

  /**
   * RFC 6749 §4.4: a registered client acting for itself. The token's sub and client_id
   * are the client's id; there is no session, so no sid and no refresh token (§4.4.3).
   */
  function clientCredentialsGrant(input: ClientCredentialsGrantInput): TokenResponse {
    if (!input.client) throw invalidClient('The client_credentials grant needs client authentication.')
    const { client } = input.client
    const scope = resolveScope(input.scope, clients.grantableScopes(client)).join(' ')
    const access = issueAccessToken({ sub: client.client_id, scope, clientId: client.client_id })
    return { access_token: access.token, token_type: 'Bearer', expires_in: access.expiresIn, scope }
  }

  return { passwordGrant, refreshTokenGrant, clientCredentialsGrant }
}

export type Grants = ReturnType<typeof createGrants>
