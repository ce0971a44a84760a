import formbody from '@fastify/formbody'
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { requestAuditContext } from '../audit/request-context.js'
import { authenticateClient } from '../clients/authenticate.js'
import { mayHandleTokenOf } from '../clients/client-binding.js'
import type { ClientService } from '../clients/service.js'
import type { Clock } from '../clock.js'
import { errorResponses } from '../http/schemas.js'
import type { RefreshTokens } from '../tokens/refresh-token.js'
import type { AccessTokenVerifier } from '../verify/verifier.js'
import { REFRESH_COOKIE, useRefreshCookie } from './cookie.js'
import { BROWSER_MODE, FORM_AND_JSON, OPTIONAL_CLIENT_AUTH, param } from './form-endpoints.js'

// POST /oauth/revoke (RFC 7009): log out. Form-encoded or JSON, like the token endpoint.

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

export interface RevokeRouteOptions {
  refreshTokens: RefreshTokens
  verifier: AccessTokenVerifier
  clients: ClientService
  clock: Clock
}

export const revokeRoutes: FastifyPluginAsyncZod<RevokeRouteOptions> = async (
  app,
  { refreshTokens, verifier, clients, clock },
) => {
  const browser = { checkCsrf: app.checkCsrf, now: clock }
  await app.register(formbody, { bodyLimit: 65536 })

  app.post(
    '/oauth/revoke',
    {
      config: { limit: 'revoke' },
      schema: {
        operationId: 'revokeToken',
        summary: 'Revocation endpoint (RFC 7009): ends the session of a refresh or access token',
        description: `Always 200 for a well-formed request, known token or not. A refresh token ends its session; an access token ends the session named by its sid; the session's access tokens are then refused by Badge and by resource servers following GET /v1/revocations. Without token, ends the session of the refresh-token cookie and clears the cookie; with neither, 400 invalid_request. ${BROWSER_MODE}`,
        tags: ['oauth'],
        consumes: FORM_AND_JSON,
        security: OPTIONAL_CLIENT_AUTH,
        body: revokeRequestSchema,
        response: {
          200: z.undefined().describe('Revoked, or nothing to revoke (empty body)'),
          ...errorResponses(400, { 401: ['invalid_client'], 403: ['csrf_rejected'] }, 413, 415, 503),
        },
      },
    },
    async (request, reply) => {
      // Client authentication is optional here (the token is the credential), but
      // credentials that are presented must be right (RFC 7009 §2.1).
      const caller = (await authenticateClient(request, clients))?.client.client_id
      const { token, token_type_hint: hint } = request.body
      const who = requestAuditContext(request)
      if (token === undefined) {
        await refreshTokens.revokeRefreshToken(useRefreshCookie(request, browser), caller, who)
        return reply.code(200).header('cache-control', 'no-store').clearRefreshCookie().send()
      }
      // RFC 7009 §2.1: the hint only orders the lookups.
      const revokeAsAccessToken = () => {
        let claims: { sid?: string; client_id: string; sub: string }
        try {
          claims = verifier.verifyAccessToken(token).claims
        } catch {
          return false
        }
        // RFC 7009 §2.1: a token of a registered client is revoked by that client only;
        // otherwise answered 200 like an unknown token, revealing nothing.
        const { sid } = claims
        if (sid === undefined || !mayHandleTokenOf(claims.client_id, caller)) return Promise.resolve(true)
        return refreshTokens
          .revokeSession({ id: sid, user_id: claims.sub, client_id: claims.client_id }, who)
          .then(() => true)
      }
      const looksLikeJwt = token.split('.').length === 3
      if (hint === 'access_token' || looksLikeJwt) {
        if (!(await revokeAsAccessToken())) await refreshTokens.revokeRefreshToken(token, caller, who)
      } else if (!(await refreshTokens.revokeRefreshToken(token, caller, who))) {
        await revokeAsAccessToken()
      }
      return reply.code(200).header('cache-control', 'no-store').send()
    },
  )
}
