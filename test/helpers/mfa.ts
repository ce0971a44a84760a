import type { FastifyInstance } from 'fastify'
import type { Clock } from '../../src/clock.js'
import { base32Decode, totpAt } from '../../src/mfa/totp.js'
import { bearer, PASSWORD, type TokenBody } from './flows.js'

// Second-factor flows (docs/contract.md §10), through the public HTTP API only.

export const MFA_GRANT = 'urn:badge:grant-type:mfa'

/** The code an authenticator app shows for `secret` at the app's time, `steps` steps away. */
export function totpCode(secret: string, clock: Clock, steps = 0): string {
  return totpAt(base32Decode(secret), Math.floor(clock() / 1000) + steps * 30)
}

export async function mfaGrant(app: FastifyInstance, fields: Record<string, string>) {
  return app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ grant_type: MFA_GRANT, ...fields }).toString(),
  })
}

/** Enrols and confirms TOTP for the holder of `accessToken`; returns the secret and recovery codes. */
export async function enableTotp(
  app: FastifyInstance,
  accessToken: string,
  clock: Clock,
  password = PASSWORD,
) {
  const enrol = await app.inject({
    method: 'POST',
    url: '/v1/me/mfa/totp',
    headers: bearer(accessToken),
    payload: { current_password: password },
  })
  if (enrol.statusCode !== 201) throw new Error(`enrol failed: ${enrol.statusCode} ${enrol.body}`)
  const { secret } = enrol.json() as { secret: string }
  const confirm = await app.inject({
    method: 'POST',
    url: '/v1/me/mfa/totp/confirm',
    headers: bearer(accessToken),
    payload: { code: totpCode(secret, clock) },
  })
  if (confirm.statusCode !== 200) throw new Error(`confirm failed: ${confirm.statusCode} ${confirm.body}`)
  return { secret, recoveryCodes: (confirm.json() as { recovery_codes: string[] }).recovery_codes }
}

/** Password, then the second factor: tokens of a login with MFA. */
export async function loginWithMfa(
  app: FastifyInstance,
  email: string,
  factor: { otp: string } | { recovery_code: string },
  password = PASSWORD,
): Promise<TokenBody> {
  const first = await app.inject({
    method: 'POST',
    url: '/oauth/token',
    payload: { grant_type: 'password', username: email, password },
  })
  if (first.statusCode !== 400 || first.json().error !== 'mfa_required')
    throw new Error(`expected mfa_required: ${first.statusCode} ${first.body}`)
  const res = await mfaGrant(app, { mfa_token: first.json().mfa_token, ...factor })
  if (res.statusCode !== 200) throw new Error(`mfa grant failed: ${res.statusCode} ${res.body}`)
  return res.json()
}

export function claimsOf(accessToken: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString())
}
