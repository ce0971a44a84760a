import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { requestAuditContext } from '../audit/request-context.js'
import { clientAddress } from '../http/client-address.js'
import { emailSchema, errorResponses, passwordSchema, userSchema } from '../http/schemas.js'
import { requireEnrolledSecondFactor } from '../mfa/require-enrolled-second-factor.js'
import type { MfaService } from '../mfa/service.js'
import { toPublicUser } from '../users/service.js'
import type { AccountService } from './service.js'

// docs/contract.md §9: email verification, password reset and email change. The link token is the
// credential on the unauthenticated routes; every way a link can be bad is one answer,
// 400 invalid_link.

const linkTokenSchema = z
  .string()
  .max(512)
  .describe('The token from the emailed link (the part after #token=).')

const accepted = z.object({}).strict().describe('Accepted; any mail goes out in the background')

export interface AccountRouteOptions {
  account: Pick<
    AccountService,
    | 'resendVerification'
    | 'verifyEmail'
    | 'requestEmailChange'
    | 'requestPasswordReset'
    | 'resetPassword'
    | 'deleteOwnAccount'
  >
  /** Which second factors a user has: with one, email change and deletion need a login that used it. */
  mfa: Pick<MfaService, 'methodsFor'>
}

export const accountRoutes: FastifyPluginAsyncZod<AccountRouteOptions> = async (app, { account, mfa }) => {
  app.post(
    '/v1/me/email/verification',
    {
      config: { scopes: ['profile:read'], limit: 'mail' },
      schema: {
        operationId: 'resendEmailVerification',
        summary: 'Mail a new verification link',
        description:
          "Mails a new verification link to the caller's current email, replacing any earlier one. Nothing is sent when the email is already verified. Limited per recipient (RATE_LIMIT_MAIL) and per client address.",
        tags: ['me'],
        response: { 202: accepted, ...errorResponses(400, 401, 403, 404, 503) },
      },
    },
    async (request, reply) => {
      await account.resendVerification(request.auth!.claims.sub)
      return reply.code(202).send({})
    },
  )

  app.post(
    '/v1/email/verify',
    {
      config: { limit: 'token' },
      schema: {
        operationId: 'verifyEmail',
        summary: 'Verify an email address with the mailed link',
        description:
          'Spends the link token and marks the email verified. For a link mailed by POST /v1/me/email the email changes to the confirmed address now; if another account took that address meanwhile, 409 email_taken and nothing changes. A used, expired, unknown or superseded token, or one issued before the password, email or account state changed, is 400 invalid_link.',
        tags: ['account'],
        body: z.object({ token: linkTokenSchema }),
        response: {
          200: userSchema,
          ...errorResponses(400, { 400: ['invalid_link'], 409: ['email_taken'] }, 413, 415, 503),
        },
      },
    },
    async (request) =>
      toPublicUser(await account.verifyEmail(request.body.token, requestAuditContext(request))),
  )

  app.post(
    '/v1/me/email',
    {
      config: { scopes: ['profile:write'], limit: 'mail' },
      schema: {
        operationId: 'changeMyEmail',
        summary: 'Change the email address, confirmed by a mailed link',
        description:
          'Checks current_password, then mails a confirmation link to new_email (EMAIL_VERIFY_URL, valid for EMAIL_VERIFY_TTL seconds; a newer request replaces it) and a notice without a link to the current address. The email changes only when the link is used (POST /v1/email/verify). A wrong current_password is 400 invalid_grant and counts toward the failed-sign-in limits (429); new_email equal to the current email is 400 invalid_request; an address another account has is 409 email_taken. Once the user has a second factor, the access token must come from a login that used it (amr holds mfa), else 401 insufficient_user_authentication (RFC 9470): log in again with the second factor and retry. Limited per recipient (RATE_LIMIT_MAIL) and per client address.',
        tags: ['me'],
        body: z.object({ new_email: emailSchema, current_password: z.string().max(1024) }),
        response: {
          202: accepted,
          ...errorResponses(
            400,
            { 400: ['invalid_grant'], 409: ['email_taken'] },
            401,
            { 401: ['insufficient_user_authentication'] },
            403,
            404,
            413,
            415,
            429,
            503,
          ),
        },
      },
    },
    async (request, reply) => {
      await requireEnrolledSecondFactor(mfa, request.auth!)
      await account.requestEmailChange(
        request.auth!.claims.sub,
        { newEmail: request.body.new_email, currentPassword: request.body.current_password },
        clientAddress(request),
      )
      return reply.code(202).send({})
    },
  )

  app.post(
    '/v1/password/forgot',
    {
      config: { limit: 'mail' },
      schema: {
        operationId: 'forgotPassword',
        summary: 'Mail a password reset link',
        description:
          'Always 202 {} for a well-formed email, whether or not an account has it, so the answer reveals nothing. Only an existing, enabled account is mailed a link (PASSWORD_RESET_URL), valid for PASSWORD_RESET_TTL seconds; a newer link replaces an older one. Limited per recipient (RATE_LIMIT_MAIL) and per client address.',
        tags: ['account'],
        body: z.object({ email: emailSchema }),
        response: { 202: accepted, ...errorResponses(400, 413, 415, 503) },
      },
    },
    async (request, reply) => {
      await account.requestPasswordReset(request.body.email)
      return reply.code(202).send({})
    },
  )

  app.post(
    '/v1/password/reset',
    {
      config: { limit: 'token' },
      schema: {
        operationId: 'resetPassword',
        summary: 'Set a new password with the mailed link',
        description:
          'Spends the link token, sets new_password, marks the email verified and revokes every session of the user. A used, expired, unknown or superseded token is 400 invalid_link. Access tokens already issued to the user are refused from then on (revocation feed, GET /v1/revocations).',
        tags: ['account'],
        body: z.object({ token: linkTokenSchema, new_password: passwordSchema }),
        response: {
          204: z.null().describe('Password set; every session revoked'),
          ...errorResponses(400, { 400: ['invalid_link'] }, 413, 415, 503),
        },
      },
    },
    async (request, reply) => {
      await account.resetPassword(request.body.token, request.body.new_password, requestAuditContext(request))
      return reply.code(204).send(null)
    },
  )

  app.delete(
    '/v1/me',
    {
      config: { scopes: ['profile:write'] },
      schema: {
        operationId: 'deleteMe',
        summary: 'Delete the calling user',
        description:
          'Checks current_password, then deletes the account: every session ends, a notice (no link) is mailed to the address, and the address can sign up again. A wrong current_password is 400 invalid_grant and counts toward the failed-sign-in limits (429). Once the user has a second factor, the access token must come from a login that used it (amr holds mfa), else 401 insufficient_user_authentication (RFC 9470): log in again with the second factor and retry. Access tokens already issued to the user are refused from then on (revocation feed, GET /v1/revocations).',
        tags: ['me'],
        body: z.object({ current_password: z.string().max(1024) }),
        response: {
          204: z.null().describe('Deleted'),
          ...errorResponses(
            400,
            { 400: ['invalid_grant'] },
            401,
            { 401: ['insufficient_user_authentication'] },
            403,
            404,
            413,
            415,
            429,
            503,
          ),
        },
      },
    },
    async (request, reply) => {
      await requireEnrolledSecondFactor(mfa, request.auth!)
      await account.deleteOwnAccount(
        request.auth!.claims.sub,
        request.body.current_password,
        clientAddress(request),
        requestAuditContext(request),
      )
      return reply.code(204).send(null)
    },
  )
}
