import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { requestAuditContext } from '../audit/request-context.js'
import { clientAddress } from '../http/client-address.js'
import { errorResponses } from '../http/schemas.js'
import type { MfaService } from './service.js'

// The caller's second factors (docs/contract.md §10). Enrolling and removing need the
// current password; removing also needs a token from a login with a second factor
// (RFC 9470 step-up), so a stolen password-only session cannot turn MFA off.

export const mfaStatusSchema = z
  .object({
    totp: z.boolean().describe('A confirmed TOTP authenticator is enabled.'),
    passkeys: z.int().min(0).max(1000).meta({ format: 'int32' }).describe('Registered passkeys.'),
    recovery_codes_left: z
      .int()
      .min(0)
      .max(10)
      .meta({ format: 'int32' })
      .describe('Unused recovery codes (0 when TOTP is off).'),
  })
  .meta({ id: 'MfaStatus', examples: [{ totp: true, passkeys: 0, recovery_codes_left: 9 }] })

const currentPasswordBody = z.object({
  current_password: z.string().max(1024).meta({ format: 'password' }),
})

const enrolmentSchema = z
  .object({
    secret: z
      .string()
      .max(64)
      .regex(/^[A-Z2-7]+$/)
      .describe('The base32 TOTP secret (SHA-1, 6 digits, 30 s).'),
    otpauth_uri: z.string().max(1024).describe('otpauth://totp/… for authenticator apps.'),
    qr_svg: z.string().max(262_144).describe('The otpauth URI as a QR code, an SVG document.'),
  })
  .meta({ id: 'TotpEnrolment' })

const recoveryCodesSchema = z
  .object({
    recovery_codes: z
      .array(
        z
          .string()
          .max(32)
          .regex(/^[a-z0-9-]+$/),
      )
      .min(10)
      .max(10)
      .describe('Shown this once; each finishes one login instead of a TOTP code.'),
  })
  .meta({ id: 'RecoveryCodes' })

export interface MfaRouteOptions {
  mfa: MfaService
}

export const mfaRoutes: FastifyPluginAsyncZod<MfaRouteOptions> = async (app, { mfa }) => {
  app.get(
    '/v1/me/mfa',
    {
      config: { scopes: ['profile:read'] },
      schema: {
        operationId: 'getMyMfa',
        summary: "The calling user's second factors",
        description:
          'Whether TOTP is on, how many passkeys are registered and how many recovery codes are left. No secret or code is ever shown again.',
        tags: ['me'],
        response: { 200: mfaStatusSchema, ...errorResponses(400, 401, 403, 503) },
      },
    },
    async (request) => mfa.status(request.auth!.claims.sub),
  )

  app.post(
    '/v1/me/mfa/totp',
    {
      config: { scopes: ['profile:write'] },
      schema: {
        operationId: 'enrolTotp',
        summary: 'Start enrolling a TOTP authenticator',
        description:
          'Checks current_password (400 invalid_grant when wrong; counted in the failed-sign-in limits) and returns a new secret, its otpauth:// URI and a QR code. The authenticator stays pending, and logins unchanged, until POST /v1/me/mfa/totp/confirm. 409 conflict when TOTP is already enabled.',
        tags: ['me'],
        body: currentPasswordBody,
        response: {
          201: enrolmentSchema,
          ...errorResponses(
            400,
            { 400: ['invalid_grant'], 409: ['conflict'] },
            401,
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
      const enrolment = await mfa.enrolTotp(
        request.auth!.claims.sub,
        request.body.current_password,
        clientAddress(request),
      )
      return reply.code(201).header('cache-control', 'no-store').send(enrolment)
    },
  )

  app.post(
    '/v1/me/mfa/totp/confirm',
    {
      config: { scopes: ['profile:write'] },
      schema: {
        operationId: 'confirmTotp',
        summary: 'Turn TOTP on with a first code',
        description:
          'A current code of the pending authenticator turns it on and returns 10 recovery codes, shown this once. Every other session of the user ends, as does any login waiting for a password-only answer; the calling session stays. A wrong code is 400 invalid_grant (counted in the failed-sign-in limits); 404 when no enrolment is pending.',
        tags: ['me'],
        body: z.object({ code: z.string().max(16).describe('The 6-digit code the authenticator shows.') }),
        response: {
          200: recoveryCodesSchema,
          ...errorResponses(
            400,
            { 400: ['invalid_grant'], 409: ['conflict'] },
            401,
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
      const codes = await mfa.confirmTotp(
        request.auth!.claims.sub,
        request.body.code,
        clientAddress(request),
        request.auth!.claims.sid,
        requestAuditContext(request),
      )
      return reply.header('cache-control', 'no-store').send({ recovery_codes: codes })
    },
  )

  app.delete(
    '/v1/me/mfa/totp',
    {
      config: { scopes: ['profile:write'], mfa: true },
      schema: {
        operationId: 'disableTotp',
        summary: 'Turn TOTP off',
        description:
          'Needs an access token from a login with a second factor (else 401 insufficient_user_authentication, RFC 9470) and current_password. Removes the authenticator and the recovery codes; every other session of the user ends. 404 when TOTP is not enabled.',
        tags: ['me'],
        body: currentPasswordBody,
        response: {
          204: z.null().describe('TOTP is off'),
          ...errorResponses(400, { 400: ['invalid_grant'] }, 401, 403, 404, 413, 415, 429, 503),
        },
      },
    },
    async (request, reply) => {
      await mfa.disableTotp(
        request.auth!.claims.sub,
        request.body.current_password,
        clientAddress(request),
        request.auth!.claims.sid,
        requestAuditContext(request),
      )
      return reply.code(204).send(null)
    },
  )
}
