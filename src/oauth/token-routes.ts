import formbody from '@fastify/formbody'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { requestAuditContext } from '../audit/request-context.js'
import { authenticateClient } from '../clients/authenticate.js'
import type { ClientService } from '../clients/service.js'
import type { Clock } from '../clock.js'
import { invalidRequest, unsupportedGrantType } from '../errors.js'
import { clientAddress } from '../http/client-address.js'
import { errorResponses, scopeStringSchema } from '../http/schemas.js'
import type { DpopProofVerifier } from '../verify/dpop/proof.js'
import { deliverByCookie, REFRESH_COOKIE, refreshWithCookie } from './cookie.js'
import { tokenRequestKey } from './dpop-proof-key.js'
import { BROWSER_MODE, FORM_AND_JSON, OPTIONAL_CLIENT_AUTH, param } from './form-endpoints.js'
import { DEFAULT_CLIENT_ID, type Grants, type LoginRequest } from './grants.js'

// POST /oauth/token (RFC 6749 §3.2). Bodies may be form-encoded (the OAuth standard)
// or JSON; the form parser is registered only in this plugin, so the rest of the API
// stays JSON-only. POST /oauth/revoke is in revoke-routes.ts.

const CLIENT_ID = /^[A-Za-z0-9._:-]{1,64}$/
/** docs/contract.md §10: the second step of a login with a second factor (RFC 6749 §4.5). */
export const MFA_GRANT = 'urn:badge:grant-type:mfa'
/** docs/contract.md §10: a login with a passkey alone (RFC 6749 §4.5). */
export const PASSKEY_GRANT = 'urn:badge:grant-type:passkey'

export const tokenRequestSchema = z
  .object({
    grant_type: param(64).describe(
      `password, refresh_token, client_credentials, ${MFA_GRANT} or ${PASSKEY_GRANT}`,
    ),
    username: param(320).optional().describe('password grant: the email'),
    password: param(1024).optional().meta({ format: 'password' }).describe('password grant'),
    // Bounded only by the body limit: any string Badge did not issue is invalid_grant, never
    // invalid_request, so clients know to log in again (RFC 6749 §5.2).
    refresh_token: param(65_536).optional().describe('refresh_token grant'),
    mfa_token: param(512).optional().describe(`${MFA_GRANT}: the mfa_token of the mfa_required answer`),
    otp: param(64).optional().meta({ format: 'password' }).describe(`${MFA_GRANT}: a TOTP code`),
    recovery_code: param(64)
      .optional()
      .meta({ format: 'password' })
      .describe(`${MFA_GRANT}: a recovery code, instead of otp`),
    passkey_session: param(512)
      .optional()
      .describe(`${PASSKEY_GRANT} (or ${MFA_GRANT}): the handle from POST /oauth/passkey/options`),
    credential: param(65_536)
      .optional()
      .describe(
        `${PASSKEY_GRANT} (or ${MFA_GRANT}): the JSON of the authenticator's response (PublicKeyCredential.toJSON())`,
      ),
    scope: param(2000).optional().describe('space-separated subset of the scopes held'),
    client_id: param(64).optional().describe('public app name (default "badge"), or a registered client'),
    client_secret: param(512).optional().describe('client_secret_post authentication'),
    refresh_token_delivery: z
      .enum(['body', 'cookie'])
      .optional()
      .describe(
        `password and refresh_token grants: "cookie" (browser mode) sets the refresh token as the HttpOnly cookie ${REFRESH_COOKIE} instead of returning it; default "body"`,
      ),
  })
  .meta({
    id: 'TokenRequest',
    'x-examples': {
      password: {
        summary: 'Log in (password grant)',
        value: {
          grant_type: 'password',
          username: 'ada@example.com',
          password: 'correct horse battery staple',
        },
      },
      refresh_token: {
        summary: 'Refresh (the refresh token is spent)',
        value: { grant_type: 'refresh_token', refresh_token: 'q8Pz3v4bT0c6XhYlW1yqK0p9mV7sJ2fA5dR8uN3eG6k' },
      },
      passkey: {
        summary: 'Log in with a passkey',
        value: {
          grant_type: PASSKEY_GRANT,
          passkey_session: 'Hh2k0t9pA2mV7sJ2fA5dR8uN3eG6kq8Pz3v4bT0c6X',
          credential:
            '{"id":"…","rawId":"…","type":"public-key","response":{"clientDataJSON":"…","authenticatorData":"…","signature":"…","userHandle":"…"},"clientExtensionResults":{}}',
        },
      },
      mfa: {
        summary: 'Finish a login with a TOTP code (after mfa_required)',
        value: {
          grant_type: MFA_GRANT,
          mfa_token: 'Yk3fQ0t9pA2mV7sJ2fA5dR8uN3eG6kq8Pz3v4bT0c6X',
          otp: '123456',
        },
      },
      client_credentials: {
        summary: 'A registered client (client_secret_post)',
        value: {
          grant_type: 'client_credentials',
          client_id: 'billing-service',
          client_secret: 'a-long-random-secret',
          scope: 'admin',
        },
      },
    },
  })

export const tokenResponseSchema = z
  .object({
    access_token: z
      .string()
      .max(8192)
      .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/)
      .describe(
        'RFC 9068 JWT; send as Authorization: Bearer, or as Authorization: DPoP with a DPoP proof when token_type is DPoP',
      ),
    token_type: z
      .enum(['Bearer', 'DPoP'])
      .describe(
        'DPoP when the request carried a valid DPoP proof: the access token is bound to its key (RFC 9449 §5)',
      ),
    expires_in: z.int().min(1).meta({ format: 'int64' }).describe('Seconds until the access token expires'),
    refresh_token: z
      .string()
      .max(512)
      .regex(/^[A-Za-z0-9_-]+$/)
      .optional()
      .describe('Opaque; spent by its first use (password and refresh grants only)'),
    scope: scopeStringSchema.describe('Space-separated scopes of the access token'),
  })
  .meta({
    id: 'TokenResponse',
    examples: [
      {
        access_token: 'eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCIsImtpZCI6Ii4uLiJ9.eyJzdWIiOiIuLi4ifQ.c2ln',
        token_type: 'Bearer',
        expires_in: 900,
        refresh_token: 'q8Pz3v4bT0c6XhYlW1yqK0p9mV7sJ2fA5dR8uN3eG6k',
        scope: 'profile:read profile:write',
      },
    ],
  })

export interface TokenRouteOptions {
  grants: Grants
  clients: ClientService
  clock: Clock
  /** RFC 9449 proofs; the token endpoint's URI is ISSUER + its path. */
  dpop: { proofs: DpopProofVerifier; issuer: string }
}

export const tokenRoutes: FastifyPluginAsyncZod<TokenRouteOptions> = async (
  app,
  { grants, clients, clock, dpop },
) => {
  const browser = { checkCsrf: app.checkCsrf, now: clock }
  await app.register(formbody, { bodyLimit: 65536 })

  app.post(
    '/oauth/token',
    {
      config: { limit: 'token' },
      schema: {
        operationId: 'requestToken',
        summary:
          'Token endpoint (RFC 6749): password, MFA, passkey, refresh_token and client_credentials grants',
        description: `Form-encoded (the OAuth standard) or JSON. The password grant logs a user in and starts a session; for a user with a second factor a correct password answers 400 mfa_required with an mfa_token (5 minutes, 5 attempts), and the ${MFA_GRANT} grant with that mfa_token and otp, recovery_code, or passkey_session with credential finishes the login (a TOTP code is accepted once; failed codes count in the failed-sign-in limits); the ${PASSKEY_GRANT} grant logs in with a passkey alone: passkey_session from POST /oauth/passkey/options (5 minutes, one use) and credential, the JSON of the authenticator's response, which must verify the user (amr ["hwk" or "swk", "user", "mfa"]; failures count in the failed-sign-in limits); the refresh_token grant rotates its refresh token (the old one is spent; presenting it again later revokes the whole session); client_credentials issues an access token to a registered client. Omitting scope grants everything held. Responses are never cacheable.\n\n${BROWSER_MODE} With refresh_token_delivery=cookie the response body has no refresh_token. A refresh_token grant without refresh_token reads the cookie and sets its successor as the cookie; a refused cookie refresh clears the cookie. A session never mixes modes: its refresh token is accepted only the way it was issued (else invalid_grant). With EMAIL_VERIFICATION=required, a correct password for an unverified email is 400 email_not_verified.\n\nDPoP (RFC 9449): with a valid DPoP header proof (htm POST, htu this endpoint's URI) the access token is bound to the proof's key (cnf.jkt, token_type DPoP), and so is a public client's session: refreshing it needs a proof by the same key (none: invalid_dpop_proof; another key: invalid_grant). An invalid proof is 400 invalid_dpop_proof; with DPOP_NONCE=true a proof without the current nonce is 400 use_dpop_nonce with the nonce in DPoP-Nonce. Without a DPoP header nothing changes.`,
        tags: ['oauth'],
        consumes: FORM_AND_JSON,
        security: OPTIONAL_CLIENT_AUTH,
        body: tokenRequestSchema,
        response: {
          200: tokenResponseSchema,
          ...errorResponses(
            {
              400: [
                'invalid_request',
                'invalid_grant',
                'invalid_scope',
                'unsupported_grant_type',
                'email_not_verified',
                'invalid_dpop_proof',
                'use_dpop_nonce',
                'mfa_required',
              ],
              401: ['invalid_client'],
              403: ['csrf_rejected'],
            },
            413,
            415,
            503,
          ),
        },
      },
    },
    async (request, reply) => {
      const body = request.body
      // Presented client credentials are checked first: wrong ones are 401 whatever the grant.
      const client = await authenticateClient(request, clients)
      const clientId = client?.client.client_id ?? body.client_id ?? DEFAULT_CLIENT_ID
      if (!CLIENT_ID.test(clientId)) throw invalidRequest('client_id must match ^[A-Za-z0-9._:-]{1,64}$.')
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
      // RFC 9449 §5: a valid DPoP proof binds the tokens issued to its key.
      const jkt = tokenRequestKey(request, dpop.proofs, dpop.issuer)
      if (dpop.proofs.currentNonce) reply.header('dpop-nonce', dpop.proofs.currentNonce())
      // What the password, MFA and passkey grants all need to know about this request.
      const loginRequest = (delivery: 'body' | 'cookie'): LoginRequest => ({
        clientId,
        client,
        userAgent: request.headers['user-agent'] ?? null,
        delivery,
        address: clientAddress(request),
        who: requestAuditContext(request),
        jkt,
      })
      switch (body.grant_type) {
        case 'password': {
          if (body.username === undefined || body.password === undefined) {
            throw invalidRequest('The password grant needs username and password.')
          }
          const delivery = body.refresh_token_delivery ?? 'body'
          // Login CSRF: a hostile page must not sign the browser into its own account.
          if (delivery === 'cookie') app.checkCsrf(request)
          const result = await grants.passwordGrant({
            username: body.username,
            password: body.password,
            scope: body.scope,
            ...loginRequest(delivery),
          })
          return delivery === 'cookie' ? deliverByCookie(reply, result, clock()) : result.response
        }
        case MFA_GRANT: {
          if (body.mfa_token === undefined) throw invalidRequest('The mfa grant needs mfa_token.')
          const delivery = body.refresh_token_delivery ?? 'body'
          if (delivery === 'cookie') app.checkCsrf(request)
          const result = await grants.mfaGrant({
            mfaToken: body.mfa_token,
            otp: body.otp,
            recoveryCode: body.recovery_code,
            passkeySession: body.passkey_session,
            credential: body.credential,
            ...loginRequest(delivery),
          })
          return delivery === 'cookie' ? deliverByCookie(reply, result, clock()) : result.response
        }
        case PASSKEY_GRANT: {
          if (body.passkey_session === undefined || body.credential === undefined)
            throw invalidRequest('The passkey grant needs passkey_session and credential.')
          const delivery = body.refresh_token_delivery ?? 'body'
          if (delivery === 'cookie') app.checkCsrf(request)
          const result = await grants.passkeyGrant({
            passkeySession: body.passkey_session,
            credential: body.credential,
            scope: body.scope,
            ...loginRequest(delivery),
          })
          return delivery === 'cookie' ? deliverByCookie(reply, result, clock()) : result.response
        }
        case 'refresh_token': {
          const refresh = (refreshToken: string, delivery: 'body' | 'cookie') =>
            grants.refreshTokenGrant({
              refreshToken,
              scope: body.scope,
              clientId: client?.client.client_id ?? body.client_id,
              client,
              delivery,
              who: requestAuditContext(request),
              jkt,
            })
          if (body.refresh_token === undefined) {
            if (body.refresh_token_delivery === 'body')
              throw invalidRequest('The refresh_token grant needs refresh_token.')
            return refreshWithCookie(request, reply, browser, (token) => refresh(token, 'cookie'))
          }
          if (body.refresh_token_delivery === 'cookie')
            throw invalidRequest(
              'With refresh_token_delivery=cookie the refresh token comes from the cookie.',
            )
          return (await refresh(body.refresh_token, 'body')).response
        }
        case 'client_credentials':
          return grants.clientCredentialsGrant({ client, scope: body.scope, jkt })
        default:
          throw unsupportedGrantType(`The grant type "${body.grant_type.slice(0, 64)}" is not supported.`)
      }
    },
  )
}
