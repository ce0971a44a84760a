import formbody from '@fastify/formbody'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { authenticateClient } from '../clients/authenticate.js'
import { invalidRequest, OAuthError } from '../errors.js'
import { errorResponses, scopeStringSchema } from '../http/schemas.js'
import { clientAddress } from '../plugins/rate-limit.js'
import type { Services } from '../services.js'
import { mayHandleTokenOf } from './client-binding.js'
import { deliverByCookie, REFRESH_COOKIE, refreshWithCookie, useRefreshCookie } from './cookie.js'
import { DEFAULT_CLIENT_ID } from './grants.js'

// POST /oauth/token (RFC 6749 §3.2) and POST /oauth/revoke (RFC 7009). Bodies may be
// form-encoded (the OAuth standard) or JSON; the form parser is registered only in
// this plugin, so the rest of the API stays JSON-only.

const CLIENT_ID = /^[A-Za-z0-9._:-]{1,64}$/

const param = (max: number) => z.string().max(max)

export const tokenRequestSchema = z
  .object({
    grant_type: param(64).describe('password, refresh_token or client_credentials'),
    username: param(320).optional().describe('password grant: the email'),
    password: param(1024).optional().meta({ format: 'password' }).describe('password grant'),
    refresh_token: param(512).optional().describe('refresh_token grant'),
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
      .describe('RFC 9068 JWT; send as Authorization: Bearer'),
    token_type: z.literal('Bearer'),
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

const revokeRequestSchema = z
  .object({
    token: param(8192)
      .optional()
      .describe(
        `The refresh token or access token to revoke; omitted: the session of the ${REFRESH_COOKIE} cookie`,
      ),
    token_type_hint: z.enum(['refresh_token', 'access_token']).optional(),
    client_id: param(64).optional(),
    client_secret: param(512).optional(),
  })
  .meta({
    id: 'RevocationRequest',
    'x-examples': {
      logout: {
        summary: 'Log out: end the session of a refresh token',
        value: { token: 'q8Pz3v4bT0c6XhYlW1yqK0p9mV7sJ2fA5dR8uN3eG6k', token_type_hint: 'refresh_token' },
      },
    },
  })

const FORM_AND_JSON = ['application/x-www-form-urlencoded', 'application/json']
// No client authentication needed (public apps), but a registered client may authenticate.
const OPTIONAL_CLIENT_AUTH: Array<Record<string, string[]>> = [{}, { clientBasic: [] }]

// CONTRACT §8, for the descriptions below.
const BROWSER_MODE = `Browser mode: the refresh token lives in the cookie ${REFRESH_COOKIE} (HttpOnly; Secure; SameSite=COOKIE_SAMESITE; Path=/oauth; Max-Age = the session's remaining life). Requests that set or use it must send an Origin that is Badge's own or in CORS_ORIGINS and the header X-Badge-CSRF: 1, or get 403 csrf_rejected.`

export const tokenRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  const { grants, refreshTokens, verifier, sessions, clock, clients } = services
  const browser = { checkCsrf: app.checkCsrf, now: clock }
  await app.register(formbody, { bodyLimit: 65536 })

  app.post(
    '/oauth/token',
    {
      schema: {
        operationId: 'requestToken',
        summary: 'Token endpoint (RFC 6749): password, refresh_token and client_credentials grants',
        description: `Form-encoded (the OAuth standard) or JSON. The password grant logs a user in and starts a session; the refresh_token grant rotates its refresh token (the old one is spent; presenting it again later revokes the whole session); client_credentials issues an access token to a registered client. Omitting scope grants everything held. Responses are never cacheable.\n\n${BROWSER_MODE} With refresh_token_delivery=cookie the response body has no refresh_token. A refresh_token grant without refresh_token reads the cookie and sets its successor as the cookie; a refused cookie refresh clears the cookie. A session never mixes modes: its refresh token is accepted only the way it was issued (else invalid_grant).`,
        tags: ['oauth'],
        consumes: FORM_AND_JSON,
        security: OPTIONAL_CLIENT_AUTH,
        body: tokenRequestSchema,
        response: {
          200: tokenResponseSchema,
          ...errorResponses(
            {
              400: ['invalid_request', 'invalid_grant', 'invalid_scope', 'unsupported_grant_type'],
              401: ['invalid_client'],
              403: ['csrf_rejected'],
            },
            413,
            415,
            429,
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
            clientId,
            client,
            userAgent: request.headers['user-agent'] ?? null,
            delivery,
            address: clientAddress(request),
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
          return grants.clientCredentialsGrant({ client, scope: body.scope })
        default:
          throw new OAuthError(
            400,
            'unsupported_grant_type',
            `The grant type "${body.grant_type.slice(0, 64)}" is not supported.`,
          )
      }
    },
  )

  app.post(
    '/oauth/revoke',
    {
      schema: {
        operationId: 'revokeToken',
        summary: 'Revocation endpoint (RFC 7009): ends the session of a refresh or access token',
        description: `Always 200 for a well-formed request, known token or not. A refresh token ends its session; an access token ends the session named by its sid (the access token itself stays valid until it expires). Without token, ends the session of the refresh-token cookie and clears the cookie; with neither, 400 invalid_request. ${BROWSER_MODE}`,
        tags: ['oauth'],
        consumes: FORM_AND_JSON,
        security: OPTIONAL_CLIENT_AUTH,
        body: revokeRequestSchema,
        response: {
          200: z.undefined().describe('Revoked, or nothing to revoke (empty body)'),
          ...errorResponses(400, { 401: ['invalid_client'], 403: ['csrf_rejected'] }, 413, 415, 429, 503),
        },
      },
    },
    async (request, reply) => {
      // Client authentication is optional here (the token is the credential), but
      // credentials that are presented must be right (RFC 7009 §2.1).
      const caller = (await authenticateClient(request, clients))?.client.client_id
      const { token, token_type_hint: hint } = request.body
      if (token === undefined) {
        await refreshTokens.revokeRefreshToken(useRefreshCookie(request, browser), caller)
        return reply.code(200).header('cache-control', 'no-store').clearRefreshCookie().send()
      }
      // RFC 7009 §2.1: the hint only orders the lookups.
      const revokeAsAccessToken = () => {
        let claims: { sid?: string; client_id: string }
        try {
          claims = verifier.verifyAccessToken(token).claims
        } catch {
          return false
        }
        // RFC 7009 §2.1: a token of a registered client is revoked by that client only;
        // otherwise answered 200 like an unknown token, revealing nothing.
        const { sid } = claims
        if (sid === undefined || !mayHandleTokenOf(claims.client_id, caller)) return Promise.resolve(true)
        return sessions.revoke(sid, clock()).then(() => true)
      }
      const looksLikeJwt = token.split('.').length === 3
      if (hint === 'access_token' || looksLikeJwt) {
        if (!(await revokeAsAccessToken())) await refreshTokens.revokeRefreshToken(token, caller)
      } else if (!(await refreshTokens.revokeRefreshToken(token, caller))) {
        await revokeAsAccessToken()
      }
      return reply.code(200).header('cache-control', 'no-store').send()
    },
  )
}
